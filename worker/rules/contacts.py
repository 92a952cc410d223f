"""The contact-data rule: the client's primary contact must exist, have a deliverable, well-formed
email address and a name. Checked for every company; a task only when a renewal is near."""

from __future__ import annotations

from typing import Any, Mapping

from worker.rules.model import CompanyRow, ContactRow, Rule, RuleFinding

CONTACT_DATA = "contact.data"  # the task's rule; findings use the specific codes below

MISSING = "contact.missing"
EMAIL_MISSING = "contact.email_missing"
EMAIL_MALFORMED = "contact.email_malformed"
EMAIL_BOUNCED = "contact.email_bounced"
OPTED_OUT = "contact.opted_out"
NAME_MISSING = "contact.name_missing"

_MESSAGES = {
    MISSING: "no contact carries the primary label: renewal emails go nowhere",
    EMAIL_MISSING: "the primary contact has no email address",
    EMAIL_MALFORMED: "the primary contact's email address is malformed",
    EMAIL_BOUNCED: "email to the primary contact hard-bounced",
    OPTED_OUT: "the primary contact opted out of email",
    NAME_MISSING: "the primary contact has no name",
}


def contact_problems(contact_id: str | None, contact: ContactRow | None) -> list[str]:
    """The problem codes of a company's primary contact, in a stable order; [] when all is well."""
    if contact_id is None or contact is None or contact.gone:
        return [MISSING]
    problems = []
    if contact.email_problem == "missing":
        problems.append(EMAIL_MISSING)
    elif contact.email_problem == "malformed":
        problems.append(EMAIL_MALFORMED)
    if contact.bounce_reason:
        problems.append(EMAIL_BOUNCED)
    if contact.opted_out:
        problems.append(OPTED_OUT)
    if not (contact.first_name or contact.last_name):
        problems.append(NAME_MISSING)
    return problems


def contact_findings(company: CompanyRow, contact_id: str | None, contact: ContactRow | None, problems: list[str]) -> list[RuleFinding]:
    value = None
    if contact is not None:
        value = contact.email or f"contact {contact.id}"
    elif contact_id is not None:
        value = f"contact {contact_id} (deleted)"
    findings = []
    for code in problems:
        message = _MESSAGES[code]
        if code == EMAIL_BOUNCED and contact is not None:
            message += f" ({contact.bounce_reason})"
        findings.append(RuleFinding(code, "company", company.id, "primary_contact", value, message))
    return findings


# --------------------------------------------------------------------------- the task, in one place

# The problems that keep renewal emails from arriving; a missing name does not.
UNDELIVERABLE = (MISSING, EMAIL_MISSING, EMAIL_MALFORMED, EMAIL_BOUNCED, OPTED_OUT)


def _words(facts: Mapping[str, Any], language: str, t: Mapping[str, Any], due: Any) -> dict[str, Any]:
    who = facts.get("contact_name") or facts.get("contact_email")
    return {
        "problems": ", ".join(t[f"problem.{code}"] for code in facts["problems"]),
        "contact": f" ({who})" if who else "",
    }


def _lines(facts: Mapping[str, Any], values: dict[str, Any], late: bool, t: Mapping[str, Any]) -> list[str]:
    """Say what is really wrong: emails that will not arrive, or only a missing name (the
    emails arrive); a contact that no longer exists is not named."""
    problems = facts["problems"]
    undeliverable = [code for code in problems if code in UNDELIVERABLE]
    lines = []
    if MISSING in undeliverable:
        lines.append(t["no_primary"].format(**values))
    elif undeliverable:
        lines.append(t["undeliverable"].format(**values, undeliverable=", ".join(t[f"problem.{code}"] for code in undeliverable)))
        if NAME_MISSING in problems:
            lines.append(t["also_nameless"])
    else:
        lines.append(t["nameless"].format(**values))
    lines.append(t["todo.late" if late else "todo"].format(**values))
    return lines


def _gone(company: CompanyRow, portfolio: Any, config: Any) -> str:
    contact_id = portfolio.primary_contacts.get(company.id)
    if contact_problems(contact_id, portfolio.contacts.get(contact_id) if contact_id else None):
        return f"no renewal of this client within {config.horizon_days} days any more"
    return "the primary contact's data was fixed"


CONTACT_RULE = Rule(
    CONTACT_DATA,
    fires=None,  # judged per company by the engine, with the client's nearest renewal
    gone=_gone,
    words=_words,
    lines=_lines,
    texts={
        "en": {
            "subject": "Fix the primary contact of {company}: {problems}",
            "undeliverable": "Renewal emails for {company} (renewal on {renewal_date}) go to its primary contact{contact} and will not arrive: {undeliverable}.",
            "no_primary": "Renewal emails for {company} (renewal on {renewal_date}) go to its primary contact, and no contact has the primary label: they go nowhere.",
            "nameless": "The primary contact{contact} of {company} has no name: renewal emails (renewal on {renewal_date}) arrive, but address nobody by name.",
            "also_nameless": "Also: the contact has no name.",
            "todo": "To do: fix the contact before HubSpot's renewal emails start on {emails_start}: in the client's HubSpot account, Account & billing > Company information > Primary contact; here, the contact with the primary label.",
            "todo.late": "To do: fix the contact now, HubSpot's renewal emails started on {emails_start}: in the client's HubSpot account, Account & billing > Company information > Primary contact; here, the contact with the primary label.",
            f"problem.{MISSING}": "no contact has the primary label",
            f"problem.{EMAIL_MISSING}": "no email address",
            f"problem.{EMAIL_MALFORMED}": "malformed email address",
            f"problem.{EMAIL_BOUNCED}": "email bounced",
            f"problem.{OPTED_OUT}": "opted out of email",
            f"problem.{NAME_MISSING}": "no name",
        },
        "es": {
            "subject": "Corregir el contacto principal de {company}: {problems}",
            "undeliverable": "Los correos de renovación de {company} (renovación el {renewal_date}) van a su contacto principal{contact} y no llegarán: {undeliverable}.",
            "no_primary": "Los correos de renovación de {company} (renovación el {renewal_date}) van a su contacto principal, y ningún contacto tiene la etiqueta de principal: no llegan a nadie.",
            "nameless": "El contacto principal{contact} de {company} no tiene nombre: los correos de renovación (renovación el {renewal_date}) llegan, pero sin nadie a quien dirigirse.",
            "also_nameless": "Además: el contacto no tiene nombre.",
            "todo": "Qué hacer: corregir el contacto antes de que empiecen los correos de renovación de HubSpot el {emails_start}: en la cuenta de HubSpot del cliente, Cuenta y facturación > Información de la empresa > Contacto principal; aquí, el contacto con la etiqueta de principal.",
            "todo.late": "Qué hacer: corregir el contacto cuanto antes, los correos de renovación de HubSpot empezaron el {emails_start}: en la cuenta de HubSpot del cliente, Cuenta y facturación > Información de la empresa > Contacto principal; aquí, el contacto con la etiqueta de principal.",
            f"problem.{MISSING}": "ningún contacto tiene la etiqueta de principal",
            f"problem.{EMAIL_MISSING}": "sin correo electrónico",
            f"problem.{EMAIL_MALFORMED}": "correo electrónico mal formado",
            f"problem.{EMAIL_BOUNCED}": "el correo rebotó",
            f"problem.{OPTED_OUT}": "se dio de baja del correo",
            f"problem.{NAME_MISSING}": "sin nombre",
        },
    },
    # A client whose only renewal is a service contract of the partner's own: no HubSpot emails.
    service_texts={
        "en": {
            "undeliverable": "The primary contact{contact} of {company} cannot be reached by email ({undeliverable}): the partner has nobody to tell about the renewal of its service contract on {renewal_date}.",
            "no_primary": "{company} has no primary contact (no contact has the primary label): the partner has nobody to tell about the renewal of its service contract on {renewal_date}.",
            "nameless": "The primary contact{contact} of {company} has no name: fix it before telling the client about the renewal of its service contract on {renewal_date}.",
            "todo": "To do: fix the contact (the contact with the primary label) before talking to the client about the renewal.",
            "todo.late": "To do: fix the contact (the contact with the primary label) before talking to the client about the renewal.",
        },
        "es": {
            "undeliverable": "El contacto principal{contact} de {company} no recibe correo ({undeliverable}): el partner no tiene a quién contar la renovación de su contrato de servicios el {renewal_date}.",
            "no_primary": "{company} no tiene contacto principal (ningún contacto tiene la etiqueta de principal): el partner no tiene a quién contar la renovación de su contrato de servicios el {renewal_date}.",
            "nameless": "El contacto principal{contact} de {company} no tiene nombre: corregirlo antes de contar al cliente la renovación de su contrato de servicios el {renewal_date}.",
            "todo": "Qué hacer: corregir el contacto (el que tiene la etiqueta de principal) antes de hablar con el cliente de la renovación.",
            "todo.late": "Qué hacer: corregir el contacto (el que tiene la etiqueta de principal) antes de hablar con el cliente de la renovación.",
        },
    },
)

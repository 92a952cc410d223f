"""The contact-data rule: the client's primary contact must exist, have a deliverable, well-formed
email address and a name. Checked for every company; a task only when a renewal is near."""

from __future__ import annotations

from worker.rules.model import CompanyRow, ContactRow, RuleFinding

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

"""What a HubSpot task says: subject and body in the configured language (en, es).

A person must see at a glance the client, what to do, why, and the numbers. The body ends with
the worker's marker line (see ``marker``), which is how the worker recognises its own tasks.
Texts are rendered from a reminder's ``facts`` and its due date only, never from today's date,
so re-rendering an unchanged reminder gives the same text.
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import date
from decimal import Decimal
from typing import Any, Mapping

from babel.dates import format_date
from babel.numbers import format_decimal

MARKER_PREFIX = "rw1-"

_EN = {
    "milestone.subject": "Renewal {when}: {company}",
    "milestone.body": [
        "{company} renews {products} on {renewal_date}.",
        "To do: prepare the renewal with the client (terms, price, contacts). This is the {milestone}-day renewal milestone.",
    ],
    "partner_meeting.subject": "Hold the renewal meeting with {company} before {emails_start}",
    "partner_meeting.subject.late": "Hold the renewal meeting with {company} now: HubSpot's emails started {emails_start}",
    "partner_meeting.body": [
        "The partner owns the renewal conversation with {company} (renewal on {renewal_date}).",
        "To do: meet the client before HubSpot's renewal emails start on {emails_start}; go over discounts, the renewal date and the deadline. Changes of terms go through the partner's renewal manager.",
    ],
    "partner_meeting.body.late": [
        "The partner owns the renewal conversation with {company} (renewal on {renewal_date}).",
        "To do: meet the client now: HubSpot's renewal emails started on {emails_start}. Go over discounts, the renewal date and the deadline. Changes of terms go through the partner's renewal manager.",
    ],
    "no_communication_owner.subject": "Choose who owns the renewal conversation: {company} ({renewal_date})",
    "no_communication_owner.body": [
        "Who owns the conversation about the renewal of {products} for {company} on {renewal_date} is not recorded (HubSpot by default).",
        "To do: confirm HubSpot (its renewal manager emails the client from {emails_start}) or take it on as the partner, and set it on the record.",
    ],
    "no_communication_owner.body.late": [
        "Who owns the conversation about the renewal of {products} for {company} on {renewal_date} is not recorded (HubSpot by default).",
        "To do: confirm HubSpot (its renewal manager has been emailing the client since {emails_start}) or take it on as the partner, and set it on the record.",
    ],
    "deadline.subject": "Renewal deadline {when}: {company} ({deadline})",
    "deadline.body": [
        "{deadline} is the last day for {company} to cancel or renegotiate {products}; after it the renewal terms apply automatically on {renewal_date}.",
        "To do: make sure the client has decided. Deadline source: {deadline_source}.",
    ],
    "deadline.contract": "the contract's own deadline",
    "deadline.default": "HubSpot's default, {deadline_days_default} days before the renewal",
    "price_change.subject": "Price change at renewal: {company}, {current_price} → {renewal_price} {currency} ({change})",
    "price_change.body": [
        "At the renewal on {renewal_date} the monthly price of {products} changes from {current_price} to {renewal_price} {currency} ({change}).",
        "To do: explain the change to the client before HubSpot's renewal emails start on {emails_start}.",
    ],
    "price_change.body.late": [
        "At the renewal on {renewal_date} the monthly price of {products} changes from {current_price} to {renewal_price} {currency} ({change}).",
        "To do: explain the change to the client now: HubSpot's renewal emails started on {emails_start}.",
    ],
    "contact_tier.subject.exceeded": "Contact tier exceeded: {company}",
    "contact_tier.subject.warning": "Contact tier nearly used up: {company}",
    "contact_tier.body": [
        "Contacts: {contacts_used} of {tier} ({contacts_percent}).",
        "Marketing emails this month: {emails_sent} of {emails_limit} ({emails_percent}; the limit is {per_contact} times the tier).",
        "A client over either limit moves to a higher tier and pays more. To do: review usage with the client before the renewal on {renewal_date}.",
    ],
    "contact_data.subject": "Fix the primary contact of {company}: {problems}",
    "contact_data.undeliverable": "Renewal emails for {company} (renewal on {renewal_date}) go to its primary contact{contact} and will not arrive: {undeliverable}.",
    "contact_data.no_primary": "Renewal emails for {company} (renewal on {renewal_date}) go to its primary contact, and no contact has the primary label: they go nowhere.",
    "contact_data.nameless": "The primary contact{contact} of {company} has no name: renewal emails (renewal on {renewal_date}) arrive, but address nobody by name.",
    "contact_data.also_nameless": "Also: the contact has no name.",
    "contact_data.todo": "To do: fix the contact in HubSpot before the renewal emails start on {emails_start}.",
    "contact_data.todo.late": "To do: fix the contact in HubSpot now: the renewal emails started on {emails_start}.",
    "problem.contact.missing": "no contact has the primary label",
    "problem.contact.email_missing": "no email address",
    "problem.contact.email_malformed": "malformed email address",
    "problem.contact.email_bounced": "email bounced",
    "problem.contact.opted_out": "opted out of email",
    "problem.contact.name_missing": "no name",
    "unknown_percent": "new price, no current price",
    "when.0": "today",
    "when.1": "tomorrow",
    "when.n": "in {n} days",
    "marker": "Created by renewal-worker · ref {marker} · {key}",
}

_ES = {
    "milestone.subject": "Renovación {when}: {company}",
    "milestone.body": [
        "{company} renueva {products} el {renewal_date}.",
        "Qué hacer: preparar la renovación con el cliente (condiciones, precio, contactos). Es el hito de {milestone} días antes de la renovación.",
    ],
    "partner_meeting.subject": "Reunión de renovación con {company} antes del {emails_start}",
    "partner_meeting.subject.late": "Reunión de renovación con {company} cuanto antes: los correos de HubSpot empezaron el {emails_start}",
    "partner_meeting.body": [
        "El partner lleva la comunicación de la renovación con {company} (renovación el {renewal_date}).",
        "Qué hacer: reunirse con el cliente antes de que HubSpot empiece a enviar sus correos de renovación el {emails_start}; revisar descuentos, fecha de renovación y plazo. Los cambios de condiciones pasan por el gestor de renovaciones del partner.",
    ],
    "partner_meeting.body.late": [
        "El partner lleva la comunicación de la renovación con {company} (renovación el {renewal_date}).",
        "Qué hacer: reunirse con el cliente cuanto antes: los correos de renovación de HubSpot empezaron el {emails_start}. Revisar descuentos, fecha de renovación y plazo. Los cambios de condiciones pasan por el gestor de renovaciones del partner.",
    ],
    "no_communication_owner.subject": "Elegir quién lleva la comunicación de la renovación: {company} ({renewal_date})",
    "no_communication_owner.body": [
        "No consta quién lleva la comunicación de la renovación de {products} de {company} el {renewal_date} (por defecto, HubSpot).",
        "Qué hacer: confirmar HubSpot (su gestor de renovaciones escribe al cliente desde el {emails_start}) o asumirla como partner, e indicarlo en el registro.",
    ],
    "no_communication_owner.body.late": [
        "No consta quién lleva la comunicación de la renovación de {products} de {company} el {renewal_date} (por defecto, HubSpot).",
        "Qué hacer: confirmar HubSpot (su gestor de renovaciones escribe al cliente desde el {emails_start}) o asumirla como partner, e indicarlo en el registro.",
    ],
    "deadline.subject": "Plazo de renovación {when}: {company} ({deadline})",
    "deadline.body": [
        "El {deadline} es el último día para que {company} cancele o renegocie {products}; después se aplican automáticamente las condiciones de renovación el {renewal_date}.",
        "Qué hacer: asegurarse de que el cliente ha decidido. Origen del plazo: {deadline_source}.",
    ],
    "deadline.contract": "el plazo propio del contrato",
    "deadline.default": "el plazo por defecto de HubSpot, {deadline_days_default} días antes de la renovación",
    "price_change.subject": "Cambio de precio en la renovación: {company}, {current_price} → {renewal_price} {currency} ({change})",
    "price_change.body": [
        "En la renovación del {renewal_date} el precio mensual de {products} pasa de {current_price} a {renewal_price} {currency} ({change}).",
        "Qué hacer: explicar el cambio al cliente antes de que HubSpot empiece a enviar sus correos de renovación el {emails_start}.",
    ],
    "price_change.body.late": [
        "En la renovación del {renewal_date} el precio mensual de {products} pasa de {current_price} a {renewal_price} {currency} ({change}).",
        "Qué hacer: explicar el cambio al cliente cuanto antes: los correos de renovación de HubSpot empezaron el {emails_start}.",
    ],
    "contact_tier.subject.exceeded": "Nivel de contactos superado: {company}",
    "contact_tier.subject.warning": "Nivel de contactos casi agotado: {company}",
    "contact_tier.body": [
        "Contactos: {contacts_used} de {tier} ({contacts_percent}).",
        "Correos de marketing este mes: {emails_sent} de {emails_limit} ({emails_percent}; el límite es {per_contact} veces el nivel).",
        "Un cliente que supera cualquiera de los límites pasa a un nivel superior y paga más. Qué hacer: revisar el uso con el cliente antes de la renovación del {renewal_date}.",
    ],
    "contact_data.subject": "Corregir el contacto principal de {company}: {problems}",
    "contact_data.undeliverable": "Los correos de renovación de {company} (renovación el {renewal_date}) van a su contacto principal{contact} y no llegarán: {undeliverable}.",
    "contact_data.no_primary": "Los correos de renovación de {company} (renovación el {renewal_date}) van a su contacto principal, y ningún contacto tiene la etiqueta de principal: no llegan a nadie.",
    "contact_data.nameless": "El contacto principal{contact} de {company} no tiene nombre: los correos de renovación (renovación el {renewal_date}) llegan, pero sin nadie a quien dirigirse.",
    "contact_data.also_nameless": "Además: el contacto no tiene nombre.",
    "contact_data.todo": "Qué hacer: corregir el contacto en HubSpot antes de que empiecen los correos de renovación el {emails_start}.",
    "contact_data.todo.late": "Qué hacer: corregir el contacto en HubSpot cuanto antes: los correos de renovación empezaron el {emails_start}.",
    "problem.contact.missing": "ningún contacto tiene la etiqueta de principal",
    "problem.contact.email_missing": "sin correo electrónico",
    "problem.contact.email_malformed": "correo electrónico mal formado",
    "problem.contact.email_bounced": "el correo rebotó",
    "problem.contact.opted_out": "se dio de baja del correo",
    "problem.contact.name_missing": "sin nombre",
    "unknown_percent": "precio nuevo, sin precio actual",
    "when.0": "hoy",
    "when.1": "mañana",
    "when.n": "en {n} días",
    "marker": "Creada por renewal-worker · ref {marker} · {key}",
}

TEXTS = {"en": _EN, "es": _ES}


def marker(key: str, generation: int) -> str:
    """The token that identifies one task of the worker: a hash of the reminder key and its
    generation (a reminder that comes back after being closed gets a new task, a new marker)."""
    return MARKER_PREFIX + hashlib.sha256(f"{key}#{generation}".encode()).hexdigest()[:16]


def fingerprint(facts: Mapping[str, Any]) -> str:
    """Changes exactly when the numbers a task shows change."""
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def number(value: Any, language: str, decimals: int = 0) -> str:
    """A number as people of ``language`` write it (Babel, CLDR): 1,234.50 / 1.234,50."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=language)


def percent(value: Any, language: str, *, signed: bool = False) -> str:
    decimal = Decimal(str(value))
    text = number(abs(decimal), language, 1) + (" %" if language == "es" else "%")
    if signed:
        text = ("+" if decimal >= 0 else "−") + text
    return text


def day(value: str | date, language: str) -> str:
    """A date as people of ``language`` write it: March 1, 2027 / 1 de marzo de 2027."""
    moment = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(moment, format="long", locale=language)


def when(days: int, language: str) -> str:
    """today / tomorrow / in 5 days (never "in 1 days")."""
    t = TEXTS[language]
    return t["when.0"] if days <= 0 else t["when.1"] if days == 1 else t["when.n"].format(n=days)


UNDELIVERABLE = ("contact.missing", "contact.email_missing", "contact.email_malformed", "contact.email_bounced", "contact.opted_out")


def render(rule: str, facts: Mapping[str, Any], due: date, *, language: str, key: str, task_marker: str, deadline_days_default: int = 45) -> tuple[str, str]:
    """(subject, body) of a task. The body is HTML (HubSpot's task body is rich text): the
    worker's block, ending with the marker line. A step whose date has passed by the task's due
    date says that it is late instead of asking for something "before" a past date."""
    t = TEXTS[language]
    values: dict[str, Any] = {k: v for k, v in facts.items() if not isinstance(v, (list, dict))}
    values["company"] = facts.get("company") or "?"
    values["products"] = facts.get("products") or "?"
    name = rule.split(".", 1)[1]
    late = bool(facts.get("emails_start")) and date.fromisoformat(facts["emails_start"]) < due
    for field in ("renewal_date", "emails_start", "deadline"):
        if facts.get(field):
            values[field] = day(facts[field], language)
    renewal = facts.get("renewal_date")
    if renewal:
        values["when"] = when((date.fromisoformat(renewal) - due).days, language)
    if name == "milestone":
        values["milestone"] = facts["milestone_days"]
    elif name == "deadline":
        values["when"] = when((date.fromisoformat(facts["deadline"]) - due).days, language)
        values["deadline_source"] = t[f"deadline.{facts['deadline_source']}"].format(deadline_days_default=deadline_days_default)
    elif name == "price_change":
        values["current_price"] = number(facts["current_price"], language, 2)
        values["renewal_price"] = number(facts["renewal_price"], language, 2)
        change = facts.get("change_percent")
        values["change"] = t["unknown_percent"] if change is None else percent(change, language, signed=True)
    elif name == "contact_tier":
        values["contacts_used"] = "?" if facts["contacts_used"] is None else number(facts["contacts_used"], language)
        values["emails_sent"] = "?" if facts["emails_sent"] is None else number(facts["emails_sent"], language)
        values["tier"] = number(facts["tier"], language)
        values["emails_limit"] = number(facts["emails_limit"], language)
        values["contacts_percent"] = _usage(facts["contacts_used"], facts["tier"], language)
        values["emails_percent"] = _usage(facts["emails_sent"], facts["emails_limit"], language)
        values["per_contact"] = facts["emails_limit"] // facts["tier"]
    elif rule == "contact.data":
        name = "contact_data"
        values["problems"] = ", ".join(t[f"problem.{code}"] for code in facts["problems"])
        who = facts.get("contact_name") or facts.get("contact_email")
        values["contact"] = f" ({who})" if who else ""
    if name == "contact_tier":
        level = "exceeded" if "exceeded" in (facts.get("contacts_level"), facts.get("emails_level")) else "warning"
        subject_template = t[f"contact_tier.subject.{level}"]
    elif name == "partner_meeting" and late:
        subject_template = t["partner_meeting.subject.late"]
    else:
        subject_template = t[f"{name}.subject"]
    subject = subject_template.format(**values)
    if name == "contact_data":
        lines = _contact_lines(facts["problems"], values, late, t)
    else:
        lines = [line.format(**values) for line in t.get(f"{name}.body.late" if late else f"{name}.body", t[f"{name}.body"])]
    lines.append(t["marker"].format(marker=task_marker, key=key))
    body = "<br>\n".join(html.escape(line, quote=False) for line in lines)
    return subject[:250], body


def _contact_lines(problems: list[str], values: dict[str, Any], late: bool, t: Mapping[str, Any]) -> list[str]:
    """Say what is really wrong: emails that will not arrive, or only a missing name (the
    emails arrive); a contact that no longer exists is not named."""
    undeliverable = [code for code in problems if code in UNDELIVERABLE]
    lines = []
    if "contact.missing" in undeliverable:
        lines.append(t["contact_data.no_primary"].format(**values))
    elif undeliverable:
        lines.append(t["contact_data.undeliverable"].format(**values, undeliverable=", ".join(t[f"problem.{code}"] for code in undeliverable)))
        if "contact.name_missing" in problems:
            lines.append(t["contact_data.also_nameless"])
    else:
        lines.append(t["contact_data.nameless"].format(**values))
    lines.append(t["contact_data.todo.late" if late else "contact_data.todo"].format(**values))
    return lines


def _usage(used: Any, limit: Any, language: str) -> str:
    if used is None or not limit:
        return "?"
    return percent(Decimal(used) * 100 / Decimal(limit), language)


def find_marker(body: str | None) -> str | None:
    """The worker's marker in a task body, if the task is one of ours."""
    if not body:
        return None
    start = body.find(MARKER_PREFIX)
    if start < 0:
        return None
    token = body[start : start + len(MARKER_PREFIX) + 16]
    return token if len(token) == len(MARKER_PREFIX) + 16 else None

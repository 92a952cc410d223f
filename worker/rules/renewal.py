"""The renewal rules about dates and who speaks (DOMAIN.md): milestones, the partner's meeting, a
missing communication owner and the notice deadline; with ``worker.rules.terms`` (the price
change, a discount that ends) and ``worker.rules.tier`` (the contact tier) they are ``RULES``.

Each rule is a pure function of one renewal record (and its company) and the as-of date. A rule
returns every reminder that is valid today; only the latest milestone reached is marked for
creation, so a record first seen late gets one catch-up task, not one per missed milestone.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Mapping

from worker.rules.context import Context, is_cancelled, milestones, notice_deadline
from worker.rules.model import HIGH, SERVICE, Reminder, Rule
from worker.rules.terms import (
    AT_HAND_WORDS,
    DISCOUNT_ENDS,
    DISCOUNT_ENDS_RULE,
    PRICE_CHANGE,
    PRICE_CHANGE_RULE,
    at_hand,
    price_change_percent,
    stage_context,
    stage_words,
    with_what_is_at_hand,
)
from worker.rules.tier import CONTACT_TIER, CONTACT_TIER_RULE, usage_percent
from worker.rules.projection import TIER_PROJECTION_RULE
from worker.words import day, plural, when

# Re-exported: the engine and the reports read them from here.
__all__ = [
    "CONTACT_TIER", "DISCOUNT_ENDS", "PRICE_CHANGE", "RULES", "Context", "is_cancelled", "milestones", "notice_deadline",
    "price_change_percent", "usage_percent",
]

MILESTONE = "renewal.milestone"
PARTNER_MEETING = "renewal.partner_meeting"
NO_COMMUNICATION_OWNER = "renewal.no_communication_owner"
DEADLINE = "renewal.deadline"


def renewal_milestones(ctx: Context) -> list[Reminder]:
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    deadline, _ = notice_deadline(ctx.sub, ctx.config)
    # What the text says at the renewal's stage (see _milestone_lines); "_" facts never rewrite
    # a task already written.
    context = {
        "_deadline": deadline.isoformat() if deadline else None,
        "_communication": ctx.sub.communication_owner,
        "_emails_start": (renewal - timedelta(days=ctx.config.hubspot_emails_days)).isoformat(),
    }
    return [
        ctx.reminder(
            MILESTONE, renewal, str(offset), renewal - timedelta(days=offset),
            HIGH if offset <= 30 else ctx.urgency, {"milestone_days": offset, **context}, create=latest,
        )
        for offset, latest in milestones(renewal, ctx.as_of, ctx.config.milestone_days, skip_weekends=ctx.config.skip_weekends, holidays=ctx.config.holidays)
    ]


def partner_meeting(ctx: Context) -> list[Reminder]:
    """The partner owns the conversation: meet the client before HubSpot's emails start."""
    if ctx.sub.communication_owner != "partner" or ctx.days_left > ctx.config.partner_meeting_days:
        return []
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    emails_start = renewal - timedelta(days=ctx.config.hubspot_emails_days)
    facts = {"emails_start": emails_start.isoformat(), **at_hand(ctx.sub), **stage_context(ctx)}
    return [ctx.reminder(PARTNER_MEETING, renewal, "", emails_start, ctx.urgency, facts)]


# Choosing who communicates is due this long before HubSpot's emails start: taking the
# conversation over takes a meeting, and the meeting must come before the emails.
CHOOSE_BEFORE_EMAILS_DAYS = 14


def no_communication_owner(ctx: Context) -> list[Reminder]:
    if ctx.sub.communication_owner is not None:
        return []
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    emails_start = renewal - timedelta(days=ctx.config.hubspot_emails_days)
    choose_by = emails_start - timedelta(days=CHOOSE_BEFORE_EMAILS_DAYS)
    return [ctx.reminder(NO_COMMUNICATION_OWNER, renewal, "", choose_by, ctx.urgency, {"emails_start": emails_start.isoformat()})]


def renewal_deadline(ctx: Context) -> list[Reminder]:
    deadline, source = notice_deadline(ctx.sub, ctx.config)
    if deadline is None:
        return []
    return [
        ctx.reminder(
            DEADLINE, deadline, str(offset), deadline - timedelta(days=offset), HIGH,
            {"deadline": deadline.isoformat(), "deadline_source": source, "deadline_days": offset},
            create=latest,
        )
        for offset, latest in milestones(deadline, ctx.as_of, ctx.config.deadline_warning_days, skip_weekends=ctx.config.skip_weekends, holidays=ctx.config.holidays)
    ]


# --------------------------------------------------------------------------- each rule in one place


def _deadline_words(facts: Mapping[str, Any], language: str, t: Mapping[str, Any], due: date) -> dict[str, Any]:
    deadline = date.fromisoformat(facts["deadline"])
    default_days = (date.fromisoformat(facts["renewal_date"]) - deadline).days if facts.get("renewal_date") else 0
    return {
        "when": when((deadline - due).days, language, deadline),
        "deadline_source": t[f"source.{facts['deadline_source']}"].format(days_before=plural(default_days, t["days_before"], language)),
    }


CATCH_UP_NOTE_DAYS = 4


def _milestone_words(facts: Mapping[str, Any], language: str, t: Mapping[str, Any], due: date) -> dict[str, Any]:
    renewal = date.fromisoformat(facts["renewal_date"])
    days_left = (renewal - due).days
    words: dict[str, Any] = {"milestone": facts["milestone_days"], "days_left": days_left, "renewal_when": when(days_left, language) if days_left >= 0 else t["renewed"]}
    if facts.get("_deadline"):
        deadline = date.fromisoformat(facts["_deadline"])
        words.update(deadline=day(deadline, language), deadline_when=when((deadline - due).days, language), deadline_delta=(deadline - due).days)
    if facts.get("_emails_start"):
        words["emails_start"] = day(facts["_emails_start"], language)
    return words


def _milestone_lines(facts: Mapping[str, Any], values: dict[str, Any], late: bool, t: Mapping[str, Any]) -> list[str]:
    """A milestone says what the renewal's stage leaves to do on the day it falls due: before the
    deadline (negotiate; the deadline and who communicates), on it (the last day), after it (the
    renewal terms apply: confirm them, changes through HubSpot's renewal manager, invoicing).
    Tasks written before these texts carried no deadline: they keep the plain lines."""
    if "deadline_delta" not in values:
        return [line.format(**values) for line in t["body"]]
    delta = values["deadline_delta"]
    stage = "before" if delta > 0 else "on" if delta == 0 else "after"
    lines = [t["opening"].format(**values), t[f"deadline.{stage}"].format(**values)]
    if stage != "after":
        who = facts.get("_communication")
        key = "who.service" if facts.get("kind") == SERVICE else "who.partner" if who == "partner" else "who.hubspot" if who == "hubspot" else "who.none"
        lines.append(t[key].format(**values))
    lines.append(t[f"todo.{stage}"].format(**values))
    # A catch-up (the record was first seen after this step): more than a weekend or a holiday
    # between the step and the day the task falls due.
    if values["milestone"] - values["days_left"] > CATCH_UP_NOTE_DAYS:
        lines.append(t["milestone.late"].format(**values))
    return lines


MILESTONE_RULE = Rule(
    MILESTONE,
    fires=renewal_milestones,
    gone=lambda sub, portfolio, config: "the reason for the task no longer applies",
    words=_milestone_words,
    lines=_milestone_lines,
    texts={
        "en": {
            "subject": "Renewal {when}: {company}",
            "body": [
                "{company} renews {products} on {renewal_date}.",
                "To do: prepare the renewal with the client (terms, price, contacts). This is the {milestone}-day renewal milestone.",
            ],
            "opening": "{company} renews {products} on {renewal_date} ({renewal_when}).",
            "deadline.before": "The deadline to cancel or renegotiate is {deadline} ({deadline_when}).",
            "deadline.on": "Today, {deadline}, is the last day to cancel or renegotiate.",
            "deadline.after": "The deadline passed on {deadline}: the renewal terms now apply.",
            "who.hubspot": "HubSpot communicates: its renewal manager emails the client from {emails_start}; make sure the emails reach the right person.",
            "who.partner": "The partner communicates: hold the renewal meeting and tell the client about discounts, the renewal date and the deadline.",
            "who.none": "Nobody has chosen who communicates (HubSpot by default): choose before {emails_start}.",
            "who.service": "A contract of the partner's own: the partner tells the client; HubSpot sends nothing.",
            "todo.before": "To do: prepare the renewal with the client (terms, price, contacts) while there is time to negotiate.",
            "todo.on": "To do: make sure the client has decided today.",
            "todo.after": "To do: confirm the renewal terms with the client; any change of terms goes through HubSpot's renewal manager; prepare the invoicing.",
            "milestone.late": "(The {milestone}-day renewal milestone, caught up late.)",
            "renewed": "already renewed",
        },
        "es": {
            "subject": "Renovación {when}: {company}",
            "body": [
                "{company} renueva {products} el {renewal_date}.",
                "Qué hacer: preparar la renovación con el cliente (condiciones, precio, contactos). Es el hito de {milestone} días antes de la renovación.",
            ],
            "opening": "{company} renueva {products} el {renewal_date} ({renewal_when}).",
            "deadline.before": "La fecha tope para cancelar o renegociar es el {deadline} ({deadline_when}).",
            "deadline.on": "Hoy, {deadline}, es el último día para cancelar o renegociar.",
            "deadline.after": "La fecha tope pasó el {deadline}: ya se aplican las condiciones de renovación.",
            "who.hubspot": "Comunica HubSpot: su mánager de renovación escribe al cliente desde el {emails_start}; comprobar que los correos llegan a la persona adecuada.",
            "who.partner": "Comunica el partner: celebrar la reunión de renovación y contar al cliente los descuentos, la fecha de renovación y la fecha tope.",
            "who.none": "Nadie ha elegido quién comunica (por defecto, HubSpot): elegirlo antes del {emails_start}.",
            "who.service": "Un contrato propio del partner: lo comunica el partner; HubSpot no envía nada.",
            "todo.before": "Qué hacer: preparar la renovación con el cliente (condiciones, precio, contactos) mientras se puede negociar.",
            "todo.on": "Qué hacer: asegurarse hoy de que el cliente ha decidido.",
            "todo.after": "Qué hacer: confirmar las condiciones de renovación con el cliente; cualquier cambio de condiciones pasa por el mánager de renovación de HubSpot; preparar la facturación.",
            "milestone.late": "(Hito de {milestone} días antes de la renovación, recuperado con retraso.)",
            "renewed": "ya renovado",
        },
    },
    service_texts={
        "en": {
            "subject": "Service contract renewal {when}: {company}",
            "body": [
                "The service contract with {company} ({products}) renews on {renewal_date}.",
                "To do: prepare the renewal with the client (scope, price, terms). This is the {milestone}-day renewal milestone.",
            ],
            "opening": "The service contract with {company} ({products}) renews on {renewal_date} ({renewal_when}).",
            "deadline.after": "The notice deadline passed on {deadline}: the contract renews on its terms.",
            "todo.before": "To do: prepare the renewal with the client (scope, price, terms) while there is time to negotiate.",
            "todo.after": "To do: confirm the terms with the client and prepare the renewal invoice.",
        },
        "es": {
            "subject": "Renovación del contrato de servicios {when}: {company}",
            "body": [
                "El contrato de servicios con {company} ({products}) se renueva el {renewal_date}.",
                "Qué hacer: preparar la renovación con el cliente (alcance, precio, condiciones). Es el hito de {milestone} días antes de la renovación.",
            ],
            "opening": "El contrato de servicios con {company} ({products}) se renueva el {renewal_date} ({renewal_when}).",
            "deadline.after": "El preaviso venció el {deadline}: el contrato se renueva en sus condiciones.",
            "todo.before": "Qué hacer: preparar la renovación con el cliente (alcance, precio, condiciones) mientras se puede negociar.",
            "todo.after": "Qué hacer: confirmar las condiciones con el cliente y preparar la factura de la renovación.",
        },
    },
)

PARTNER_MEETING_RULE = Rule(
    PARTNER_MEETING,
    fires=partner_meeting,
    hubspot_only=True,
    gone=lambda sub, portfolio, config: "the partner no longer owns the renewal conversation",
    # Only the deadline's stage: the meeting is the partner's by definition (no variant).
    words=lambda facts, language, t, due: {**stage_words(facts, language, due), "text_variant": None},
    lines=with_what_is_at_hand,
    texts={
        "en": {
            **AT_HAND_WORDS["en"],
            "subject": "Hold the renewal meeting with {company} before {emails_start}",
            "subject.late": "Hold the renewal meeting with {company} now: HubSpot's emails started {emails_start}",
            "body": [
                "The partner owns the renewal conversation with {company} (renewal on {renewal_date}).",
                "To do: meet the client before HubSpot's renewal emails start on {emails_start}; go over discounts, the renewal date and the deadline. Changes of terms go through the renewal manager HubSpot assigns to the partner.",
            ],
            "body.late": [
                "The partner owns the renewal conversation with {company} (renewal on {renewal_date}).",
                "To do: meet the client now: HubSpot's renewal emails started on {emails_start}. Go over discounts, the renewal date and the deadline. Changes of terms go through the renewal manager HubSpot assigns to the partner.",
            ],
            # Met after the notice deadline: nothing left to negotiate, the terms to confirm.
            "subject.after": "Renewal meeting with {company}: the deadline passed on {deadline}, confirm the terms",
            "body.after": [
                "The partner owns the renewal conversation with {company} (renewal on {renewal_date}).",
                "The deadline to cancel or renegotiate passed on {deadline}: the renewal terms now apply.",
                "To do: meet the client to confirm the renewal terms and prepare the invoicing; any change of terms goes through the renewal manager HubSpot assigns to the partner.",
            ],
        },
        "es": {
            **AT_HAND_WORDS["es"],
            "subject": "Reunión de renovación con {company} antes del {emails_start}",
            "subject.late": "Reunión de renovación con {company} cuanto antes: los correos de HubSpot empezaron el {emails_start}",
            "body": [
                "El partner lleva la comunicación de la renovación con {company} (renovación el {renewal_date}).",
                "Qué hacer: reunirse con el cliente antes de que HubSpot empiece a enviar sus correos de renovación el {emails_start}; revisar descuentos, fecha de renovación y fecha tope. Los cambios de condiciones pasan por el mánager de renovación que HubSpot asigna al partner.",
            ],
            "body.late": [
                "El partner lleva la comunicación de la renovación con {company} (renovación el {renewal_date}).",
                "Qué hacer: reunirse con el cliente cuanto antes: los correos de renovación de HubSpot empezaron el {emails_start}. Revisar descuentos, fecha de renovación y fecha tope. Los cambios de condiciones pasan por el mánager de renovación que HubSpot asigna al partner.",
            ],
            "subject.after": "Reunión de renovación con {company}: la fecha tope pasó el {deadline}, confirmar las condiciones",
            "body.after": [
                "El partner lleva la comunicación de la renovación con {company} (renovación el {renewal_date}).",
                "La fecha tope para cancelar o renegociar pasó el {deadline}: ya se aplican las condiciones de renovación.",
                "Qué hacer: reunirse con el cliente para confirmar las condiciones de renovación y preparar la facturación; cualquier cambio de condiciones pasa por el mánager de renovación que HubSpot asigna al partner.",
            ],
        },
    },
)

NO_COMMUNICATION_OWNER_RULE = Rule(
    NO_COMMUNICATION_OWNER,
    fires=no_communication_owner,
    hubspot_only=True,
    gone=lambda sub, portfolio, config: f"a communication owner was chosen ({sub.communication_owner})",
    texts={
        "en": {
            "subject": "Choose who owns the renewal conversation: {company} ({renewal_date})",
            "body": [
                "Who owns the conversation about the renewal of {products} for {company} on {renewal_date} is not recorded (HubSpot by default).",
                "To do: before HubSpot's renewal manager starts emailing the client on {emails_start}, confirm HubSpot or take the conversation on as the partner (then hold the renewal meeting first).",
                "Where: the subscription's communication owner in the CRM, or HubSpot's partner dashboard (Partner > Panel > client list > Renewals > Communication owner).",
            ],
            "body.late": [
                "Who owns the conversation about the renewal of {products} for {company} on {renewal_date} is not recorded (HubSpot by default).",
                "To do: confirm HubSpot (its renewal manager has been emailing the client since {emails_start}) or take it on as the partner now.",
                "Where: the subscription's communication owner in the CRM, or HubSpot's partner dashboard (Partner > Panel > client list > Renewals > Communication owner).",
            ],
        },
        "es": {
            "subject": "Elegir quién lleva la comunicación de la renovación: {company} ({renewal_date})",
            "body": [
                "No consta quién lleva la comunicación de la renovación de {products} de {company} el {renewal_date} (por defecto, HubSpot).",
                "Qué hacer: antes de que el mánager de renovación de HubSpot empiece a escribir al cliente el {emails_start}, confirmar HubSpot o asumir la comunicación como partner (y celebrar antes la reunión de renovación).",
                "Dónde: el responsable de la comunicación de la suscripción en el CRM, o el panel de partner de HubSpot (Partner > Panel > lista de clientes > Renovaciones > Responsable de la comunicación).",
            ],
            "body.late": [
                "No consta quién lleva la comunicación de la renovación de {products} de {company} el {renewal_date} (por defecto, HubSpot).",
                "Qué hacer: confirmar HubSpot (su mánager de renovación escribe al cliente desde el {emails_start}) o asumir la comunicación como partner cuanto antes.",
                "Dónde: el responsable de la comunicación de la suscripción en el CRM, o el panel de partner de HubSpot (Partner > Panel > lista de clientes > Renovaciones > Responsable de la comunicación).",
            ],
        },
    },
)

DEADLINE_RULE = Rule(
    DEADLINE,
    fires=renewal_deadline,
    gone=lambda sub, portfolio, config: "the reason for the task no longer applies",
    words=_deadline_words,
    anchor=lambda sub, config: notice_deadline(sub, config)[0],
    anchor_name="notice deadline",
    beyond_horizon=True,
    texts={
        "en": {
            "subject": "Renewal deadline {when}: {company} ({deadline})",
            "body": [
                "{deadline} is the last day for {company} to cancel or renegotiate {products}; after it the renewal terms apply automatically on {renewal_date}.",
                "To do: make sure the client has decided. Deadline source: {deadline_source}.",
            ],
            # The deadline passed before the task falls due (it fell on a weekend or holiday):
            # never "today"; what is still useful.
            "subject.late": "Renewal deadline passed on {deadline}: {company}",
            "body.late": [
                "{deadline} was the last day for {company} to cancel or renegotiate {products}: the renewal terms now apply, from the renewal on {renewal_date}.",
                "To do: confirm the renewal terms with the client; any change of terms now goes through HubSpot's renewal manager. Deadline source: {deadline_source}.",
            ],
            "source.contract": "the contract's own deadline",
            "source.default": "HubSpot's default, {days_before}",
            "days_before": {"one": "{n} day before the renewal", "other": "{n} days before the renewal"},
        },
        "es": {
            "subject": "Fecha tope de renovación {when}: {company} ({deadline})",
            "body": [
                "El {deadline} es el último día para que {company} cancele o renegocie {products}; después se aplican automáticamente las condiciones de renovación el {renewal_date}.",
                "Qué hacer: asegurarse de que el cliente ha decidido. Origen de la fecha tope: {deadline_source}.",
            ],
            "subject.late": "La fecha tope de renovación pasó el {deadline}: {company}",
            "body.late": [
                "El {deadline} fue el último día para que {company} cancelara o renegociara {products}: ya se aplican las condiciones de renovación, desde la renovación del {renewal_date}.",
                "Qué hacer: confirmar las condiciones de renovación con el cliente; cualquier cambio de condiciones pasa ahora por el mánager de renovación de HubSpot. Origen de la fecha tope: {deadline_source}.",
            ],
            "source.contract": "la fecha tope propia del contrato",
            "source.default": "la fecha tope por defecto de HubSpot, {days_before}",
            "days_before": {"one": "{n} día antes de la renovación", "other": "{n} días antes de la renovación"},
        },
    },
    service_texts={
        "en": {
            "subject": "Service contract deadline {when}: {company} ({deadline})",
            "body": [
                "{deadline} is the last day for {company} to cancel or renegotiate its service contract ({products}); after it the contract renews on its terms on {renewal_date}.",
                "To do: make sure the client has decided. Deadline source: {deadline_source}.",
            ],
            "source.default": "the default notice period, {days_before}",
            "subject.late": "Service contract deadline passed on {deadline}: {company}",
            "body.late": [
                "{deadline} was the last day for {company} to cancel or renegotiate its service contract ({products}): it now renews on its terms on {renewal_date}.",
                "To do: confirm the terms with the client and prepare the renewal invoice. Deadline source: {deadline_source}.",
            ],
        },
        "es": {
            "subject": "Fecha tope del contrato de servicios {when}: {company} ({deadline})",
            "body": [
                "El {deadline} es el último día para que {company} cancele o renegocie su contrato de servicios ({products}); después el contrato se renueva en sus condiciones el {renewal_date}.",
                "Qué hacer: asegurarse de que el cliente ha decidido. Origen de la fecha tope: {deadline_source}.",
            ],
            "source.default": "el preaviso por defecto, {days_before}",
            "subject.late": "La fecha tope del contrato de servicios pasó el {deadline}: {company}",
            "body.late": [
                "El {deadline} fue el último día para que {company} cancelara o renegociara su contrato de servicios ({products}): se renueva en sus condiciones el {renewal_date}.",
                "Qué hacer: confirmar las condiciones con el cliente y preparar la factura de la renovación. Origen de la fecha tope: {deadline_source}.",
            ],
        },
    },
)

RULES = (
    MILESTONE_RULE, PARTNER_MEETING_RULE, NO_COMMUNICATION_OWNER_RULE, DEADLINE_RULE, PRICE_CHANGE_RULE, DISCOUNT_ENDS_RULE,
    CONTACT_TIER_RULE, TIER_PROJECTION_RULE,
)


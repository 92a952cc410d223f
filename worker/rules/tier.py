"""The contact tier (HubSpot subscriptions only): usage near or over the tier the client pays for,
as typed on the subscription or measured in the client's own portal. With its words and texts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from worker.rules.context import Context
from worker.rules.model import HIGH, Reminder, Rule
from worker.rules.projection import latest_measured, usage_judged
from worker.words import day, number, usage

CONTACT_TIER = "renewal.contact_tier"


_TENTH = Decimal("0.1")


def usage_percent(used: int | None, limit: int | None) -> Decimal | None:
    """``used`` as a percentage of ``limit``, to one decimal; None when either is unknown."""
    if used is None or not limit or limit <= 0:
        return None
    return (Decimal(used) * 100 / Decimal(limit)).quantize(_TENTH, rounding=ROUND_HALF_UP)


def usage_level(used: int | None, limit: int, warning_ratio: float) -> str | None:
    if used is None:
        return None
    if used > limit:
        return "exceeded"
    if used >= limit * warning_ratio:
        return "warning"
    return None


def contact_tier(ctx: Context) -> list[Reminder]:
    tier = ctx.sub.contact_tier
    if not tier:
        return []
    # What the client's own portal counted (its marketing contacts: what the tier counts) wins
    # over the numbers typed on the subscription; the month's emails only within that month.
    measured = latest_measured(ctx.usage, ctx.as_of)
    contacts_used, emails_sent, emails_measured = usage_judged(measured, ctx.sub.contacts_used, ctx.sub.emails_sent, ctx.as_of)
    emails_limit = tier * ctx.config.emails_per_tier_contact
    contacts_level = usage_level(contacts_used, tier, ctx.config.tier_warning_ratio)
    emails_level = usage_level(emails_sent, emails_limit, ctx.config.tier_warning_ratio)
    if contacts_level is None and emails_level is None:
        return []
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    facts: dict[str, Any] = {
        "tier": tier,
        "contacts_used": contacts_used,
        "contacts_level": contacts_level,
        "emails_sent": emails_sent,
        "emails_limit": emails_limit,
        "emails_level": emails_level,
        "warning_percent": round(ctx.config.tier_warning_ratio * 100),
    }
    if measured is not None:
        # Measured counts move every day: the task is rewritten when a level changes, and says
        # the numbers of the day it was written, with that day.
        facts.update({
            "source": "measured", "_contacts_used": facts.pop("contacts_used"), "_emails_sent": facts.pop("emails_sent"),
            "_measured_on": measured.measured_on.isoformat(), "_emails_measured": emails_measured,
        })
    exceeded = "exceeded" in (contacts_level, emails_level)
    emails_start = renewal - timedelta(days=ctx.config.hubspot_emails_days)
    return [ctx.reminder(CONTACT_TIER, renewal, "", emails_start, HIGH if exceeded else ctx.urgency, facts)]


def _tier_words(facts: Mapping[str, Any], language: str, t: Mapping[str, Any], due: date) -> dict[str, Any]:
    def usage_of(used: Any, limit: Any) -> str:
        if used is None:
            return t["usage.unknown"].format(limit=number(limit, language))
        return t["usage"].format(used=number(used, language), limit=number(limit, language), share=usage(used, limit, language))

    measured = facts.get("source") == "measured"
    contacts_used = facts["_contacts_used"] if measured else facts["contacts_used"]
    emails_sent = facts["_emails_sent"] if measured else facts["emails_sent"]
    return {
        "contacts_usage": usage_of(contacts_used, facts["tier"]),
        "emails_usage": usage_of(emails_sent, facts["emails_limit"]),
        "tier": number(facts["tier"], language),
        "per_contact": facts["emails_limit"] // facts["tier"],
        **({"text_variant": "measured", "measured_on": day(facts["_measured_on"], language)} if measured else {}),
    }


def _tier_subject(facts: Mapping[str, Any], values: Mapping[str, Any], late: bool, t: Mapping[str, Any]) -> str:
    return "subject.exceeded" if "exceeded" in (facts.get("contacts_level"), facts.get("emails_level")) else "subject.warning"


CONTACT_TIER_RULE = Rule(
    CONTACT_TIER,
    fires=contact_tier,
    hubspot_only=True,
    gone=lambda sub, portfolio, config: f"usage is back under {round(config.tier_warning_ratio * 100)}% of the contact tier",
    words=_tier_words,
    subject_key=_tier_subject,
    texts={
        "en": {
            "usage": "{used} of {limit} ({share})",
            "usage.unknown": "not recorded (the limit is {limit})",
            "subject.exceeded": "Contact tier exceeded: {company}",
            "subject.warning": "Contact tier nearly used up: {company}",
            "body": [
                "Contacts: {contacts_usage}.",
                "Marketing emails this month: {emails_usage}; the limit is {per_contact} times the tier.",
                "A client over either limit moves to a higher tier and pays more. To do: review usage with the client before the renewal on {renewal_date}.",
            ],
            "body.measured": [
                "Marketing contacts (what the tier counts): {contacts_usage}, measured on {measured_on} in the client's own HubSpot portal.",
                "Marketing emails this month: {emails_usage}; the limit is {per_contact} times the tier.",
                "A client over either limit moves to a higher tier at the renewal and pays more. To do: review usage with the client before the renewal on {renewal_date}.",
            ],
        },
        "es": {
            "usage": "{used} de {limit} ({share})",
            "usage.unknown": "sin registrar (el límite es {limit})",
            "subject.exceeded": "Nivel de contactos superado: {company}",
            "subject.warning": "Nivel de contactos casi agotado: {company}",
            "body": [
                "Contactos: {contacts_usage}.",
                "Correos de marketing este mes: {emails_usage}; el límite es {per_contact} veces el nivel.",
                "Un cliente que supera cualquiera de los límites pasa a un nivel superior y paga más. Qué hacer: revisar el uso con el cliente antes de la renovación del {renewal_date}.",
            ],
            "body.measured": [
                "Contactos de marketing (lo que cuenta el nivel): {contacts_usage}, medidos el {measured_on} en el portal de HubSpot del propio cliente.",
                "Correos de marketing este mes: {emails_usage}; el límite es {per_contact} veces el nivel.",
                "Un cliente que supera cualquiera de los límites pasa a un nivel superior en la renovación y paga más. Qué hacer: revisar el uso con el cliente antes de la renovación del {renewal_date}.",
            ],
        },
    },
)

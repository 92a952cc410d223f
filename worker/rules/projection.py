"""Where a client's tier usage is heading ([client_portals], issue 24): from the marketing contacts
its own portal counted day by day, the pace over the last months and the day it reaches the tier
at that pace. A task weeks ahead when that day comes before the renewal, with a finding that says
what the projection rests on.

Pure: readings in, a projection out. The pace is a least-squares line through the readings of the
last ``WINDOW_DAYS`` days, trusted only when they span at least ``MIN_SPAN_DAYS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping, Sequence

from worker.rules.context import Context
from worker.rules.model import HIGH, MEDIUM, Reminder, Rule, RuleFinding, UsagePoint
from worker.words import day, number, plural

TIER_PROJECTION = "renewal.tier_projection"
MIN_SPAN_DAYS = 30
WINDOW_DAYS = 120
FRESH_DAYS = 7  # a reading older than this no longer stands for today's usage
DAYS_PER_MONTH = 30.44
LEAD_DAYS = 42  # the task comes this long before the day the tier is reached


def latest_measured(points: Sequence[UsagePoint], as_of: date) -> UsagePoint | None:
    """The latest reading made in the client's portal (not an estimate), if recent enough."""
    for point in reversed(points):
        if point.source == "measured" and point.measured_on <= as_of:
            return point if (as_of - point.measured_on).days <= FRESH_DAYS else None
    return None


def usage_judged(measured: UsagePoint | None, contacts_used: int | None, emails_sent: int | None, as_of: date) -> tuple[int | None, int | None, bool]:
    """(contacts, emails, whether the emails were measured): what the contact tier is judged on.
    The client's own portal's count wins over the typed one; its month's emails only within that
    month."""
    if measured is None:
        return contacts_used, emails_sent, False
    emails_measured = measured.emails_sent_month is not None and measured.measured_on.replace(day=1) == as_of.replace(day=1)
    return measured.marketing_contacts, measured.emails_sent_month if emails_measured else emails_sent, emails_measured


@dataclass(frozen=True)
class Projection:
    current: int
    per_month: int
    reach_on: date
    first: date
    last: date
    readings: int
    estimated: int


def project(points: Sequence[UsagePoint], tier: int, as_of: date) -> Projection | None:
    """When the marketing contacts reach ``tier`` at the current pace; None when the readings
    span too little, the count is not growing, or the tier is already reached."""
    latest = latest_measured(points, as_of)
    recent = [p for p in points if as_of - timedelta(days=WINDOW_DAYS) <= p.measured_on <= as_of]
    if latest is None or len(recent) < 2 or (recent[-1].measured_on - recent[0].measured_on).days < MIN_SPAN_DAYS:
        return None
    origin = recent[0].measured_on
    xs = [(p.measured_on - origin).days for p in recent]
    ys = [p.marketing_contacts for p in recent]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    per_day = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread if spread else 0.0
    if per_day <= 0 or latest.marketing_contacts >= tier:
        return None
    reach_on = latest.measured_on + timedelta(days=math.ceil((tier - latest.marketing_contacts) / per_day))
    return Projection(
        latest.marketing_contacts, round(per_day * DAYS_PER_MONTH), reach_on, recent[0].measured_on, recent[-1].measured_on,
        len(recent), sum(1 for p in recent if p.source != "measured"),
    )


def tier_projection(ctx: Context) -> list[Reminder]:
    tier, renewal = ctx.sub.contact_tier, ctx.sub.renewal_date
    if not tier or renewal is None or not ctx.usage:
        return []
    found = project(ctx.usage, tier, ctx.as_of)
    if found is None or found.reach_on >= renewal:
        return []
    if found.current >= tier * ctx.config.tier_warning_ratio:
        return []  # the contact-tier task already warns about it
    facts = {
        "tier": tier,
        # The month it is reached: the task is rewritten when that moves, not every day the count does.
        "reach_month": found.reach_on.strftime("%Y-%m"),
        "_reach_on": found.reach_on.isoformat(),
        "_per_month": found.per_month,
        "_current": found.current,
        "_measured_on": found.last.isoformat(),
        "_first": found.first.isoformat(),
        "_readings": found.readings,
        "_estimated": found.estimated,
    }
    days_to_reach = (found.reach_on - ctx.as_of).days
    priority = HIGH if days_to_reach <= 30 else MEDIUM
    return [ctx.reminder(TIER_PROJECTION, renewal, "", found.reach_on - timedelta(days=LEAD_DAYS), priority, facts)]


def projection_findings(reminders: Sequence[Reminder]) -> list[RuleFinding]:
    """What each projection rests on, for people who want to check it."""
    found = []
    for reminder in reminders:
        if reminder.rule != TIER_PROJECTION:
            continue
        f = reminder.facts
        estimated = f" ({f['_estimated']} estimated from contacts' create dates)" if f["_estimated"] else ""
        found.append(RuleFinding(
            TIER_PROJECTION, reminder.object_type, reminder.object_id, "marketing_contacts", f"+{f['_per_month']}/month",
            f"{f['_current']} marketing contacts of the {f['tier']} tier on {f['_measured_on']}, +{f['_per_month']} a month over "
            f"{f['_readings']} readings from {f['_first']}{estimated}: the tier is reached around {f['_reach_on']}, "
            f"before the renewal on {f['renewal_date']}",
        ))
    return found


def _words(facts: Mapping[str, Any], language: str, t: Mapping[str, Any], due: date) -> dict[str, Any]:
    return {
        "tier": number(facts["tier"], language),
        "current": number(facts["_current"], language),
        "pace": number(facts["_per_month"], language),
        "reach_on": day(facts["_reach_on"], language),
        "measured_on": day(facts["_measured_on"], language),
        "since": day(facts["_first"], language),
        "readings": plural(facts["_readings"], t["readings"], language),
    }


TIER_PROJECTION_RULE = Rule(
    TIER_PROJECTION,
    fires=tier_projection,
    hubspot_only=True,
    gone=lambda sub, portfolio, config: "at the current pace the client no longer reaches its contact tier before the renewal (or the tier task now covers it)",
    words=_words,
    texts={
        "en": {
            "readings": {"one": "{n} reading", "other": "{n} readings"},
            "subject": "Contact tier reached before the renewal: {company}, around {reach_on}",
            "body": [
                "At +{pace} marketing contacts a month, {company} reaches its {tier}-contact tier around {reach_on}, before its renewal on {renewal_date}.",
                "Now: {current} marketing contacts, measured on {measured_on} in the client's own HubSpot portal ({readings} since {since}).",
                "A client over its tier moves to a higher tier at the renewal and pays more. To do: talk it through with the client now (clean up unengaged contacts, or plan the higher tier).",
            ],
        },
        "es": {
            "readings": {"one": "{n} lectura", "other": "{n} lecturas"},
            "subject": "Nivel de contactos alcanzado antes de la renovación: {company}, hacia el {reach_on}",
            "body": [
                "Con +{pace} contactos de marketing al mes, {company} alcanza su nivel de {tier} contactos hacia el {reach_on}, antes de su renovación del {renewal_date}.",
                "Ahora: {current} contactos de marketing, medidos el {measured_on} en el portal de HubSpot del propio cliente ({readings} desde el {since}).",
                "Un cliente por encima de su nivel pasa a un nivel superior en la renovación y paga más. Qué hacer: hablarlo ya con el cliente (depurar contactos inactivos o prever el nivel superior).",
            ],
        },
    },
)

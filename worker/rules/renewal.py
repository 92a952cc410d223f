"""The subscription rules of DOMAIN.md: milestones, the partner's meeting, a missing
communication owner, the notice deadline, price changes and the contact tier.

Each rule is a pure function of one subscription (and its company) and the as-of date. A rule
returns every reminder that is valid today; only the latest milestone reached is marked for
creation, so a record first seen late gets one catch-up task, not one per missed milestone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from worker.rules.calendar import working_day
from worker.rules.model import HIGH, CompanyRow, Reminder, RuleConfig, SubscriptionRow, urgency

MILESTONE = "renewal.milestone"
PARTNER_MEETING = "renewal.partner_meeting"
NO_COMMUNICATION_OWNER = "renewal.no_communication_owner"
DEADLINE = "renewal.deadline"
PRICE_CHANGE = "renewal.price_change"
CONTACT_TIER = "renewal.contact_tier"

SUBSCRIPTION_RULES = (MILESTONE, PARTNER_MEETING, NO_COMMUNICATION_OWNER, DEADLINE, PRICE_CHANGE, CONTACT_TIER)


@dataclass(frozen=True, slots=True)
class Context:
    """What every reminder of one subscription shares."""

    sub: SubscriptionRow
    company: CompanyRow | None
    contact_id: str | None
    owner_id: str | None
    as_of: date
    days_left: int
    config: RuleConfig

    def reminder(self, rule: str, anchor: date, variant: str, step: date, priority: str, facts: dict[str, Any], *, create: bool = True) -> Reminder:
        """A reminder of this subscription whose step falls on ``step`` (moved to a working day;
        due not before today)."""
        key = f"{rule}:subscription:{self.sub.id}:{anchor.isoformat()}" + (f":{variant}" if variant else "")
        base = {
            "company": (self.company.name if self.company else None) or "",
            "renewal_date": self.sub.renewal_date.isoformat() if self.sub.renewal_date else None,
            "products": self.sub.products or "",
        }
        return Reminder(
            key=key,
            rule=rule,
            object_type="subscription",
            object_id=self.sub.id,
            company_id=self.sub.company_id,
            subscription_id=self.sub.id,
            contact_id=self.contact_id,
            anchor=anchor,
            due=working_day(step, not_before=self.as_of, skip_weekends=self.config.skip_weekends),
            priority=priority,
            owner_id=self.owner_id,
            create=create,
            facts={**base, **facts},
            step=working_day(step, not_before=date.min, skip_weekends=self.config.skip_weekends),
        )

    @property
    def urgency(self) -> str:
        return urgency(self.days_left)


def is_cancelled(sub: SubscriptionRow, config: RuleConfig) -> bool:
    return sub.status is not None and sub.status.casefold() in config.cancelled_statuses


def milestones(anchor: date, as_of: date, offsets: tuple[int, ...], *, skip_weekends: bool = True) -> list[tuple[int, bool]]:
    """Offsets (days before ``anchor``) already reached on ``as_of``, each with whether it is the
    latest one reached (the only one to create: catch-up). Nothing once ``anchor`` has passed.

    A step that falls on a non-working day is reached on the working day before it (it is due
    then, so its task must exist from then, not from the Monday after)."""
    days = (anchor - as_of).days
    if days < 0:
        return []
    reached = [
        offset for offset in offsets
        if working_day(anchor - timedelta(days=offset), not_before=date.min, skip_weekends=skip_weekends) <= as_of
    ]
    if not reached:
        return []
    latest = min(reached)
    return [(offset, offset == latest) for offset in reached]


def renewal_milestones(ctx: Context) -> list[Reminder]:
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    return [
        ctx.reminder(
            MILESTONE, renewal, str(offset), renewal - timedelta(days=offset),
            HIGH if offset <= 30 else ctx.urgency, {"milestone_days": offset}, create=latest,
        )
        for offset, latest in milestones(renewal, ctx.as_of, ctx.config.milestone_days, skip_weekends=ctx.config.skip_weekends)
    ]


def partner_meeting(ctx: Context) -> list[Reminder]:
    """The partner owns the conversation: meet the client before HubSpot's emails start."""
    if ctx.sub.communication_owner != "partner" or ctx.days_left > ctx.config.partner_meeting_days:
        return []
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    emails_start = renewal - timedelta(days=ctx.config.hubspot_emails_days)
    return [ctx.reminder(PARTNER_MEETING, renewal, "", emails_start, ctx.urgency, {"emails_start": emails_start.isoformat()})]


def no_communication_owner(ctx: Context) -> list[Reminder]:
    if ctx.sub.communication_owner is not None:
        return []
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    emails_start = renewal - timedelta(days=ctx.config.hubspot_emails_days)
    return [ctx.reminder(NO_COMMUNICATION_OWNER, renewal, "", emails_start, ctx.urgency, {"emails_start": emails_start.isoformat()})]


def notice_deadline(sub: SubscriptionRow, config: RuleConfig) -> tuple[date | None, str]:
    """The contract's own deadline when it has one, else HubSpot's default before the renewal."""
    if sub.deadline is not None:
        return sub.deadline, "contract"
    if sub.renewal_date is None:
        return None, "default"
    return sub.renewal_date - timedelta(days=config.deadline_days), "default"


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
        for offset, latest in milestones(deadline, ctx.as_of, ctx.config.deadline_warning_days, skip_weekends=ctx.config.skip_weekends)
    ]


def price_change_percent(current: Decimal, renewal: Decimal) -> Decimal | None:
    if current == 0:
        return None
    return ((renewal - current) / current * 100).quantize(Decimal("0.1"))


def price_change(ctx: Context) -> list[Reminder]:
    current, renewal_price = ctx.sub.current_price, ctx.sub.renewal_price
    if current is None or renewal_price is None or current == renewal_price:
        return []
    percent = price_change_percent(current, renewal_price)
    threshold = Decimal(str(ctx.config.price_change_threshold_percent))
    # Compared exactly: 10.04 % is over a 10 % threshold even though it shows as +10.0 %.
    if current != 0 and threshold > 0 and abs(renewal_price - current) * 100 <= threshold * current:
        return []
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    emails_start = renewal - timedelta(days=ctx.config.hubspot_emails_days)
    facts = {
        "current_price": format(current, "f"),
        "renewal_price": format(renewal_price, "f"),
        "currency": ctx.sub.currency or "",
        "change_percent": None if percent is None else format(percent, "f"),
        "emails_start": emails_start.isoformat(),
    }
    return [ctx.reminder(PRICE_CHANGE, renewal, "", emails_start, ctx.urgency, facts)]


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
    emails_limit = tier * ctx.config.emails_per_tier_contact
    contacts_level = usage_level(ctx.sub.contacts_used, tier, ctx.config.tier_warning_ratio)
    emails_level = usage_level(ctx.sub.emails_sent, emails_limit, ctx.config.tier_warning_ratio)
    if contacts_level is None and emails_level is None:
        return []
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    facts = {
        "tier": tier,
        "contacts_used": ctx.sub.contacts_used,
        "contacts_level": contacts_level,
        "emails_sent": ctx.sub.emails_sent,
        "emails_limit": emails_limit,
        "emails_level": emails_level,
        "warning_percent": round(ctx.config.tier_warning_ratio * 100),
    }
    exceeded = "exceeded" in (contacts_level, emails_level)
    emails_start = renewal - timedelta(days=ctx.config.hubspot_emails_days)
    return [ctx.reminder(CONTACT_TIER, renewal, "", emails_start, HIGH if exceeded else ctx.urgency, facts)]


ALL = (renewal_milestones, partner_meeting, no_communication_owner, renewal_deadline, price_change, contact_tier)

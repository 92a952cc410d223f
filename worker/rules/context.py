"""What every reminder of one renewal record shares (``Context``), and the dates the rules of
both modules reason with: when a record counts as cancelled, which offsets before a date have been
reached, and the notice deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Container, Sequence

from worker.rules.calendar import NO_HOLIDAYS, working_day
from worker.rules.model import SERVICE, CompanyRow, Reminder, RuleConfig, SubscriptionRow, UsagePoint, urgency


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
    # The client's tier usage as its own portal counted it, oldest first ([client_portals]).
    usage: Sequence[UsagePoint] = ()

    def reminder(self, rule: str, anchor: date, variant: str, step: date, priority: str, facts: dict[str, Any], *, create: bool = True) -> Reminder:
        """A reminder of this subscription whose step falls on ``step`` (moved to a working day;
        due not before today)."""
        key = f"{rule}:{self.sub.kind}:{self.sub.id}:{anchor.isoformat()}" + (f":{variant}" if variant else "")
        base = {
            "company": (self.company.name if self.company else None) or "",
            "renewal_date": self.sub.renewal_date.isoformat() if self.sub.renewal_date else None,
            "products": self.sub.products or "",
            # Only a service contract says so: a subscription's facts (its tasks' fingerprints)
            # stay as they were before there were two kinds.
            **({"kind": SERVICE} if self.sub.kind == SERVICE else {}),
        }
        return Reminder(
            key=key,
            rule=rule,
            object_type=self.sub.kind,
            object_id=self.sub.id,
            company_id=self.sub.company_id,
            subscription_id=self.sub.id,
            contact_id=self.contact_id,
            anchor=anchor,
            due=working_day(step, not_before=self.as_of, skip_weekends=self.config.skip_weekends, holidays=self.config.holidays),
            priority=priority,
            owner_id=self.owner_id,
            create=create,
            facts={**base, **facts},
            step=working_day(step, not_before=date.min, skip_weekends=self.config.skip_weekends, holidays=self.config.holidays),
        )

    @property
    def urgency(self) -> str:
        return urgency(self.days_left)


def is_cancelled(sub: SubscriptionRow, config: RuleConfig) -> bool:
    cancelled = config.service_cancelled_statuses if sub.kind == SERVICE else config.cancelled_statuses
    return sub.status is not None and sub.status.casefold() in cancelled


def milestones(
    anchor: date, as_of: date, offsets: tuple[int, ...], *, skip_weekends: bool = True, holidays: Container[date] = NO_HOLIDAYS
) -> list[tuple[int, bool]]:
    """Offsets (days before ``anchor``) already reached on ``as_of``, each with whether it is the
    latest one reached (the only one to create: catch-up). Nothing once ``anchor`` has passed.

    A step that falls on a non-working day is reached on the working day before it (it is due
    then, so its task must exist from then, not from the Monday after)."""
    days = (anchor - as_of).days
    if days < 0:
        return []
    reached = [
        offset for offset in offsets
        if working_day(anchor - timedelta(days=offset), not_before=date.min, skip_weekends=skip_weekends, holidays=holidays) <= as_of
    ]
    if not reached:
        return []
    latest = min(reached)
    return [(offset, offset == latest) for offset in reached]


def notice_deadline(sub: SubscriptionRow, config: RuleConfig) -> tuple[date | None, str]:
    """The contract's own deadline when it has one, else HubSpot's default before the renewal."""
    if sub.deadline is not None:
        return sub.deadline, "contract"
    if sub.renewal_date is None:
        return None, "default"
    return sub.renewal_date - timedelta(days=config.deadline_days), "default"



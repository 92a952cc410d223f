"""Where one renewal stands, as the client page shows it beside the seed's side panel: the notice
deadline the tasks use (the contract's own, else HubSpot's default before the renewal) and how it
stands today, and what the contact tier's usage means. Pure functions of a record, the rules'
settings and today's date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from worker.reports.panel.week import deadline_state
from worker.rules import RuleConfig
from worker.rules.model import UsagePoint
from worker.rules.projection import usage_judged
from worker.rules.renewal import notice_deadline
from worker.rules.tier import usage_level


@dataclass(frozen=True)
class Standing:
    deadline: date | None
    deadline_source: str  # contract | default
    deadline_state: str  # passed | today | soon | later ("" without a renewal date)
    contacts: str | None  # exceeded | warning | None (under the warning share, or not recorded)
    emails: str | None
    emails_limit: int | None
    # The usage the rules judge: measured in the client's own portal when there is a reading of
    # the last week (``measured_on``), else as typed on the record.
    contacts_used: int | None = None
    emails_sent: int | None = None
    measured_on: date | None = None


def standing(record: Any, config: RuleConfig, as_of: date, measured: UsagePoint | None = None) -> Standing:
    """``record``: a cached subscription or service contract (its renewal date, own deadline,
    tier and usage); ``measured``: the client's latest reading in its own portal, if recent."""
    deadline, source = notice_deadline(record, config)
    tier = getattr(record, "contact_tier", None)
    emails_limit = tier * config.emails_per_tier_contact if tier else None
    contacts_used, emails_sent, _ = usage_judged(measured, getattr(record, "contacts_used", None), getattr(record, "emails_sent", None), as_of)
    return Standing(
        deadline=deadline,
        deadline_source=source,
        deadline_state=deadline_state(deadline, as_of) if deadline else "",
        contacts=usage_level(contacts_used, tier, config.tier_warning_ratio) if tier else None,
        emails=usage_level(emails_sent, emails_limit, config.tier_warning_ratio) if emails_limit else None,
        emails_limit=emails_limit,
        contacts_used=contacts_used,
        emails_sent=emails_sent,
        measured_on=measured.measured_on if measured else None,
    )

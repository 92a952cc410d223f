"""What the rules read (plain rows from the cache) and what they conclude (reminders, findings).

Frozen, slotted dataclasses with no I/O: the rules are pure functions of these and an as-of date,
so every edge (a milestone day, DST, 29 February, a weekend) is a unit test without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from worker.rules.calendar import PublicHolidays

# Priorities as HubSpot's task priority values.
LOW, MEDIUM, HIGH = "LOW", "MEDIUM", "HIGH"

# The two kinds of renewal (DOMAIN.md): a client's HubSpot subscription, and the partner's own
# service contract with the client. Reminder keys, ledger rows and findings carry the kind.
SUBSCRIPTION, SERVICE = "subscription", "service"


def urgency(days_left: int) -> str:
    """A task's priority from the days left to its renewal: HIGH within a month (30 days
    included), MEDIUM once HubSpot's 75-day emails could have started, LOW before."""
    return HIGH if days_left <= 30 else MEDIUM if days_left <= 75 else LOW


def contact_urgency(days_to_emails: int) -> str:
    """A broken primary contact's priority from the days left until HubSpot's renewal emails
    (which go to that contact) start: HIGH within two weeks of them or once they have started,
    MEDIUM within six weeks, LOW before."""
    return HIGH if days_to_emails <= 14 else MEDIUM if days_to_emails <= 42 else LOW


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: str
    company_id: str | None
    owner_id: str | None
    renewal_date: date | None
    deadline: date | None
    products: str | None
    current_price: Decimal | None
    renewal_price: Decimal | None
    currency: str | None
    communication_owner: str | None  # "hubspot" | "partner" | None
    contact_tier: int | None
    contacts_used: int | None
    emails_sent: int | None
    status: str | None
    discount_percent: Decimal | None = None
    discount_end_date: date | None = None
    renewal_manager: str | None = None
    renewal_options_url: str | None = None
    gone: bool = False  # archived or deleted in HubSpot
    kind: str = SUBSCRIPTION  # or SERVICE: the partner's own service contract


@dataclass(frozen=True, slots=True)
class CompanyRow:
    id: str
    name: str | None
    owner_id: str | None
    gone: bool = False


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: str
    email: str | None
    email_problem: str | None  # None | "missing" | "malformed" (judged at sync time)
    first_name: str | None
    last_name: str | None
    bounce_reason: str | None
    opted_out: bool | None
    gone: bool = False


@dataclass(frozen=True, slots=True)
class OwnerRow:
    id: str
    name: str
    email: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class UsagePoint:
    """A client's tier usage on one day, as its own portal counted it (``source``: measured that
    day, or estimated from contacts' create dates)."""

    measured_on: date
    marketing_contacts: int
    contacts: int | None = None
    emails_sent_month: int | None = None
    source: str = "measured"


@dataclass(frozen=True)
class Portfolio:
    """Everything the rules look at, as the cache holds it now."""

    subscriptions: Sequence[SubscriptionRow]
    companies: Mapping[str, CompanyRow]
    # company id -> the chosen primary contact's id (None: no contact carries the label).
    # A company missing from this map has not had its associations read yet.
    primary_contacts: Mapping[str, str | None]
    contacts: Mapping[str, ContactRow]
    owners: Mapping[str, OwnerRow]
    # company id -> its tier usage day by day, oldest first ([client_portals]; empty when off).
    usage: Mapping[str, Sequence[UsagePoint]] = field(default_factory=dict)

    @cached_property
    def _subscriptions_by_id(self) -> dict[tuple[str, str], SubscriptionRow]:
        # Built on first use only: the rules never need it, closing a task does. Keyed by kind
        # too: a subscription and a service contract may share an id (two object types).
        return {(row.kind, row.id): row for row in self.subscriptions}

    def subscription(self, subscription_id: str, kind: str = SUBSCRIPTION) -> SubscriptionRow | None:
        return self._subscriptions_by_id.get((kind, subscription_id))


@dataclass(frozen=True)
class RuleConfig:
    """The rule thresholds (``[reminders]``) and what counts as cancelled (``[subscriptions]``)."""

    horizon_days: int = 120
    milestone_days: tuple[int, ...] = (120, 90, 75, 30, 7)
    hubspot_emails_days: int = 75
    partner_meeting_days: int = 90
    deadline_days: int = 45
    deadline_warning_days: tuple[int, ...] = (14, 3)
    price_change_threshold_percent: float = 0.0
    emails_per_tier_contact: int = 10
    tier_warning_ratio: float = 0.9
    skip_weekends: bool = True
    # Public holidays a due day skips like a weekend day ([reminders] holidays): any container
    # of dates (calendar.PublicHolidays, or a frozenset in tests).
    holidays: Any = frozenset()
    fallback_owner_id: str | None = None
    cancelled_statuses: frozenset[str] = frozenset({"closedlost", "cancelled"})
    service_cancelled_statuses: frozenset[str] = frozenset({"cancelled", "closedlost"})
    reads_services: bool = True  # [services] configured: service contracts are synced

    @classmethod
    def from_settings(cls, settings: Any) -> "RuleConfig":
        r = settings.reminders
        return cls(
            horizon_days=r.horizon_days,
            milestone_days=tuple(r.milestone_days),
            hubspot_emails_days=r.hubspot_emails_days,
            partner_meeting_days=r.partner_meeting_days,
            deadline_days=r.deadline_days,
            deadline_warning_days=tuple(r.deadline_warning_days),
            price_change_threshold_percent=r.price_change_threshold_percent,
            emails_per_tier_contact=r.emails_per_tier_contact,
            tier_warning_ratio=r.tier_warning_ratio,
            skip_weekends=r.skip_weekends,
            holidays=PublicHolidays(r.holidays) if r.holidays else frozenset(),
            fallback_owner_id=r.fallback_owner_id,
            cancelled_statuses=frozenset(s.casefold() for s in settings.subscriptions.values.cancelled_statuses),
            service_cancelled_statuses=frozenset(
                s.casefold() for s in (settings.services.values.cancelled_statuses if settings.services is not None else ())
            ),
            reads_services=settings.services is not None,
        )


@dataclass(frozen=True, slots=True)
class Reminder:
    """A task that should exist in HubSpot now.

    ``key`` is deterministic (rule, record, anchor date, milestone): the ledger's unique key.
    ``create`` is False for a reminder that is still valid but is not to be created now (an
    earlier milestone that passed before the worker saw the record): one created earlier stays
    open, a missing one is not sent late. ``facts`` carry the numbers the task text shows; they
    are also the reminder's fingerprint, so a change in them updates the task.
    """

    key: str
    rule: str
    object_type: str  # "subscription" | "service" | "company"
    object_id: str
    company_id: str | None
    subscription_id: str | None
    contact_id: str | None
    anchor: date | None  # the date the reminder is about (renewal date, deadline)
    due: date
    priority: str
    owner_id: str | None
    create: bool
    facts: Mapping[str, Any] = field(default_factory=dict)
    # The working day the rule puts the step on, before "not before today": ``due`` moves with
    # the calendar for a late step, ``step`` only when the rule's dates move.
    step: date | None = None


def _no_words(facts: Mapping[str, Any], language: str, texts: Mapping[str, Any], due: date) -> dict[str, Any]:
    return {}


def stage_key(part: str, values: Mapping[str, Any], late: bool, texts: Mapping[str, Any]) -> str:
    """Which of a rule's ``part`` templates (``subject`` or ``body``) fits the task's stage, the
    first the rule has of: ``part.after`` (the rule's words found the notice deadline passed by
    the due day), ``part.<variant>.late`` / ``part.late`` (the step's own date has passed),
    ``part.<variant>`` (``values["text_variant"]``: who communicates, for one), ``part``."""
    variant = values.get("text_variant")
    candidates = [f"{part}.after"] if values.get("deadline_passed") else []
    if late:
        candidates += [f"{part}.{variant}.late", f"{part}.late"] if variant else [f"{part}.late"]
    if variant:
        candidates.append(f"{part}.{variant}")
    return next((key for key in candidates if key in texts), part)


def _subject_for_stage(facts: Mapping[str, Any], values: Mapping[str, Any], late: bool, texts: Mapping[str, Any]) -> str:
    return stage_key("subject", values, late, texts)


@dataclass(frozen=True)
class Rule:
    """One rule in one place: when it fires, what its tasks are anchored on, why its reason
    went away, and how its tasks read in each language. Nothing else branches on a rule's name:
    adding a rule is one ``Rule`` (and its entry in ``worker.rules.registry``).

    ``texts[language]`` holds ``subject`` and ``body`` (lines) templates, optionally
    ``subject.late`` and ``body.late`` for a step whose date has passed by the task's due date,
    and ``subject.after`` / ``body.after`` for a task due after the renewal's notice deadline,
    and any words the rule's ``words(facts, language, texts, due)`` function uses. ``gone`` explains, once the reasons all
    rules share (record archived, cancelled, date moved or passed) don't, why its reminder is no
    longer wanted: ``gone(record, portfolio, config)``.
    """

    name: str
    fires: Callable[..., list["Reminder"]] | None
    gone: Callable[[Any, "Portfolio", "RuleConfig"], str]
    texts: Mapping[str, Mapping[str, Any]]
    words: Callable[[Mapping[str, Any], str, Mapping[str, Any], date], dict[str, Any]] = _no_words
    subject_key: Callable[[Mapping[str, Any], Mapping[str, Any], bool, Mapping[str, Any]], str] = _subject_for_stage
    lines: Callable[[Mapping[str, Any], dict[str, Any], bool, Mapping[str, Any]], list[str]] | None = None
    # What the task's key is anchored on: the renewal date, or the notice deadline.
    anchor: Callable[["SubscriptionRow", "RuleConfig"], date | None] = lambda sub, config: sub.renewal_date
    anchor_name: str = "renewal date"
    # A deadline can be close while the renewal is beyond the horizon.
    beyond_horizon: bool = False
    # Only HubSpot subscriptions have a communication owner, HubSpot's emails and a contact
    # tier: these rules never look at a service contract.
    hubspot_only: bool = False
    # A service contract's task words, per language, over ``texts`` (same keys).
    service_texts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def texts_for(self, language: str, kind: str) -> Mapping[str, Any]:
        texts = self.texts[language]
        return {**texts, **self.service_texts[language]} if kind == SERVICE and language in self.service_texts else texts


@dataclass(frozen=True, slots=True)
class RuleFinding:
    rule: str
    object_type: str
    object_id: str
    field: str
    value: str | None
    message: str


@dataclass
class Plan:
    reminders: list[Reminder] = field(default_factory=list)
    findings: list[RuleFinding] = field(default_factory=list)

    def by_key(self) -> dict[str, Reminder]:
        return {reminder.key: reminder for reminder in self.reminders}


# The finding rules the rule engine owns: an open finding under these prefixes that a run no
# longer produces is resolved. (``data.*`` findings belong to the sync.)
RULE_FINDING_PREFIXES = ("contact.", "owner.", "renewal.")

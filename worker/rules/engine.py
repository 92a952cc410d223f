"""The rule engine: a Portfolio and an as-of date in, a Plan (reminders + findings) out.

Pure: no clock, no database, no HubSpot. ``why_gone`` explains, for a task the worker created
earlier and no longer wants, what changed, so the ledger records why the task was closed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Iterator

from worker.rules import contacts, renewal
from worker.rules.calendar import working_day
from worker.rules.projection import projection_findings
from worker.rules.registry import RULES
from worker.rules.model import (
    SERVICE,
    SUBSCRIPTION,
    CompanyRow,
    Plan,
    Portfolio,
    Reminder,
    RuleConfig,
    RuleFinding,
    SubscriptionRow,
    contact_urgency,
    urgency,
)

OWNER_MISSING = "owner.missing"
OWNER_DEACTIVATED = "owner.deactivated"
OWNER_FALLBACK_UNUSABLE = "owner.fallback_unusable"

# The rules each kind of renewal is judged by: the communication owner, HubSpot's emails and the
# contact tier are HubSpot's, so their rules never look at the partner's own service contracts.
_RULES_FOR = {SUBSCRIPTION: renewal.RULES, SERVICE: tuple(rule for rule in renewal.RULES if not rule.hubspot_only)}
# A contract's own deadline can be close while the renewal is far: those rules look beyond the horizon.
_BEYOND_HORIZON = {kind: tuple(rule for rule in rules if rule.beyond_horizon) for kind, rules in _RULES_FOR.items()}
# How findings and closing reasons name each kind of renewal.
NOUN = {SUBSCRIPTION: "subscription", SERVICE: "service contract"}


def assign(responsible: str | None, portfolio: Portfolio, config: RuleConfig) -> tuple[str | None, tuple[str, str | None] | None]:
    """The owner a task goes to, and the owner problem if the fallback had to be used."""
    if responsible is None:
        return config.fallback_owner_id, (OWNER_MISSING, None)
    owner = portfolio.owners.get(responsible)
    if owner is None or not owner.active:
        return config.fallback_owner_id, (OWNER_DEACTIVATED, responsible)
    return responsible, None


def _owner_finding(sub: SubscriptionRow, problem: tuple[str, str | None], portfolio: Portfolio, config: RuleConfig) -> RuleFinding:
    rule, owner_id = problem
    fallback = f"tasks go to the fallback owner {config.fallback_owner_id}" if config.fallback_owner_id else (
        "tasks are created unassigned: set [reminders] fallback_owner_id"
    )
    if rule == OWNER_MISSING:
        message = f"neither the {NOUN[sub.kind]} nor its company has an owner; {fallback}"
    else:
        owner = portfolio.owners.get(owner_id or "")
        who = f"{owner.name} ({owner_id})" if owner else f"owner {owner_id}"
        message = f"{who} is deactivated or no longer a HubSpot user; {fallback}"
    return RuleFinding(rule, sub.kind, sub.id, "owner", owner_id, message)


def _unusable_fallback(portfolio: Portfolio, config: RuleConfig) -> RuleFinding | None:
    """A fallback owner that is itself deactivated or unknown would have HubSpot refuse every
    task sent to it: such tasks are created unassigned, and a finding says why."""
    fallback = config.fallback_owner_id
    if fallback is None:
        return None
    owner = portfolio.owners.get(fallback)
    if owner is not None and owner.active:
        return None
    why = f"the fallback owner {owner.name} ({fallback}) is deactivated" if owner else f"no HubSpot owner has the id {fallback}"
    return RuleFinding(
        OWNER_FALLBACK_UNUSABLE, "settings", "reminders", "fallback_owner_id", fallback,
        f"{why}: tasks that would go to it are created unassigned; set [reminders] fallback_owner_id to an active owner",
    )


def active_renewals(portfolio: Portfolio, as_of: date, config: RuleConfig) -> Iterator[tuple[SubscriptionRow, CompanyRow | None]]:
    """The renewals (of both kinds) the rules look at, with their company: not archived or
    deleted, not cancelled, renewal not past, company not archived. The reports use the same
    filter."""
    for sub in portfolio.subscriptions:
        company = portfolio.companies.get(sub.company_id) if sub.company_id else None
        if is_active(sub, company, as_of, config):
            yield sub, company


def is_active(sub: SubscriptionRow, company: CompanyRow | None, as_of: date, config: RuleConfig) -> bool:
    """One renewal by ``active_renewals``' filter."""
    if sub.gone or sub.renewal_date is None or sub.renewal_date < as_of or renewal.is_cancelled(sub, config):
        return False
    return company is None or not company.gone


def evaluate(portfolio: Portfolio, as_of: date, config: RuleConfig) -> Plan:
    """Every reminder valid on ``as_of`` and every finding, for the whole portfolio."""
    plan = Plan()
    unusable = _unusable_fallback(portfolio, config)
    if unusable is not None:
        plan.findings.append(unusable)
        config = replace(config, fallback_owner_id=None)
    horizon_end = as_of + timedelta(days=config.horizon_days)
    # company id -> its nearest renewal within the horizon (for the contact-data task): a HubSpot
    # subscription where there is one (HubSpot's renewal emails go to the primary contact), else
    # the nearest service contract.
    nearest: dict[str, SubscriptionRow] = {}
    for sub, company in active_renewals(portfolio, as_of, config):
        assert sub.renewal_date is not None
        owner_id, problem = assign(sub.owner_id or (company.owner_id if company else None), portfolio, config)
        if problem:
            plan.findings.append(_owner_finding(sub, problem, portfolio, config))
        if sub.renewal_date > horizon_end:
            # A contract's own deadline can be close while the renewal is far: its warning fires
            # whenever the deadline is that close.
            ctx = renewal.Context(
                sub, company, _live_contact(portfolio, sub.company_id), owner_id, as_of, (sub.renewal_date - as_of).days, config,
                portfolio.usage.get(sub.company_id or "", ()),
            )
            for rule in _BEYOND_HORIZON[sub.kind]:
                plan.reminders.extend(rule.fires(ctx))
            continue
        if sub.company_id:
            best = nearest.get(sub.company_id)
            if best is None or _nearer(sub, best):
                nearest[sub.company_id] = sub
        ctx = renewal.Context(
            sub, company, _live_contact(portfolio, sub.company_id), owner_id, as_of, (sub.renewal_date - as_of).days, config,
            portfolio.usage.get(sub.company_id or "", ()),
        )
        for rule in _RULES_FOR[sub.kind]:
            plan.reminders.extend(rule.fires(ctx))
        if sub.kind == SUBSCRIPTION and sub.communication_owner is None:
            plan.findings.append(
                RuleFinding(
                    renewal.NO_COMMUNICATION_OWNER, "subscription", sub.id, "communication_owner", None,
                    f"renewal on {sub.renewal_date.isoformat()} has no communication owner (HubSpot or the partner)",
                )
            )
    plan.findings.extend(projection_findings(plan.reminders))
    for company in portfolio.companies.values():
        if company.gone or company.id not in portfolio.primary_contacts:
            continue  # archived, or its associations have not been read yet
        contact_id = portfolio.primary_contacts[company.id]
        contact = portfolio.contacts.get(contact_id) if contact_id else None
        problems = contacts.contact_problems(contact_id, contact)
        if not problems:
            continue
        plan.findings.extend(contacts.contact_findings(company, contact_id, contact, problems))
        sub = nearest.get(company.id)
        if sub is not None:
            plan.reminders.append(_contact_reminder(company, contact_id, contact, problems, sub, as_of, portfolio, config))
    return plan


def _nearer(sub: SubscriptionRow, best: SubscriptionRow) -> bool:
    """Which renewal a company's contact-data task is about: subscriptions before service
    contracts, then the soonest, then the lowest id (stable across runs)."""
    return (sub.kind != SUBSCRIPTION, sub.renewal_date, sub.id) < (best.kind != SUBSCRIPTION, best.renewal_date, best.id)  # type: ignore[operator]


def _live_contact(portfolio: Portfolio, company_id: str | None) -> str | None:
    """The company's primary contact, if it still exists (a task can only link to a live one)."""
    contact_id = portfolio.primary_contacts.get(company_id or "")
    contact = portfolio.contacts.get(contact_id or "")
    return contact_id if contact is not None and not contact.gone else None


def _contact_reminder(company, contact_id, contact, problems, sub: SubscriptionRow, as_of: date, portfolio: Portfolio, config: RuleConfig) -> Reminder:
    assert sub.renewal_date is not None
    owner_id, _ = assign(company.owner_id or sub.owner_id, portfolio, config)
    emails_start = sub.renewal_date - timedelta(days=config.hubspot_emails_days)
    days_left = (sub.renewal_date - as_of).days
    live = contact is not None and not contact.gone
    return Reminder(
        key=f"{contacts.CONTACT_DATA}:company:{company.id}",
        rule=contacts.CONTACT_DATA,
        object_type="company",
        object_id=company.id,
        company_id=company.id,
        # The task links to a HubSpot subscription it is about; a service-contract-only client's
        # task links to the company and the contact.
        subscription_id=sub.id if sub.kind == SUBSCRIPTION else None,
        contact_id=contact_id if live else None,
        anchor=None,
        due=working_day(emails_start, not_before=as_of, skip_weekends=config.skip_weekends, holidays=config.holidays),
        # HubSpot's emails go to this contact: how soon they start says how urgent it is; a
        # client with only a service contract gets no HubSpot emails, its renewal says it.
        priority=contact_urgency((emails_start - as_of).days) if sub.kind == SUBSCRIPTION else urgency(days_left),
        owner_id=owner_id,
        create=True,
        facts={
            "company": company.name or "",
            "problems": problems,
            # A deleted contact is not named: the task is about finding a new one.
            "contact_email": contact.email if live else None,
            "contact_name": " ".join(p for p in (contact.first_name, contact.last_name) if p) if live else None,
            "bounce_reason": contact.bounce_reason if live else None,
            "renewal_date": sub.renewal_date.isoformat(),
            "emails_start": emails_start.isoformat(),
            # A client with only a service contract gets no HubSpot emails: its texts say so.
            **({"_kind": SERVICE} if sub.kind == SERVICE else {}),
        },
        step=working_day(emails_start, not_before=date.min, skip_weekends=config.skip_weekends, holidays=config.holidays),
    )


def why_gone(rule: str, object_type: str, object_id: str, anchor: date | None, portfolio: Portfolio, as_of: date, config: RuleConfig) -> str:
    """Why a reminder the worker created earlier is no longer wanted, in words for the ledger:
    the reasons every rule shares first, then the rule's own (``Rule.gone``)."""
    definition = RULES[rule]
    if object_type == "company":
        company = portfolio.companies.get(object_id)
        if company is None or company.gone:
            return "the client company was archived or deleted in HubSpot"
        return definition.gone(company, portfolio, config)
    sub = portfolio.subscription(object_id, object_type)
    noun = NOUN.get(object_type, object_type)
    if object_type == SERVICE and not config.reads_services:
        return "service contracts are no longer read ([services] is not configured)"
    if sub is None or sub.gone:
        return f"the {noun} was archived or deleted in HubSpot"
    if renewal.is_cancelled(sub, config):
        return f"the {noun} was cancelled (status {sub.status})"
    company = portfolio.companies.get(sub.company_id) if sub.company_id else None
    if company is not None and company.gone:
        return "the client company was archived or deleted in HubSpot"
    current = definition.anchor(sub, config)
    if current != anchor:
        return f"the {definition.anchor_name} moved from {anchor} to {current or 'none'}"
    if anchor is not None and anchor < as_of:
        return f"the {definition.anchor_name} has passed"
    if sub.renewal_date is not None and sub.renewal_date < as_of:
        return "the renewal date has passed"
    if not definition.beyond_horizon and sub.renewal_date is not None and (sub.renewal_date - as_of).days > config.horizon_days:
        return f"the renewal is more than {config.horizon_days} days away"
    return definition.gone(sub, portfolio, config)

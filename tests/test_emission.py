"""Rules → HubSpot tasks against the sandbox: exactly once, through faults, and closed or updated
when their reason goes away."""

from __future__ import annotations

import dataclasses
import math
from contextlib import contextmanager
from datetime import timedelta

import pytest

from integrations.hubspot.sandbox import Fault, PortalSpec, SandboxHubSpot, SandboxPortal, generate_portal
from tests.clock import days_from_today, local_today, over_moments
from tests.conftest import make_settings
from tests.emission_helpers import assert_exactly_once, ledger_rows, portal_tasks
from worker.cache.db import Cache
from worker.cache.models import Finding
from worker.cycle import run_cycle
from worker.rules.calendar import due_instant, working_day


def small_portal(renewal_in: int = 90, tz: str = "UTC", **deal_changes) -> SandboxPortal:
    """One client with one renewal ``renewal_in`` days after today (in the office's time zone
    ``tz``), built by hand so every expected task can be named."""
    portal = SandboxPortal()
    laura = portal.add_owner("Laura", "Pérez")
    ops = portal.add_owner("Ops", "Desk")
    company = portal.create("companies", {"name": "Andes Nova S.A.", "hubspot_owner_id": str(laura.id)})
    contact = portal.create("contacts", {"firstname": "Ana", "lastname": "García", "email": "ana@andes.example"})
    portal.associate("companies", company.id, "contacts", contact.id, primary=True)
    deal = portal.create(
        "deals",
        {
            "renewal_date": days_from_today(renewal_in, tz), "renewal_products": "Marketing Hub Professional",
            "current_monthly_price": "1200.00", "renewal_monthly_price": "1320.00", "deal_currency_code": "USD",
            "renewal_communication_owner": "hubspot", "contact_tier": "5000", "contacts_used": "1000",
            "marketing_emails_sent_month": "1000", "dealstage": "renewal_open", "hubspot_owner_id": str(laura.id),
            **deal_changes,
        },
    )
    portal.associate("deals", deal.id, "companies", company.id, primary=True)
    portal.ids = {"laura": laura.id, "ops": ops.id, "company": company.id, "contact": contact.id, "deal": deal.id}  # type: ignore[attr-defined]
    return portal


@pytest.fixture
def portal(moment):
    return small_portal(tz=moment.timezone)


@contextmanager
def serve(portal: SandboxPortal, db_url: str, **sections):
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url, **sections)
        cache = Cache(db_url)
        try:
            yield server, settings, cache
        finally:
            cache.close()


def cycle(settings, cache, **kw):
    return run_cycle(settings, cache=cache, **kw)


def subjects(portal: SandboxPortal) -> list[str]:
    return sorted(t["hs_task_subject"] for t in portal_tasks(portal).values())


def milestone_due(settings, renewal_in: int):
    """When the milestone reached today falls due: today, or the next working day when today is
    not one (its own day, a weekend, has passed by the time a person can act)."""
    today = local_today(settings.tz)
    return working_day(today, not_before=today, skip_weekends=True), today + timedelta(days=renewal_in)


@over_moments
def test_a_run_creates_the_expected_tasks_and_a_second_creates_none(sandbox, settings, cache):
    portal = sandbox.portal
    first = cycle(settings, cache)
    assert first.ok, first.error
    assert first.counts["tasks_created"] == 2
    tasks = assert_exactly_once(portal, cache)
    due, renewal = milestone_due(settings, 90)
    # The subject counts the days from the day the task falls due, when its owner reads it.
    assert subjects(portal) == [
        "Price change at renewal: Andes Nova S.A., $1,200.00 → $1,320.00 (+10%)",
        f"Renewal in {(renewal - due).days} days: Andes Nova S.A.",
    ]

    def due_ms(day) -> str:
        return str(int(due_instant(day, "09:00", settings.tz).timestamp() * 1000))

    today = local_today(settings.tz)
    # The price change is due before HubSpot's emails start, 75 days before the renewal.
    emails_start = working_day(renewal - timedelta(days=75), not_before=today, skip_weekends=True)
    for task in tasks.values():
        assert task["hubspot_owner_id"] == str(portal.ids["laura"])
        expected = due_ms(due) if task["hs_task_subject"].startswith("Renewal") else due_ms(emails_start)
        assert task["hs_timestamp"] == task["hs_task_reminders"] == expected
        assert task["hs_task_status"] == "NOT_STARTED" and task["hs_task_type"] == "TODO"
        task_id = int(task["id"])
        # Linked to the company (192), its primary contact (204) and the subscription (216).
        assert {t.type_id for types in portal.associated("tasks", task_id, "companies").values() for t in types} == {192}
        assert list(portal.associated("tasks", task_id, "companies")) == [portal.ids["company"]]
        assert list(portal.associated("tasks", task_id, "contacts")) == [portal.ids["contact"]]
        assert list(portal.associated("tasks", task_id, "deals")) == [portal.ids["deal"]]
    price = next(t for t in tasks.values() if t["hs_task_subject"].startswith("Price"))
    assert "changes from $1,200.00 to $1,320.00 (+10%)" in price["hs_task_body"]
    assert price["hs_task_priority"] == "LOW"  # 90 days out

    sandbox.reset_stats()
    second = cycle(settings, cache)
    assert second.ok and second.counts["tasks_created"] == 0
    assert not any(name.startswith("batch_create") for name in sandbox.stats.calls)
    assert len(portal_tasks(portal)) == 2


@over_moments
def test_spanish_task_texts(sandbox, db_url, moment):
    settings = make_settings(sandbox.url, db_url, reminders={"language": "es", "timezone": moment.timezone})
    cache = Cache(db_url)
    assert cycle(settings, cache).ok
    due, renewal = milestone_due(settings, 90)
    assert subjects(sandbox.portal) == [
        "Cambio de precio en la renovación: Andes Nova S.A., 1.200,00\xa0US$ → 1.320,00\xa0US$ (+10 %)",
        f"Renovación en {(renewal - due).days} días: Andes Nova S.A.",
    ]
    cache.close()


FAULTS = {
    "503 before processing": Fault("status", status=503, match="batch/create"),
    "503 after processing": Fault("status", status=503, match="batch/create", processed=True),
    "reset before processing": Fault("reset", match="batch/create"),
    "reset after processing": Fault("reset_after", match="batch/create"),
    "answer cut short": Fault("truncate", match="batch/create"),
    "429 with Retry-After": Fault("status", status=429, retry_after="0", match="batch/create"),
    "503 on the recovery read too": Fault("status", status=503, match="batch/(create|read)|associations", times=3, processed=True),
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_faults_during_emission_end_with_each_task_exactly_once(fault, db_url):
    portal = generate_portal(PortalSpec(companies=120, seed=5))
    with serve(portal, db_url) as (server, settings, cache):
        assert cycle(settings, cache, steps=("sync",)).ok
        expected = cycle(settings, cache, steps=("rules", "emit"), dry_run=True).emission
        wanted = {c.key for c in expected.changes if c.action == "create"}
        assert len(wanted) > 100  # two create batches
        server.add_fault(dataclasses.replace(FAULTS[fault]))  # a fresh copy: faults count down
        result = cycle(settings, cache)
        if not result.ok:  # the fault outlasted the retries: the next run finishes the job
            result = cycle(settings, cache)
        assert result.ok, result.error
        tasks = assert_exactly_once(portal, cache)
        assert {r.key for r in ledger_rows(cache) if r.state == "open"} == wanted
        assert len(tasks) == len(wanted)
        assert server.stats.faults_applied >= 1


def test_task_creation_takes_one_call_per_hundred_tasks(db_url):
    portal = generate_portal(PortalSpec(companies=150, seed=8))
    with serve(portal, db_url) as (server, settings, cache):
        result = cycle(settings, cache)
        assert result.ok, result.error
        created = result.counts["tasks_created"]
        assert created > 100
        assert server.stats.calls["batch_create_objects:tasks"] == math.ceil(created / 100)


def test_fixing_the_data_resolves_findings_and_completes_tasks(db_url):
    # 62 days out: the 75-day milestone is the latest reached, and the deadline's 14-day warning
    # (3 days away) is not reached on any day of the week.
    portal = small_portal(renewal_in=62, renewal_communication_owner=None)
    ids = portal.ids
    portal.update("contacts", ids["contact"], {"hs_email_hard_bounce_reason_enum": "UNKNOWN_USER"})
    with serve(portal, db_url) as (server, settings, cache):
        assert cycle(settings, cache).ok
        open_rules = {r.rule for r in ledger_rows(cache) if r.state == "open"}
        assert open_rules == {"renewal.milestone", "renewal.price_change", "renewal.no_communication_owner", "renewal.deadline", "contact.data"} - {"renewal.deadline"}
        assert open_findings(cache) >= {("contact.email_bounced", "company"), ("renewal.no_communication_owner", "subscription")}

        # The partner fixes the email, reverts the price and chooses a communication owner.
        portal.update("contacts", ids["contact"], {"hs_email_hard_bounce_reason_enum": None})
        portal.update("deals", ids["deal"], {"renewal_monthly_price": "1200.00", "renewal_communication_owner": "partner"})
        result = cycle(settings, cache)
        assert result.ok, result.error
        assert result.counts["tasks_closed"] == 3
        closed = {r.rule: r.close_reason for r in ledger_rows(cache) if r.state == "closed"}
        assert closed == {
            "contact.data": "the primary contact's data was fixed",
            "renewal.price_change": "the renewal price no longer differs from the current price",
            "renewal.no_communication_owner": "a communication owner was chosen (partner)",
        }
        tasks = assert_exactly_once(portal, cache)
        status = {r.rule: tasks[r.marker]["hs_task_status"] for r in ledger_rows(cache)}
        assert status["contact.data"] == status["renewal.price_change"] == "COMPLETED"
        assert status["renewal.milestone"] == "NOT_STARTED"
        assert ("contact.email_bounced", "company") not in open_findings(cache)
        assert ("renewal.no_communication_owner", "subscription") not in open_findings(cache)
        # The partner now owns the conversation: a meeting task appears.
        assert "renewal.partner_meeting" in {r.rule for r in ledger_rows(cache) if r.state == "open"}

        # The renewal moves out: the old date's tasks close, the new date gets its milestone.
        portal.update("deals", ids["deal"], {"renewal_date": days_from_today(100)})
        assert cycle(settings, cache).ok
        rows = {(r.rule, r.anchor_date.isoformat() if r.anchor_date else None): r for r in ledger_rows(cache)}
        moved = rows[("renewal.milestone", days_from_today(62))]
        assert moved.state == "closed" and moved.close_reason.startswith("the renewal date moved from")
        assert rows[("renewal.milestone", days_from_today(100))].state == "open"

        # Cancelled: everything the worker opened for it is completed.
        portal.update("deals", ids["deal"], {"dealstage": "closedlost"})
        assert cycle(settings, cache).ok
        assert {r.state for r in ledger_rows(cache)} == {"closed"}
        assert all(t["hs_task_status"] == "COMPLETED" for t in assert_exactly_once(portal, cache).values())


def open_findings(cache: Cache) -> set[tuple[str, str]]:
    from sqlmodel import select

    with cache.transaction() as session:
        return {(f.rule, f.object_type) for f in session.exec(select(Finding).where(Finding.resolved_at.is_(None))).all()}


def test_deactivated_owner_falls_back_and_a_reactivated_owner_gets_the_task_back(db_url):
    portal = small_portal()
    ids = portal.ids
    portal.owners[ids["laura"]].archived = True
    foreign = portal.create("tasks", {"hs_task_subject": "Call Ana about the invoice", "hs_timestamp": "0", "hubspot_owner_id": str(ids["ops"])})
    portal.associate("tasks", foreign.id, "companies", ids["company"])
    with serve(portal, db_url, reminders={"fallback_owner_id": str(ids["ops"])}) as (server, settings, cache):
        assert cycle(settings, cache).ok
        assert {t["hubspot_owner_id"] for m, t in portal_tasks(portal).items() if not m.startswith("foreign")} == {str(ids["ops"])}
        assert ("owner.deactivated", "subscription") in open_findings(cache)

        portal.owners[ids["laura"]].archived = False
        result = cycle(settings, cache)
        assert result.ok and result.counts["tasks_updated"] == 2
        assert {t["hubspot_owner_id"] for m, t in portal_tasks(portal).items() if not m.startswith("foreign")} == {str(ids["laura"])}
        assert ("owner.deactivated", "subscription") not in open_findings(cache)
        # A task the worker did not create is never touched.
        assert portal.table("tasks")[foreign.id].properties["hs_task_subject"] == "Call Ana about the invoice"
        assert portal.table("tasks")[foreign.id].properties["hubspot_owner_id"] == str(ids["ops"])


def test_dry_run_plans_without_writing(sandbox, settings, cache):
    result = cycle(settings, cache, dry_run=True)
    assert result.ok
    assert sorted(c.action for c in result.emission.changes) == ["create", "create"]
    assert portal_tasks(sandbox.portal) == {} and ledger_rows(cache) == []
    assert not any(name.startswith("batch_create") or name.startswith("batch_update") for name in sandbox.stats.calls)


def test_a_task_hubspot_refuses_stays_pending_and_goes_out_next_run(db_url):
    portal = generate_portal(PortalSpec(companies=30, seed=4, bad_data=False))
    with serve(portal, db_url) as (server, settings, cache):
        assert cycle(settings, cache, steps=("sync",)).ok
        # A primary contact deleted in HubSpot after the sync read it: its association is refused.
        victim = next(r for r in cycle(settings, cache, steps=("rules", "emit"), dry_run=True).emission.changes if r.key.startswith("renewal.milestone"))
        contact_id = _primary_contact_of(cache, victim.key)
        portal.purge("contacts", int(contact_id))
        result = cycle(settings, cache, steps=("rules", "emit"))
        assert not result.ok and "stay pending" in result.error
        pending = [r for r in ledger_rows(cache) if r.state == "pending"]
        assert pending and all(r.last_error and "HTTP 400" in r.last_error for r in pending)
        assert result.counts["tasks_created"] > 0  # the rest of the batch went out
        again = cycle(settings, cache, mode="full")
        assert again.ok, again.error
        assert_exactly_once(portal, cache)


def _primary_contact_of(cache: Cache, key: str) -> str:
    from sqlmodel import select

    from worker.cache.models import PrimaryContact, Subscription

    subscription_id = key.split(":")[2]
    with cache.transaction() as session:
        company_id = session.get(Subscription, subscription_id).company_id
        return session.exec(select(PrimaryContact.contact_id).where(PrimaryContact.company_id == company_id)).one()


def test_a_gateway_that_serves_many_runs_reports_each_runs_own_calls(db_url):
    """The daemon keeps one gateway for the process (its limiter remembers the last job's calls);
    each run's record still counts only that run's calls."""
    from worker.cycle import build_gateway

    with serve(small_portal(), db_url) as (server, settings, cache):
        gateway = build_gateway(settings)
        try:
            first = run_cycle(settings, cache=cache, gateway=gateway)
            server.reset_stats()
            second = run_cycle(settings, cache=cache, gateway=gateway)
        finally:
            gateway.close()
        assert first.ok and second.ok
        assert second.api["total_calls"] == sum(server.stats.calls.values()) > 0
        assert gateway.stats.total_calls == first.api["total_calls"] + second.api["total_calls"]

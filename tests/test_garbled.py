"""Garbled 200 answers: a complete HTTP answer whose body is not the promised JSON (cut short with
a consistent Content-Length, an HTML page from a proxy, ``{}``, an empty page with a cursor, an
early well-formed end) must never be read as "nothing there". The run fails with one line naming
the call, and the cache, the findings and HubSpot's tasks stay exactly as they were.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlmodel import select

from integrations.hubspot.sandbox import Fault, PortalSpec, SandboxHubSpot, generate_portal
from tests.conftest import make_settings
from tests.emission_helpers import portal_tasks
from tests.test_sync import snapshot
from worker.cache.db import Cache
from worker.cache.models import Finding
from worker.cycle import run_cycle

PAGE = 20  # several list pages from a small portal: "the 2nd page" exists for each stream

# Each read route the sync calls, as "METHOD path" regexes the sandbox's faults match.
ROUTES = {
    "companies page": r"GET /crm/(?:v3/)?objects/(?:2026-[0-9][0-9]/)?companies$",
    "deals page": r"GET /crm/(?:v3/)?objects/(?:2026-[0-9][0-9]/)?deals$",
    "company→contact associations": r"POST /crm/(?:v4/)?associations/(?:2026-[0-9][0-9]/)?companies/contacts/batch/read",
    "contacts batch read": r"POST /crm/(?:v3/)?objects/(?:2026-[0-9][0-9]/)?contacts/batch/read",
    "deal→company associations": r"POST /crm/(?:v4/)?associations/(?:2026-[0-9][0-9]/)?deals/companies/batch/read",
    "owners list": r"GET /crm/(?:v3/)?owners",
}
# A full pass takes each deal's company inline from the deals page: the associations API is
# asked for it by incremental runs (searched deals, the re-check).
CALLED_BY = {"deal→company associations": "incremental"}
GARBLED = ("cut", "html", "empty_object", "empty_with_cursor", "not_utf8", "array")


@contextmanager
def portal_after_a_clean_run(db_url: str):
    """A 60-company portal, synced once and its tasks created: the state a reconcile starts from."""
    portal = generate_portal(PortalSpec(companies=60, seed=23))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url, hubspot={"page_size": PAGE, "max_attempts": 3})
        cache = Cache(db_url)
        try:
            first = run_cycle(settings, cache=cache)
            assert first.ok, first.error
            assert first.counts.get("tasks_created", 0) > 10
            yield server, settings, cache
        finally:
            cache.close()


def _tasks(server) -> dict[str, tuple]:
    return {marker: (t["id"], t.get("hs_task_status"), t.get("hubspot_owner_id")) for marker, t in portal_tasks(server.portal).items()}


def _reconcile_with(server, settings, cache, fault: Fault, mode: str = "full"):
    before_cache, before_tasks = snapshot(cache), _tasks(server)
    server.reset_stats()
    server.add_fault(fault)
    result = run_cycle(settings, cache=cache, mode=mode)
    return result, before_cache, before_tasks


def _assert_nothing_lost(result, server, cache, before_cache, before_tasks, call: str):
    assert not result.ok and result.outcome == "failed"
    assert call in result.error and "\n" not in result.error
    assert snapshot(cache) == before_cache
    assert _tasks(server) == before_tasks


@pytest.mark.parametrize("garble", GARBLED)
def test_a_garbled_second_companies_page_during_a_reconcile_loses_nothing(sqlite_url, garble):
    with portal_after_a_clean_run(sqlite_url) as (server, settings, cache):
        # Every attempt at the 2nd page is garbled: the retries cannot get past it.
        fault = Fault("garble", garble=garble, match=ROUTES["companies page"], skip=1, times=10)
        result, before_cache, before_tasks = _reconcile_with(server, settings, cache, fault)
        _assert_nothing_lost(result, server, cache, before_cache, before_tasks, "list_objects")
        assert server.stats.calls["list_objects:companies"] == 1 + settings.hubspot.max_attempts


@pytest.mark.parametrize(
    "route, call, garble",
    [
        ("deals page", "list_objects", "cut"),
        ("company→contact associations", "batch_read_associations", "empty_object"),
        ("contacts batch read", "batch_read_objects", "html"),
        ("deal→company associations", "batch_read_associations", "array"),
        ("owners list", "list_owners", "empty_with_cursor"),
    ],
)
def test_each_read_route_garbled_during_a_reconcile_loses_nothing(db_url, route, call, garble):
    with portal_after_a_clean_run(db_url) as (server, settings, cache):
        fault = Fault("garble", garble=garble, match=ROUTES[route], skip=1 if "page" in route else 0, times=10)
        result, before_cache, before_tasks = _reconcile_with(server, settings, cache, fault, CALLED_BY.get(route, "full"))
        _assert_nothing_lost(result, server, cache, before_cache, before_tasks, call)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_one_garbled_answer_is_retried_and_the_run_ends_as_a_clean_one_would(sqlite_url, route):
    with portal_after_a_clean_run(sqlite_url) as (server, settings, cache):
        mode = CALLED_BY.get(route, "full")
        clean = run_cycle(settings, cache=cache, mode=mode)
        assert clean.ok
        expected_cache, expected_tasks = snapshot(cache), _tasks(server)
        server.add_fault(Fault("garble", garble="cut", match=ROUTES[route], skip=1 if "page" in route else 0))
        result = run_cycle(settings, cache=cache, mode=mode)
        assert result.ok, result.error
        assert server.stats.faults_applied == 1 and result.api["retries"] >= 1
        assert snapshot(cache) == expected_cache
        assert _tasks(server) == expected_tasks


def test_a_garbled_answer_on_a_first_sync_fails_the_run_and_the_rerun_completes_it(sqlite_url):
    portal = generate_portal(PortalSpec(companies=60, seed=23))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url, hubspot={"page_size": PAGE, "max_attempts": 2})
        cache = Cache(sqlite_url)
        try:
            server.add_fault(Fault("garble", garble="html", match=ROUTES["company→contact associations"], times=2))
            failed = run_cycle(settings, cache=cache)
            assert not failed.ok and "batch_read_associations" in failed.error
            assert portal_tasks(portal) == {}  # the rules never ran on a half-synced cache
            rerun = run_cycle(settings, cache=cache)
            assert rerun.ok, rerun.error
            # Every company knows its primary contact: none was left without one by the fault.
            with cache.transaction() as session:
                from sqlmodel import select

                from worker.cache.models import PrimaryContact, Subscription

                links = {link.company_id: link.contact_id for link in session.exec(select(PrimaryContact)).all()}
                orphans = [s.id for s in session.exec(select(Subscription)).all() if s.company_id is None]
            labelled = {
                str(company_id) for company_id in portal.table("companies")
                if any(t.label == "Primary" for types in portal.associated("companies", company_id, "contacts").values() for t in types)
            }
            assert {company_id for company_id, contact_id in links.items() if contact_id} == labelled
            assert orphans == sorted(str(i) for i, deal in portal.table("deals").items() if not portal.associated("deals", i, "companies"))
        finally:
            cache.close()


@pytest.mark.parametrize("route, stream", [("companies page", "companies"), ("deals page", "subscriptions")])
def test_an_early_well_formed_end_is_caught_by_hubspots_count_and_nothing_is_removed(db_url, route, stream):
    """``{"results": []}`` without a cursor is a valid last page: only the count check can tell."""
    with portal_after_a_clean_run(db_url) as (server, settings, cache):
        fault = Fault("garble", garble="empty_end", match=ROUTES[route], skip=1)
        result, before_cache, before_tasks = _reconcile_with(server, settings, cache, fault)
        assert not result.ok
        assert result.error.startswith("reconcile refused:") and f"the {stream} reconcile" in result.error
        assert "HubSpot counts" in result.error
        after = snapshot(cache)
        refused = [f for f in after.pop("findings") if f[0] == "sync.reconcile_refused"]
        assert refused == [("sync.reconcile_refused", "sync", stream, "deleted", refused[0][4], True)]
        assert after == {k: v for k, v in before_cache.items() if k != "findings"}
        assert _tasks(server) == before_tasks
        # The next reconcile, with honest answers, completes and resolves the finding.
        again = run_cycle(settings, cache=cache, mode="full")
        assert again.ok, again.error
        assert not [f for f in snapshot(cache)["findings"] if f[0] == "sync.reconcile_refused" and f[5]]


def test_records_really_deleted_in_hubspot_are_removed_when_hubspots_count_agrees(sqlite_url):
    with portal_after_a_clean_run(sqlite_url) as (server, settings, cache):
        doomed = sorted(server.portal.table("companies"))[:20]  # a third of the portal: above 10 %
        for company_id in doomed:
            server.portal.purge("companies", company_id)
        result = run_cycle(settings, cache=cache, mode="full")
        assert result.ok, result.error
        assert result.counts["companies_deleted"] == 20


def test_an_early_end_of_the_owners_list_deactivates_nobody(sqlite_url):
    with portal_after_a_clean_run(sqlite_url) as (server, settings, cache):
        fault = Fault("garble", garble="empty_end", match=ROUTES["owners list"])
        result, before_cache, before_tasks = _reconcile_with(server, settings, cache, fault)
        assert result.ok, result.error
        assert result.counts["owners_deleted"] == 0
        assert snapshot(cache)["owners"] == before_cache["owners"]
        assert _tasks(server) == before_tasks


@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_two_empty_owners_answers_in_a_row_are_refused_and_nobody_loses_a_task(db_url, mode):
    # Well-formed and wrong twice over ({"results": []} from a proxy's cached page): before, every
    # owner was deactivated and every open task unassigned in HubSpot, with exit 0.
    with portal_after_a_clean_run(db_url) as (server, settings, cache):
        # Both readings empty: the second reads both lists; a full run's first reading does too.
        fault = Fault("garble", garble="empty_end", match=ROUTES["owners list"], times=4 if mode == "full" else 3)
        result, before_cache, before_tasks = _reconcile_with(server, settings, cache, fault, mode=mode)
        assert not result.ok and result.outcome == "failed"
        assert result.error.startswith("answer refused: HubSpot's owners answer") and "\n" not in result.error
        assert "max_owner_loss_share" in result.error
        after = snapshot(cache)
        assert after["owners"] == before_cache["owners"]
        assert _tasks(server) == before_tasks  # no task unassigned, none reassigned
        assert not any(name.startswith("batch_update") for name in server.stats.calls)
        with cache.transaction() as session:
            refused = session.exec(select(Finding).where(Finding.rule == "sync.owners_refused", Finding.resolved_at.is_(None))).all()
        assert len(refused) == 1
        # The next run asks again: HubSpot answers as it should, and all is as before.
        again = run_cycle(settings, cache=cache, mode=mode)
        assert again.ok, again.error
        assert _tasks(server) == before_tasks
        with cache.transaction() as session:
            assert not session.exec(select(Finding).where(Finding.rule == "sync.owners_refused", Finding.resolved_at.is_(None))).all()


def test_owners_who_really_leave_a_few_at_a_time_are_deactivated(sqlite_url):
    with portal_after_a_clean_run(sqlite_url) as (server, settings, cache):
        leaving = sorted(o.id for o in server.portal.owners.values() if not o.archived)[:2]
        for owner_id in leaving:
            server.portal.owners[owner_id].archived = True
        result = run_cycle(settings, cache=cache)
        assert result.ok, result.error
        from tests.emission_helpers import ledger_rows

        assert not {str(o) for o in leaving} & {r.owner_id for r in ledger_rows(cache) if r.state == "open"}


@pytest.mark.parametrize("route", ["companies page", "deals page"])
def test_a_record_repeated_within_one_page_is_collapsed_alike_on_both_databases(db_url, route):
    # PostgreSQL refused the page's upsert ("ON CONFLICT DO UPDATE command cannot affect row a
    # second time") and the run failed; SQLite took it. Now the answer is collapsed first.
    with portal_after_a_clean_run(db_url) as (server, settings, cache):
        fault = Fault("garble", garble="duplicate_id", match=ROUTES[route], times=3)
        result, before_cache, before_tasks = _reconcile_with(server, settings, cache, fault)
        assert result.ok, result.error
        assert server.stats.faults_applied >= 1
        assert snapshot(cache)["companies"] == before_cache["companies"]
        assert snapshot(cache)["subscriptions"] == before_cache["subscriptions"]
        assert _tasks(server) == before_tasks


def test_a_repeated_id_keeps_the_copy_modified_last():
    from datetime import datetime, timezone

    from integrations.hubspot.answers import distinct
    from integrations.hubspot.types import CrmRecord

    old = CrmRecord("7", {"name": "old"}, None, datetime(2026, 1, 1, tzinfo=timezone.utc))
    new = CrmRecord("7", {"name": "new"}, None, datetime(2026, 2, 1, tzinfo=timezone.utc))
    other = CrmRecord("8", {"name": "x"}, None, None)
    assert distinct([new, other, old], "list") == [new, other]
    assert distinct([old, other, new], "list") == [new, other]
    assert distinct([old, other], "list") == [old, other]


def _renewals_within_the_horizon(server) -> list[int]:
    from datetime import date, timedelta

    from tests import clock

    end = clock.local_today() + timedelta(days=120)
    found = []
    for deal_id, deal in sorted(server.portal.table("deals").items()):
        try:
            renews = date.fromisoformat(deal.properties.get("renewal_date") or "")
        except ValueError:
            continue
        if clock.local_today() <= renews <= end and server.portal.associated("deals", deal_id, "companies"):
            found.append(deal_id)
    return found


def _unlink_all(portal, from_type: str, ids, to_type: str):
    """Take every ``to_type`` association of these records away; returns what puts them back."""
    taken = {record_id: list(portal.associated(from_type, record_id, to_type)) for record_id in ids}
    for record_id, targets in taken.items():
        for target in targets:
            portal.dissociate(from_type, record_id, to_type, target)
    return lambda: [portal.associate(from_type, r, to_type, t, primary=True) for r, ts in taken.items() for t in ts]


def _links_refused(server, settings, cache, edit, what: str):
    before_cache, before_tasks = snapshot(cache), _tasks(server)
    undo = edit()
    server.reset_stats()
    result = run_cycle(settings, cache=cache)
    assert not result.ok and result.error.startswith("answer refused: HubSpot's associations answer") and what in result.error
    assert snapshot(cache)["subscriptions"] == before_cache["subscriptions"]
    assert snapshot(cache)["primary_contacts"] == before_cache["primary_contacts"]
    assert _tasks(server) == before_tasks
    assert not any(name.startswith(("batch_update", "batch_create", "batch_archive")) for name in server.stats.calls)
    undo()
    again = run_cycle(settings, cache=cache)  # the same turn is asked again, and passes
    assert again.ok, again.error
    assert snapshot(cache)["subscriptions"] == before_cache["subscriptions"]
    with cache.transaction() as session:
        assert not session.exec(select(Finding).where(Finding.rule == "sync.links_refused", Finding.resolved_at.is_(None))).all()


def test_an_associations_answer_unlinking_most_renewals_is_refused(db_url):
    with portal_after_a_clean_run(db_url) as (server, settings, cache):
        def unlink():
            return _unlink_all(server.portal, "deals", _renewals_within_the_horizon(server), "companies")

        _links_refused(server, settings, cache, unlink, "would move or unlink")


def test_an_associations_answer_pointing_renewals_at_unknown_companies_is_refused(db_url):
    with portal_after_a_clean_run(db_url) as (server, settings, cache):
        def repoint():
            portal = server.portal
            chosen = {d: list(portal.associated("deals", d, "companies")) for d in _renewals_within_the_horizon(server)[:8]}
            for n, (deal_id, companies) in enumerate(chosen.items()):
                for company_id in companies:
                    portal.dissociate("deals", deal_id, "companies", company_id)
                portal.associate("deals", deal_id, "companies", 990_000 + n, primary=True)  # no such company

            def undo():
                for n, (deal_id, companies) in enumerate(chosen.items()):
                    portal.dissociate("deals", deal_id, "companies", 990_000 + n)
                    for company_id in companies:
                        portal.associate("deals", deal_id, "companies", company_id, primary=True)

            return undo

        with pytest.MonkeyPatch.context() as patch:
            # Only the unseen-companies check speaks (8 moves would pass the share on their own).
            patch.setattr("worker.sync.links.too_many_link_changes", lambda changed, checked, share: False)
            _links_refused(server, settings, cache, repoint, "companies the sync has never seen")


def test_an_answer_taking_every_primary_contact_away_is_refused(db_url):
    with portal_after_a_clean_run(db_url) as (server, settings, cache):
        def unlabel():
            return _unlink_all(server.portal, "companies", sorted(server.portal.table("companies")), "contacts")

        _links_refused(server, settings, cache, unlabel, "primary contact away")


def test_a_renewal_pointed_at_a_company_not_yet_read_keeps_its_tasks_client_name(sqlite_url):
    # One move passes the guard; the company it names is unknown to the cache: the task keeps the
    # name it had instead of being rewritten to "…: ?".
    with portal_after_a_clean_run(sqlite_url) as (server, settings, cache):
        from tests.emission_helpers import ledger_rows

        portal = server.portal
        deal_id = next(int(r.object_id) for r in ledger_rows(cache) if r.state == "open" and r.object_type == "subscription")
        for company_id in list(portal.associated("deals", deal_id, "companies")):
            portal.dissociate("deals", deal_id, "companies", company_id)
        portal.associate("deals", deal_id, "companies", 990_001, primary=True)
        before = {marker: t["hs_task_subject"] for marker, t in portal_tasks(portal).items()}
        result = run_cycle(settings, cache=cache)
        assert result.ok, result.error
        after = {marker: t["hs_task_subject"] for marker, t in portal_tasks(portal).items()}
        assert not [s for s in after.values() if s.endswith(": ?") or ": ? " in s]
        assert {m: after[m] for m in before} == before

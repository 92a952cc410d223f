"""Tasks belong to the people who work them: end to end on the sandbox, on SQLite and PostgreSQL.
People complete, delete, reassign, re-date, re-prioritise and write notes in tasks between two
runs while the numbers behind those tasks change; the worker keeps what they did."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest

from tests import clock
from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from tests.conftest import make_gateway, make_settings
from tests.emission_helpers import ledger_rows, portal_tasks
from worker.cache.db import Cache
from worker.cycle import run_cycle
from worker.tasks.emission import Emitter
from worker.sync.passes import utcnow
from worker.tasks.texts import find_marker

NOTE = "<p>Called Ana on Monday: she wants the CFO in the meeting.</p>"


@contextmanager
def worked_portal(db_url: str):
    portal = generate_portal(PortalSpec(companies=150, seed=31, bad_data=False))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url)
        cache = Cache(db_url)
        try:
            assert run_cycle(settings, cache=cache).ok
            yield server, settings, cache
        finally:
            cache.close()


def _price_tasks(cache) -> list:
    """Open price-change tasks: their text carries numbers the test can change."""
    return sorted((r for r in ledger_rows(cache) if r.state == "open" and r.rule == "renewal.price_change"), key=lambda r: r.key)


def _task(portal, task_id: str) -> dict:
    return {**portal.table("tasks")[int(task_id)].properties}


def _raise_renewal_price(portal, row) -> None:
    deal = portal.table("deals")[int(row.subscription_id)]
    price = Decimal(deal.properties["renewal_monthly_price"]) + Decimal("111.00")
    portal.update("deals", deal.id, {"renewal_monthly_price": f"{price:.2f}"})


def test_what_people_did_to_tasks_survives_new_numbers_and_later_runs(db_url):
    with worked_portal(db_url) as (server, settings, cache):
        portal = server.portal
        rows = _price_tasks(cache)
        assert len(rows) >= 12, "the generated portal should hold enough price changes"
        completed, deleted, reassigned, noted, redated, archived = rows[0:2], rows[2:4], rows[4:6], rows[6:8], rows[8:10], rows[10:12]
        untouched = rows[12:]
        other_owner = str(next(o.id for o in portal.owners.values() if not o.archived and str(o.id) not in {r.owner_id for r in reassigned}))
        for row in completed:
            portal.person_works_task(int(row.task_id), "complete")
        for row in deleted:
            portal.person_works_task(int(row.task_id), "delete")
        for row in archived:
            portal.person_works_task(int(row.task_id), "archive")
        for row in reassigned:
            portal.person_works_task(int(row.task_id), "edit", {"hubspot_owner_id": other_owner, "hs_task_priority": "LOW"})
        for row in noted:
            body = _task(portal, row.task_id)["hs_task_body"]
            portal.person_works_task(int(row.task_id), "edit", {"hs_task_body": NOTE + body})
        person_due = "1893456000000"  # 2030-01-01, a date nobody's rule would pick
        for row in redated:
            portal.person_works_task(int(row.task_id), "edit", {"hs_timestamp": person_due})
        # ... and meanwhile the numbers behind every one of these tasks change.
        for row in rows:
            _raise_renewal_price(portal, row)
        before = {r.key: _task(portal, r.task_id) for r in rows if int(r.task_id) in portal.table("tasks")}

        for _ in range(2):
            result = run_cycle(settings, cache=cache)
            assert result.ok, result.error
        ledger = {r.key: r for r in ledger_rows(cache)}
        tasks = portal_tasks(portal)  # asserts no task exists twice

        for row in completed:
            assert ledger[row.key].state == "completed_in_hubspot"
            assert _task(portal, row.task_id)["hs_task_status"] == "COMPLETED"  # never reopened
        for row in deleted + archived:
            assert ledger[row.key].state == "dismissed"
        # Neither completed nor deleted tasks were created again: one task per key, ever.
        assert sum(1 for m in tasks if m.startswith("rw1-")) == sum(1 for r in ledger.values() if r.task_id) - len(deleted)
        settled = {r.key for r in completed + deleted + archived}
        assert all(ledger[key].generation == 1 for key in settled)
        for row in reassigned:
            now = _task(portal, row.task_id)
            assert (now["hubspot_owner_id"], now["hs_task_priority"]) == (other_owner, "LOW")
            assert now["hs_task_subject"] != before[row.key]["hs_task_subject"]  # its numbers did move
        for row in noted:
            body = _task(portal, row.task_id)["hs_task_body"]
            assert body.startswith(NOTE) and body != before[row.key]["hs_task_body"]
            assert find_marker(body) == row.marker  # the marker line keeps its format
        for row in redated:
            assert _task(portal, row.task_id)["hs_timestamp"] == person_due
        for row in untouched:
            now = _task(portal, row.task_id)
            assert now["hs_task_subject"] != before[row.key]["hs_task_subject"]
            assert now["hubspot_owner_id"] == before[row.key]["hubspot_owner_id"]
        # The ledger knows what HubSpot showed: the reassigned tasks' real owner.
        assert {ledger[r.key].hubspot_owner_id for r in reassigned} == {other_owner}
        assert result.counts["tasks_read_back"] == sum(1 for r in ledger.values() if r.state == "open")


def test_a_run_right_after_the_tasks_were_written_reads_them_back_with_one_search(sqlite_url):
    with worked_portal(sqlite_url) as (server, settings, cache):
        open_tasks = sum(1 for r in ledger_rows(cache) if r.state == "open")
        server.reset_stats()
        result = run_cycle(settings, cache=cache, steps=("rules", "emit"))
        assert result.ok
        # Every task was modified (created) since the last read-back: one search page of 200.
        assert dict(server.stats.calls) == {"search_objects:tasks": -(-open_tasks // 200)}
        assert result.counts["tasks_read_back"] == open_tasks


def test_a_quiet_run_costs_one_search_and_reads_nothing_else(sqlite_url):
    """Nothing modified since the last read-back: the tasks hold what the worker wrote."""
    with worked_portal(sqlite_url) as (server, settings, cache):
        server.portal.age(timedelta(hours=1))
        server.reset_stats()
        result = run_cycle(settings, cache=cache, steps=("rules", "emit"))
        assert result.ok
        assert dict(server.stats.calls) == {"search_objects:tasks": 1}
        assert result.counts["tasks_read_back"] == 0


def test_before_writing_to_a_task_nobody_touched_lately_the_worker_reads_it(db_url):
    """A person's change the last run already saw (and kept), a deletion no search shows: the
    task the rules want to rewrite is read first, 100 per call, and what people did still wins."""
    with worked_portal(db_url) as (server, settings, cache):
        portal = server.portal
        reassigned, deleted, untouched = _price_tasks(cache)[:3]
        other_owner = str(next(o.id for o in portal.owners.values() if not o.archived and str(o.id) != reassigned.owner_id))
        portal.person_works_task(int(reassigned.task_id), "edit", {"hubspot_owner_id": other_owner})
        assert run_cycle(settings, cache=cache).ok  # seen and kept; the ledger still holds what the worker wrote
        portal.person_works_task(int(deleted.task_id), "delete")
        portal.age(timedelta(hours=1))  # ... an hour later, nothing else modified
        for row in (reassigned, deleted, untouched):
            _raise_renewal_price(portal, row)
        before = {row.key: _task(portal, row.task_id) for row in (reassigned, untouched)}
        server.reset_stats()
        result = run_cycle(settings, cache=cache)
        assert result.ok, result.error
        assert server.stats.calls["search_objects:tasks"] == 1
        assert server.stats.calls["batch_read_objects:tasks"] == 1  # the three tasks to rewrite, in one read
        ledger = {r.key: r for r in ledger_rows(cache)}
        assert ledger[deleted.key].state == "dismissed"
        assert int(deleted.task_id) not in portal.table("tasks") and ledger[deleted.key].generation == 1
        now = _task(portal, reassigned.task_id)
        assert now["hubspot_owner_id"] == other_owner  # the person's owner, though the ledger had the worker's
        assert now["hs_task_subject"] != before[reassigned.key]["hs_task_subject"]  # the numbers did move
        assert _task(portal, untouched.task_id)["hs_task_subject"] != before[untouched.key]["hs_task_subject"]


def test_a_task_deleted_where_the_worker_has_nothing_to_write_is_seen_within_a_day(sqlite_url):

    with worked_portal(sqlite_url) as (server, settings, cache):
        row = _price_tasks(cache)[0]
        server.portal.person_works_task(int(row.task_id), "delete")
        server.portal.age(timedelta(hours=1))
        assert run_cycle(settings, cache=cache, steps=("rules", "emit")).ok
        assert {r.key: r for r in ledger_rows(cache)}[row.key].state == "open"  # no search shows a deletion
        tomorrow = clock.now() + timedelta(hours=25)
        server.reset_stats()
        assert run_cycle(settings, cache=cache, steps=("rules", "emit"), clock=lambda: tomorrow).ok
        assert {r.key: r for r in ledger_rows(cache)}[row.key].state == "dismissed"
        open_tasks = sum(1 for r in ledger_rows(cache) if r.state == "open")
        assert server.stats.calls["batch_read_objects:tasks"] >= -(-open_tasks // 100)  # the day-old ones, all read


@pytest.mark.parametrize("action", ["complete", "delete"])
def test_the_digest_and_open_tasks_list_only_what_is_open_in_hubspot(sqlite_url, action):
    from worker import reports

    with worked_portal(sqlite_url) as (server, settings, cache):
        row = _price_tasks(cache)[0]
        server.portal.person_works_task(int(row.task_id), action)
        assert run_cycle(settings, cache=cache).ok
        if action == "delete":
            # No search shows a deleted task: the digest job reads every open task back first.
            gateway = make_gateway(settings)
            refreshed = Emitter(gateway, cache, settings, clock=utcnow).refresh_from_hubspot()
            gateway.close()
            assert refreshed.dismissed_by_people == 1
        with cache.transaction() as session:
            listed = {t["key"] for t in reports.tasks_data(session, states=["open"])["tasks"]}
        assert row.key not in listed


def test_a_subscription_moved_to_another_company_takes_its_open_tasks_along(db_url):
    from tests.test_emission import serve, small_portal

    portal = small_portal()
    ids = portal.ids
    other = portal.create("companies", {"name": "Nuevo Dueño S.L.", "hubspot_owner_id": str(ids["laura"])})
    beatriz = portal.create("contacts", {"firstname": "Beatriz", "lastname": "Soto", "email": "beatriz@nuevo.example"})
    portal.associate("companies", other.id, "contacts", beatriz.id, primary=True)
    with serve(portal, db_url) as (server, settings, cache):
        assert run_cycle(settings, cache=cache).ok
        deal_tasks = [r for r in ledger_rows(cache) if r.state == "open" and r.subscription_id == str(ids["deal"])]
        assert deal_tasks
        for row in deal_tasks:
            assert set(portal.associated("tasks", int(row.task_id), "companies")) == {ids["company"]}
            assert set(portal.associated("tasks", int(row.task_id), "contacts")) == {ids["contact"]}
        # The subscription moves to the other client (an association change: no modified date moves).
        portal.dissociate("deals", ids["deal"], "companies", ids["company"])
        portal.associate("deals", ids["deal"], "companies", other.id, primary=True)
        result = run_cycle(settings, cache=cache)
        assert result.ok, result.error
        assert result.counts["tasks_moved"] == len(deal_tasks)
        for row in deal_tasks:
            assert set(portal.associated("tasks", int(row.task_id), "companies")) == {other.id}
            assert set(portal.associated("tasks", int(row.task_id), "contacts")) == {beatriz.id}
        moved = {r.key: r for r in ledger_rows(cache)}
        assert {(moved[r.key].company_id, moved[r.key].contact_id) for r in deal_tasks} == {(str(other.id), str(beatriz.id))}
        assert run_cycle(settings, cache=cache).counts["tasks_moved"] == 0  # once


def test_tasks_whose_owner_and_fallback_are_deactivated_are_unassigned_once(sqlite_url):
    """Tasks the rules now leave unassigned (the owner and the fallback deactivated) are
    unassigned once, not "updated" again on every run."""
    from tests.test_emission import serve, small_portal

    portal = small_portal()
    with serve(portal, sqlite_url, reminders={"fallback_owner_id": str(portal.ids["ops"])}) as (server, settings, cache):
        first = run_cycle(settings, cache=cache)
        assert first.ok and first.counts["tasks_created"] > 0
        portal.owners[portal.ids["laura"]].archived = True
        portal.owners[portal.ids["ops"]].archived = True
        unassigned = run_cycle(settings, cache=cache)
        assert unassigned.ok and unassigned.counts["tasks_updated"] == first.counts["tasks_created"]
        assert {t.get("hubspot_owner_id") or None for t in portal_tasks(portal).values()} == {None}
        again = run_cycle(settings, cache=cache)
        assert again.ok and again.counts["tasks_updated"] == 0

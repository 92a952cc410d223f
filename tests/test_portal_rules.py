"""A portal's own rules on writes (HubSpot applies them to API writes since the 2026-09 API version):
a rule every task breaks stops emission at once, named once; an error that names one input fails
only that input; an owner deactivated between the sync and the emission gives way to the fallback."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from integrations.hubspot.error_mapping import _problems
from integrations.hubspot.errors import BadRequest, InputProblem
from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.portal import RequiredProperty
from integrations.hubspot.sandbox.server import ALL_SCOPES
from integrations.hubspot.types import TaskDraft, TaskFields
from integrations.hubspot.writes import refusal_of
from tests.conftest import make_settings
from tests.emission_helpers import assert_exactly_once, ledger_rows
from tests.test_cli import TOKEN, run_cli, sandbox_config
from worker.cache.db import Cache
from worker.cache.models import Finding
from worker.cycle import run_cycle
from worker.settings import ConfigError, load_settings


def _portal(companies: int, **rules) -> object:
    portal = generate_portal(PortalSpec(companies=companies, seed=8, bad_data=False))
    portal.task_rules = [RequiredProperty(name, tuple(when.items())) for name, when in rules.items()]
    return portal


def test_a_required_task_property_stops_emission_at_once_and_the_setting_fixes_it(tmp_path):
    portal = _portal(150, renewal_reason={})
    with SandboxHubSpot(portal, tokens={TOKEN: ALL_SCOPES}, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        config = sandbox_config(server, tmp_path)
        done = run_cli(tmp_path, "--sync-now", config=config)
        assert done.returncode == 1
        [line] = [line for line in done.stderr.splitlines() if line.startswith("renewal-worker:")]
        assert "renewal_reason" in line and "[reminders.task_properties]" in line and "stay pending" in line
        # A handful of create calls (the batches already in flight), not one per task.
        assert server.stats.calls["batch_create_objects:tasks"] <= 4
        assert portal.table("tasks") == {}
        cache = Cache(f"sqlite:///{tmp_path / 'cache.db'}")
        try:
            rows = ledger_rows(cache)
            assert rows and {r.state for r in rows} == {"pending"} and all(r.attempts == 0 for r in rows)
            summary = [json.loads(x) for x in done.stderr.splitlines() if x.startswith("{") and '"cycle.finished"' in x][0]
            assert summary["counts"]["tasks_pending"] > 100  # the unsent count too

            server.reset_stats()
            fixed = run_cli(tmp_path, "--sync-now", config=config + '[reminders.task_properties]\nrenewal_reason = "Renewal"\n')
            assert fixed.returncode == 0, fixed.stderr
            tasks = assert_exactly_once(portal, cache)
            assert len(tasks) == summary["counts"]["tasks_pending"]
            assert {t["renewal_reason"] for t in tasks.values()} == {"Renewal"}
            # Nothing was looked up by marker first: a refused create is known not to exist.
            assert "batch_read_associations:deals:tasks" not in server.stats.calls
        finally:
            cache.close()


def test_a_conditionally_required_property_the_worker_does_not_set_also_stops_at_once(sqlite_url):
    portal = _portal(40, renewal_reason={"hs_task_priority": "HIGH"})
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        result = run_cycle(make_settings(server.url, sqlite_url))
        assert not result.ok and "renewal_reason" in result.error
        assert server.stats.calls["batch_create_objects:tasks"] <= 4


def test_an_error_naming_one_input_fails_only_that_input(db_url):
    portal = generate_portal(PortalSpec(companies=60, seed=8, bad_data=False))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url)
        cache = Cache(db_url)
        try:
            assert run_cycle(settings, cache=cache, steps=("sync",)).ok
            # One owner is deactivated after the sync read it: HubSpot refuses that owner's new tasks.
            plan = run_cycle(settings, cache=cache, steps=("rules", "emit"), dry_run=True).emission
            owners = [c.owner_id for c in plan.changes if c.action == "create" and c.owner_id]
            gone = max(set(owners), key=owners.count)
            portal.owners[int(gone)].archived = True
            result = run_cycle(settings, cache=cache, steps=("rules", "emit"))
            assert result.ok, result.error
            assert result.counts["tasks_created"] == len([c for c in plan.changes if c.action == "create"])
            tasks = assert_exactly_once(portal, cache)
            moved = [r for r in ledger_rows(cache) if r.key in {c.key for c in plan.changes if c.owner_id == gone}]
            assert moved and all(r.state == "open" and r.owner_id is None for r in moved)  # no fallback: unassigned
            assert all(not tasks[r.marker].get("hubspot_owner_id") for r in moved)
            others = [r for r in ledger_rows(cache) if r.owner_id not in (None, gone)]
            assert others and all(tasks[r.marker]["hubspot_owner_id"] == r.owner_id for r in others)
            with cache.transaction() as session:
                found = session.exec(select(Finding).where(Finding.rule == "owner.deactivated", Finding.resolved_at.is_(None))).all()
            assert {(f.object_type, f.object_id) for f in found} >= {(r.object_type, r.object_id) for r in moved}
        finally:
            cache.close()


def test_an_owner_refused_at_creation_gives_way_to_the_fallback_owner(sqlite_url):
    portal = generate_portal(PortalSpec(companies=30, seed=8, bad_data=False))
    fallback = portal.add_owner("Ops", "Desk")
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url, reminders={"fallback_owner_id": str(fallback.id)})
        cache = Cache(sqlite_url)
        try:
            assert run_cycle(settings, cache=cache, steps=("sync",)).ok
            for owner in portal.owners.values():  # every owner but the fallback leaves
                owner.archived = owner.id != fallback.id
            result = run_cycle(settings, cache=cache, steps=("rules", "emit"))
            assert result.ok, result.error
            tasks = assert_exactly_once(portal, cache)
            assert tasks and {t["hubspot_owner_id"] for t in tasks.values()} == {str(fallback.id)}
        finally:
            cache.close()


# --------------------------------------------------------------------------- pure: the answer read


def _drafts(n: int) -> list[TaskDraft]:
    return [TaskDraft(trace_id=f"rw1-{i:016x}", fields=TaskFields(subject=f"task {i}")) for i in range(n)]


def test_hubspots_error_details_are_read_with_their_property_and_input():
    body = {"category": "VALIDATION_ERROR", "errors": [
        {"message": 'Property "renewal_reason" is required', "code": "REQUIRED_PROPERTY", "context": {"propertyName": ["renewal_reason"]}},
        {"message": "77 is not a valid owner id", "code": "INVALID_OWNER_ID", "in": "inputs[3].properties"},
        {"message": 'Property "region" is required'},
        "not an object",
    ]}
    problems = _problems(body)
    assert problems[0] == InputProblem("REQUIRED_PROPERTY", 'Property "renewal_reason" is required', "renewal_reason", None)
    assert problems[1].input_index == 3 and problems[1].invalid_owner
    error = BadRequest("refused", category="VALIDATION_ERROR", problems=problems)
    assert error.required_properties == ("renewal_reason", "region") and error.refused_inputs == (3,) and error.invalid_owner


def test_a_refusal_is_every_tasks_only_when_no_task_carries_what_is_required():
    drafts = _drafts(5)
    required = BadRequest("x", problems=(InputProblem("REQUIRED_PROPERTY", 'Property "renewal_reason" is required', "renewal_reason"),))
    assert refusal_of(required, drafts, [{}] * 5, {}).every_task == ("renewal_reason",)
    # Some tasks carry it: the rule is about the others, not about every task.
    assert refusal_of(required, drafts, [{}] * 4 + [{"renewal_reason": "x"}], {}).every_task == ()
    # A fixed property the portal refuses fails every task too.
    bad_option = BadRequest("x", problems=(InputProblem("INVALID_OPTION", "Renewl is not a valid option", "renewal_reason"),))
    assert refusal_of(bad_option, drafts, [{"renewal_reason": "Renewl"}] * 5, {"renewal_reason": "Renewl"}).every_task == ("renewal_reason",)
    named = BadRequest("x", problems=(InputProblem("INVALID_OWNER_ID", "no such owner", "hubspot_owner_id", 2),))
    refusal = refusal_of(named, drafts, [{}] * 5, {})
    assert refusal.every_task == () and refusal.inputs == (drafts[2].trace_id,) and refusal.invalid_owner


@pytest.mark.parametrize(("name", "why"), [("hs_task_subject", "written by the worker itself"), ("Renewal Reason", "not a HubSpot property name")])
def test_task_properties_that_cannot_be_set_are_a_config_error_naming_the_key(tmp_path, name, why):
    config = tmp_path / "config.toml"
    config.write_text(f'[reminders.task_properties]\n"{name}" = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config_path=str(config), environ={"HUBSPOT_ACCESS_TOKEN": "x"})
    assert "reminders.task_properties" in str(raised.value) and why in str(raised.value)


def test_an_owner_deactivated_between_the_sync_and_an_update_gives_way_to_the_fallback(db_url):
    from tests.test_emission import small_portal

    portal = small_portal()
    laura, ops = portal.ids["laura"], portal.ids["ops"]
    portal.owners[laura].archived = True
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url, reminders={"fallback_owner_id": str(ops)})
        cache = Cache(db_url)
        try:
            assert run_cycle(settings, cache=cache).ok  # laura is gone: the tasks go to ops
            # Laura is back when the sync reads the owners, and gone again when the worker
            # gives her tasks back: HubSpot refuses the update.
            portal.owners[laura].archived = False
            assert run_cycle(settings, cache=cache, steps=("sync",)).ok
            portal.owners[laura].archived = True
            result = run_cycle(settings, cache=cache, steps=("rules", "emit"))
            assert result.ok, result.error
            tasks = assert_exactly_once(portal, cache)
            assert {t["hubspot_owner_id"] for t in tasks.values()} == {str(ops)}
            with cache.transaction() as session:
                found = session.exec(select(Finding).where(Finding.rule == "owner.deactivated", Finding.resolved_at.is_(None))).all()
            assert any(f.value == str(laura) and "HubSpot refused owner" in f.message for f in found)
        finally:
            cache.close()

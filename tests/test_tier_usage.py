"""Real tier usage from each client's own portal (issue 24): what the contact-tier rule makes of
measured numbers, the projection of where they are heading, and the reading itself against
sandbox client portals over real HTTP (several at once; one revoked, one answering for another
portal id, one without the email scope; one over each limit), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlmodel import select

from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.generator import ClientPortalSpec, generate_client_portal
from integrations.hubspot.sandbox.server import ALL_SCOPES, DEMO_TOKEN
from tests.conftest import make_settings
from tests.rules_helpers import CONFIG, portfolio, sub
from worker.cache import usage
from worker.cache.db import Cache
from worker.cache.models import Finding
from worker.config_sections import ClientPortalSettings
from worker.cycle import run_cycle
from worker.rules import evaluate
from worker.rules.model import UsagePoint
from worker.rules.projection import TIER_PROJECTION, project
from worker.rules.tier import CONTACT_TIER
from worker.tasks.texts import render

TODAY = date(2026, 12, 2)


def _with_usage(points, **changes):
    found = portfolio(sub(**changes))
    return dataclasses.replace(found, usage={"101": tuple(points)})


def _text(reminder, language="en"):
    subject, body = render(reminder.rule, reminder.facts, reminder.due, language=language, key=reminder.key, task_marker="m")
    return subject + "\n" + body


def test_measured_marketing_contacts_replace_the_typed_ones_and_the_task_says_when():
    measured = UsagePoint(TODAY - timedelta(days=1), 9600, 12_000, 20_000, "measured")
    plan = evaluate(_with_usage([measured], contact_tier=10_000, contacts_used=100, emails_sent=100), TODAY, CONFIG)
    [tier] = [r for r in plan.reminders if r.rule == CONTACT_TIER]
    text = _text(tier)
    assert "Contact tier nearly used up" in text
    assert "9,600 of 10,000 (96" in text and "measured on December 1, 2026 in the client's own HubSpot portal" in text
    assert "20,000 of 100,000" in text  # the month's emails, measured
    assert "medidos el 1 de diciembre de 2026" in _text(tier, "es")
    # A reading a week old no longer stands for today: the typed numbers (under the tier) rule.
    stale = replace(measured, measured_on=TODAY - timedelta(days=8))
    assert not [r for r in evaluate(_with_usage([stale], contact_tier=10_000, contacts_used=100, emails_sent=100), TODAY, CONFIG).reminders if r.rule == CONTACT_TIER]


def test_a_new_days_count_does_not_rewrite_the_task_a_new_level_does():
    def tier_facts(count):
        plan = evaluate(_with_usage([UsagePoint(TODAY, count, None, 0, "measured")], contact_tier=10_000, contacts_used=None, emails_sent=None), TODAY, CONFIG)
        return next(r.facts for r in plan.reminders if r.rule == CONTACT_TIER)

    from worker.tasks.texts import fingerprint

    assert fingerprint(tier_facts(9_100)) == fingerprint(tier_facts(9_400))
    assert fingerprint(tier_facts(9_400)) != fingerprint(tier_facts(10_100))


def _growing(per_month: int, now: int, days_back: int = 60, step: int = 30):
    return [
        UsagePoint(TODAY - timedelta(days=back), round(now - per_month * back / 30.44), None, None, "estimated" if back else "measured")
        for back in range(days_back, -1, -step)
    ]


def test_a_projection_weeks_ahead_when_the_pace_reaches_the_tier_before_the_renewal():
    points = _growing(600, 8_000)  # +600 a month: 10,000 in 100 days; the renewal is in 120
    plan = evaluate(_with_usage(points, contact_tier=10_000, contacts_used=None, renewal_date=TODAY + timedelta(days=119)), TODAY, CONFIG)
    [projection] = [r for r in plan.reminders if r.rule == TIER_PROJECTION]
    reach = TODAY + timedelta(days=102)
    assert projection.facts["_reach_on"] in {(reach + timedelta(days=d)).isoformat() for d in (-2, -1, 0, 1, 2)}
    assert projection.due < date.fromisoformat(projection.facts["_reach_on"]) - timedelta(days=30)
    text = _text(projection)
    assert "At +600 marketing contacts a month" in text and "its 10,000-contact tier around" in text and "3 readings since October 3, 2026" in text
    [basis] = [f for f in plan.findings if f.rule == TIER_PROJECTION]
    assert "+600 a month over 3 readings" in basis.message and "(2 estimated from contacts' create dates)" in basis.message


@pytest.mark.parametrize(
    "points, changes",
    [
        (_growing(600, 8_000, days_back=20, step=10), {}),  # 20 days of readings: too little to trust a pace
        (_growing(-200, 8_000), {}),  # shrinking
        (_growing(100, 8_000), {}),  # at this pace the tier comes after the renewal
        (_growing(600, 9_200), {}),  # already at the warning: the contact-tier task says it
    ],
)
def test_no_projection_without_a_trustworthy_pace_that_reaches_the_tier_in_time(points, changes):
    plan = evaluate(_with_usage(points, contact_tier=10_000, contacts_used=None, renewal_date=TODAY + timedelta(days=119), **changes), TODAY, CONFIG)
    assert not [r for r in plan.reminders if r.rule == TIER_PROJECTION]


def test_the_pace_is_a_line_through_the_readings():
    points = [UsagePoint(TODAY - timedelta(days=d), c) for d, c in ((90, 1000), (60, 1300), (30, 1500), (0, 1900))]
    found = project(points, 5000, TODAY)
    assert found is not None and 270 <= found.per_month <= 300 and found.readings == 4


# ----------------------------------------------------------------------------- over real HTTP

PORTALS = {  # client portal id → (marketing contacts, emails this month); company index
    7001: (980, 1_000),  # over 90% of a 1,000 tier: warning
    7002: (300, 12_000),  # over the 10× emails limit of a 1,000 tier
    7003: (200, 0),  # its token is revoked
    7004: (200, 0),  # its token answers for another portal
    7005: (200, 0),  # its token lacks the content scope
}


def _client_setup(tmp_path):
    portal = generate_portal(PortalSpec(companies=8, seed=11, bad_data=False, subscriptions_per_company=(1, 1)))
    companies = sorted(portal.table("companies"))
    for company_id, portal_id in zip(companies, PORTALS):
        portal.update("companies", company_id, {"hubspot_portal_id": str(portal_id)})
    portal.update("companies", companies[6], {"hubspot_portal_id": "../../etc/passwd"})  # hostile: never a path
    for deal in portal.table("deals").values():
        portal.update("deals", deal.id, {"contact_tier": "1000", "contacts_used": "10", "marketing_emails_sent_month": "10", "renewal_date": (TODAY + timedelta(days=60)).isoformat(), "dealstage": "renewal_open"})
    tokens_dir = tmp_path / "client-tokens"
    tokens_dir.mkdir()
    clients, scopes = {}, {}
    for portal_id, (marketing, emails) in PORTALS.items():
        token = f"pat-client-{portal_id}-0000-1111"
        (tokens_dir / f"{portal_id}.token").write_text(token + "\n")
        (tokens_dir / f"{portal_id}.token").chmod(0o600)
        answers_for = 9999 if portal_id == 7004 else portal_id
        clients[token] = generate_client_portal(ClientPortalSpec(answers_for, marketing, growth_per_month=10, emails_this_month=emails))
        if portal_id != 7003:
            scopes[token] = ALL_SCOPES - ({"content"} if portal_id == 7005 else set())
    return portal, clients, scopes, tokens_dir, [str(c) for c in companies]


def _settings(server, database_url, tokens_dir, **portals):
    return dataclasses.replace(
        make_settings(server.url, database_url),
        client_portals=ClientPortalSettings(**{
            "tokens_dir": str(tokens_dir), "base_url": server.url, "requests_per_10s": 1_000, "search_requests_per_s": 100,
            "backoff_initial_s": 0.01, "backoff_max_s": 0.02, **portals,
        }),
    )


def _serving(portal, clients, scopes):
    server = SandboxHubSpot(portal, tokens={DEMO_TOKEN: ALL_SCOPES, **scopes}, requests_per_10s=10_000, search_requests_per_s=1_000)
    server.client_portals.update(clients)
    return server


def test_client_portals_are_read_each_with_its_own_token_and_failures_are_findings(tmp_path, db_url):
    portal, clients, scopes, tokens_dir, companies = _client_setup(tmp_path)
    with _serving(portal, clients, scopes) as server:
        settings = _settings(server, db_url, tokens_dir)
        cache = Cache(db_url)
        try:
            result = run_cycle(settings, cache=cache, force_usage=True)
            assert result.ok, result.error
            assert result.counts["usage_measured"] == 2 and result.counts["usage_not_read"] == 3
            with cache.transaction() as session:
                history = usage.history(session)
                findings = {(f.rule, f.object_id): f for f in session.exec(select(Finding).where(Finding.resolved_at.is_(None)))}
            by_company = dict(zip(companies, PORTALS))
            assert {by_company[c] for c in history} == {7001, 7002}
            measured = {by_company[c]: [p for p in points if p.source == "measured"][0] for c, points in history.items()}
            assert measured[7001].marketing_contacts == 980 and measured[7002].emails_sent_month == 12_000
            assert ("usage.token_revoked", companies[2]) in findings and ("usage.wrong_portal", companies[3]) in findings
            scope = findings[("usage.missing_scope", companies[4])]
            assert "content" in scope.message
            assert "answers for portal 9999, not 7004" in findings[("usage.wrong_portal", companies[3])].message
            assert ("usage.bad_portal_id", companies[6]) in findings
            # Nothing of the portal that answered for another id was kept; nothing revoked is zero.
            assert companies[3] not in history and companies[2] not in history
            # Each token went to its own portal only; the partner's token never asked for usage.
            for (token, route), calls in server.calls_by_token.items():
                if token == DEMO_TOKEN:
                    assert route != "email_statistics"
                else:
                    assert token in clients
            per_token = {}
            for (token, _route), calls in server.calls_by_token.items():
                per_token[token] = per_token.get(token, 0) + calls
            assert all(calls <= 6 for token, calls in per_token.items() if token != DEMO_TOKEN)
            # The tasks cite what was measured.
            tier_tasks = [t for t in portal.table("tasks").values() if "Contact tier" in (t.properties.get("hs_task_subject") or "")]
            bodies = " ".join(t.properties.get("hs_task_body") or "" for t in tier_tasks)
            assert "980 of 1,000" in bodies and "12,000 of 10,000" in bodies and "measured on" in bodies
            # renewals --json / --csv carry what was measured, with its day and source.
            from worker import reports
            from worker.rules.calendar import local_date
            from worker.sync.passes import utcnow

            with cache.transaction() as session:
                data = reports.renewals_data(session, settings, local_date(utcnow(), settings.tz), 120)
            row = next(r for r in data["renewals"] if r["company_id"] == companies[0])
            assert row["usage_measured"]["marketing_contacts"] == 980 and row["usage_measured"]["source"] == "client portal"
            assert row["contacts_used"] == 10  # the typed number stays where it was
            assert next(r for r in data["renewals"] if r["company_id"] == companies[2])["usage_measured"] is None
            header, *lines = reports.renewals_csv(data).splitlines()
            assert header.endswith("measured_marketing_contacts,measured_contacts,measured_emails_sent_month,measured_on,projected_tier_reached_on")
            # The client page draws the readings against the tier, on the server.
            from starlette.testclient import TestClient

            from worker.reports.panel.app import build_app

            page = TestClient(build_app(settings, cache)).get(f"/clients/{companies[0]}").text
            assert 'class="usage-chart"' in page and 'role="img"' in page and "980 marketing contacts of the 1,000-contact tier (98%)" in page
            assert page.count('class="estimated"') == 2 and page.count('class="measured"') == 1
            assert 'class="usage-chart"' not in TestClient(build_app(settings, cache)).get(f"/clients/{companies[2]}").text
            # A second run the same day reads no portal again (at most once a day), and keeps the findings.
            again = run_cycle(settings, cache=cache)
            assert again.ok and again.counts["usage_measured"] == 0 and again.counts["usage_skipped_today"] == 5
            with cache.transaction() as session:
                assert len(session.exec(select(Finding).where(Finding.rule == "usage.token_revoked", Finding.resolved_at.is_(None))).all()) == 1
        finally:
            cache.close()


def test_a_garbled_answer_from_a_client_portal_is_retried_and_never_recorded_as_zero(tmp_path, sqlite_url):
    portal, clients, scopes, tokens_dir, companies = _client_setup(tmp_path)
    from integrations.hubspot.sandbox.faults import Fault

    with _serving(portal, clients, scopes) as server:
        # Every email statistics answer an empty object (no aggregate: not "nothing was sent").
        server.add_fault(Fault(match="GET /marketing/", kind="garble", garble="empty_object", times=40))
        settings = _settings(server, sqlite_url, tokens_dir, max_attempts=2)
        cache = Cache(sqlite_url)
        try:
            result = run_cycle(settings, cache=cache, force_usage=True)
            assert result.ok, result.error
            with cache.transaction() as session:
                assert usage.history(session) == {}
                unreadable = len(session.exec(select(Finding).where(Finding.rule == "usage.unreadable")).all())
            assert unreadable == 2  # the two portals that would have answered
        finally:
            cache.close()


def test_check_access_lists_each_client_portal_without_writing(tmp_path, sqlite_url):
    from worker import access

    portal, clients, scopes, tokens_dir, companies = _client_setup(tmp_path)
    (tokens_dir / "not-a-portal.token").write_text("x")
    with _serving(portal, clients, scopes) as server:
        ok, lines = access.run_with_own_gateway(_settings(server, sqlite_url, tokens_dir))
        assert not any(name.startswith(("batch_create", "batch_update")) for name in server.stats.calls)
    shown = {line[14:].split(":")[0].strip(): line for line in lines}
    assert ok, lines  # a client portal that cannot be read never stops the worker
    assert shown["[client_portals] portal_id_property = 'hubspot_portal_id'"].startswith("ok ")
    assert shown["client portal 7001"].startswith("ok ") and shown["client portal 7002"].startswith("ok ")
    assert shown["client portal 7003"].startswith("revoked ")
    assert shown["client portal 7004"].startswith("wrong portal ") and "answers for portal 9999" in shown["client portal 7004"]
    assert shown["client portal 7005"].startswith("missing scope ") and "content" in shown["client portal 7005"]
    assert "must be a HubSpot portal id" in shown["client portal not-a-portal"]
    assert not any("pat-client" in line for line in lines)


def test_a_sync_now_with_client_portals_never_logs_their_keys_and_exits_0(tmp_path):
    from tests.test_cli import TOKEN, run_cli, sandbox_config

    portal, clients, scopes, tokens_dir, companies = _client_setup(tmp_path)
    (tokens_dir / "7001.token").chmod(0o644)  # readable by others: used, with a warning
    with _serving(portal, clients, {TOKEN: ALL_SCOPES, **scopes}) as server:
        extra = f'[client_portals]\ntokens_dir = "{tokens_dir}"\nbase_url = "{server.url}"\nrequests_per_10s = 1000\nsearch_requests_per_s = 100\nbackoff_initial_s = 0.01\nbackoff_max_s = 0.02\n'
        done = run_cli(tmp_path, "--sync-now", config=sandbox_config(server, tmp_path, extra))
    assert done.returncode == 0, done.stderr
    assert "pat-client" not in done.stdout + done.stderr
    assert "client_portals.token_file_readable" in done.stderr and "7001.token" in done.stderr
    assert '"usage_measured": 2' in done.stderr and '"usage_not_read": 3' in done.stderr

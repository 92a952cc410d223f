"""The renewals panel over a sandbox-synced cache, through HTTP (Starlette's test client), and
its pure parts: the query, the filters, the pages, the timeline, the links."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select
from starlette.testclient import TestClient

from tests import clock
from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from tests.clock import child_env
from tests.conftest import make_settings
from worker.cache.db import Cache
from worker.config_sections import ServiceProperties
from worker.demo import DEMO_SERVICE_PROPERTIES
from worker.cache.models import HubSpotAccount
from worker.cycle import run_cycle
from worker.reports.panel import i18n, views
from worker.reports.panel.app import SECURITY_HEADERS, build_app
from worker.reports import renewals_csv, renewals_data
from worker.sync.passes import utcnow

HOSTILE = "<script>alert(1)</script> S.A."


def worked_cache(folder, companies: int):
    """A portal with every hostile value and both kinds of renewal, synced and its tasks created
    once; the panel's cache."""
    portal = generate_portal(PortalSpec(companies=companies, seed=17, hostile_showcase=True, service_contracts=True))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, f"sqlite:///{folder / 'cache.db'}", services={"properties": ServiceProperties(**DEMO_SERVICE_PROPERTIES)})
        result = run_cycle(settings)
        assert result.ok, result.error
    return settings, Cache.existing(settings.database.url), portal


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    settings, cache, portal = worked_cache(tmp_path_factory.mktemp("panel"), 60)
    yield settings, cache, portal
    cache.close()


@pytest.fixture
def client(synced):
    settings, cache, _ = synced
    return TestClient(build_app(settings, cache))


def _today(settings):
    return clock.local_today(settings.tz)


def test_the_renewals_page_lists_every_renewal_within_the_horizon_soonest_first(synced, client):
    settings, cache, _ = synced
    with cache.transaction() as session:
        expected = renewals_data(session, settings, _today(settings), settings.reminders.horizon_days)["renewals"]
    page = client.get("/")
    assert page.status_code == 200
    assert f'<p class="count" id="total">{len(expected)} renewals</p>' in page.text
    rows = page.text.split('<tbody>')[1].split('</tbody>')[0].count("<tr data-record-id=")
    assert rows == min(len(expected), views.PAGE_SIZE)


def test_hubspot_text_is_shown_as_text_never_as_markup_or_control_codes(client):
    text = client.get("/").text
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; S.A." in text
    assert "\x1b" not in text and "\\x1b]0;pwned" in text  # the terminal escape, shown inert
    assert "\u202e" not in text and "\\u202e" in text


def test_every_answer_carries_the_security_headers_and_only_get_and_head_are_served(client):
    for path in ("/", "/findings", "/runs", "/static/panel.css", "/clients/1"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert "script-src" not in SECURITY_HEADERS["content-security-policy"]  # default-src 'none': no script at all
    assert client.head("/").status_code == 200
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/").status_code == 405


def test_the_csv_link_gives_what_renewals_csv_gives(synced, client):
    settings, cache, _ = synced
    with cache.transaction() as session:
        expected = renewals_csv(renewals_data(session, settings, _today(settings), settings.reminders.horizon_days))
    response = client.get("/renewals.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text == expected
    assert "'=HYPERLINK(" in response.text and ",=HYPERLINK" not in response.text  # a formula stays text


def test_filters_sort_and_page_survive_in_the_query_string(synced, client):
    settings, cache, _ = synced
    with cache.transaction() as session:
        rows = renewals_data(session, settings, _today(settings), 400)["renewals"]
    owner = max({r["owner"]["id"] for r in rows if r["owner"]["id"]}, key=lambda o: sum(r["owner"]["id"] == o for r in rows))
    page = client.get(f"/?within=400&owner={owner}&sort=change&dir=desc")
    mine = [r for r in rows if r["owner"]["id"] == owner]
    assert f'id="total">{len(mine)} renewals<' in page.text
    assert f'<option value="{owner}" selected>' in page.text and 'value="400"' in page.text
    # Sort links keep the filters.
    assert f"owner={owner}" in page.text.split('class="renewals"')[1].split("</thead>")[0]
    with_findings = client.get("/?within=400&findings=1").text
    assert f'id="total">{sum(1 for r in rows if r["open_findings"])} renewals<' in with_findings


def test_the_client_page_shows_the_client_its_subscriptions_tier_usage_findings_and_tasks(synced, client):
    settings, cache, portal = synced
    with cache.transaction() as session:
        rows = renewals_data(session, settings, _today(settings), 400)["renewals"]
        account = session.get(HubSpotAccount, 1)
    row = next(r for r in rows if r["company_id"])
    page = client.get(f"/clients/{row['company_id']}").text
    assert "Subscriptions" in page and "Contact tier" in page and "The worker&#39;s tasks" in page
    assert f"/record/0-3/{row['subscription_id']}" in page  # the subscription (a deal here) in HubSpot
    assert f"https://{account.ui_domain}/contacts/{account.portal_id}/record/0-2/{row['company_id']}" in page
    assert client.get("/clients/999999999").status_code == 404


def test_the_client_page_names_the_partners_people_on_the_client(synced, client):
    """Its owner, any other owner HubSpot records on the company (hs_all_owner_ids) and its team,
    each owner with the teams the owners API lists."""
    settings, cache, portal = synced
    company = next(c for c in portal.table("companies").values() if ";" in (c.properties.get("hs_all_owner_ids") or ""))
    owner_id, other_id = company.properties["hs_all_owner_ids"].split(";")
    owner, other = portal.owners[int(owner_id)], portal.owners[int(other_id)]
    page = client.get(f"/clients/{company.id}").text
    people = page.split('<ul class="people">', 1)[1].split("</ul>", 1)[0]
    assert f"Company owner: {escape(owner.first_name + ' ' + owner.last_name)}" in people
    assert f"Also an owner: {escape(other.first_name + ' ' + other.last_name)}" in people and f"teams: {other.teams[0][1]}" in people
    team = dict((team_id, name) for team_id, name, _ in owner.teams + other.teams) | {"41": "Customer Success", "42": "Renewals desk", "43": "Onboarding"}
    assert f"The company&#39;s team: {team[company.properties['hubspot_team_id']]}" in people
    assert "Las personas del partner en este cliente" in client.get(f"/clients/{company.id}?lang=es").text


def test_spanish_words_dates_and_money(synced, client):
    page = client.get("/?lang=es").text
    assert "Renovaciones" in page and "<html lang=\"es\">" in page
    assert i18n.money("1234.5", "EUR", "es") in page or "€" in page
    assert i18n.day(date(2027, 3, 1), "es") == "1\u00a0mar\u00a02027"  # on one line
    assert i18n.money("1234.5", "EUR", "es") == "1.234,50\xa0€"
    assert i18n.money("1234.5", "EUR", "en") == "€1,234.50"
    assert i18n.money("10", "NOT-A-CURRENCY", "en") == "10.00 NOT-A-CURRENCY"  # typed in HubSpot: shown as is


def test_basic_authentication_when_credentials_are_set(synced):
    settings, cache, _ = synced
    client = TestClient(build_app(settings, cache, credentials="lead:s3cret-pass"))
    assert client.get("/").status_code == 401
    assert client.get("/").headers["www-authenticate"].startswith("Basic")
    wrong = base64.b64encode(b"lead:nope").decode()
    assert client.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    right = base64.b64encode(b"lead:s3cret-pass").decode()
    assert client.get("/", headers={"Authorization": f"Basic {right}"}).status_code == 200
    assert client.get("/", headers={"Authorization": "Basic %%%"}).status_code == 401


def test_findings_and_runs_pages(synced, client):
    findings = client.get("/findings").text
    assert "data.malformed_value" in findings or "data." in findings
    runs = client.get("/runs").text
    assert "sync:full" in runs and "ok" in runs


# --------------------------------------------------------------------------- pure parts


def _row(n, **kw):
    base = {"subscription_id": str(n), "company_id": str(100 + n), "client": f"C{n}", "renewal_date": date(2027, 1, 1) + timedelta(days=n),
            "deadline": None, "days_left": n, "change_percent": None, "current_monthly_price": None, "renewal_monthly_price": None,
            "owner": {"id": "o1", "name": "Ana", "active": True}, "communication_owner": None, "open_findings": [], "kind": "subscription"}
    return {**base, **kw}


def test_a_hand_edited_query_shows_the_default_rather_than_an_error():
    query = views.RenewalQuery.parse({"within": "-5", "sort": "'; drop", "page": "x", "comm": "bogus", "findings": "yes"}, 120)
    assert (query.within, query.sort, query.page, query.comm, query.findings) == (120, "renewal_date", 1, "", False)
    assert views.RenewalQuery.parse({"within": "99999"}, 120).within == 3650
    assert views.RenewalQuery(within=30, owner="7", page=2).link(page=1) == {"within": "30", "owner": "7", "sort": "renewal_date"}


def test_filters_and_sorting():
    rows = [_row(1, change_percent="5.0"), _row(2, owner={"id": "o2", "name": "Bea", "active": True}, change_percent="-3.0"),
            _row(3, communication_owner="partner", open_findings=["data.x"])]
    assert [r["subscription_id"] for r in views.select_renewals(rows, views.RenewalQuery(within=120, owner="o2"))] == ["2"]
    assert [r["subscription_id"] for r in views.select_renewals(rows, views.RenewalQuery(within=120, comm="none"))] == ["1", "2"]
    assert [r["subscription_id"] for r in views.select_renewals(rows, views.RenewalQuery(within=120, findings=True))] == ["3"]
    by_change = views.select_renewals(rows, views.RenewalQuery(within=120, sort="change", descending=True))
    assert [r["subscription_id"] for r in by_change] == ["1", "2", "3"]  # unknown change last


def test_the_kind_filter_and_a_service_contract_never_lacking_a_communication_owner():
    rows = [_row(1), _row(2, kind="service"), _row(3, kind="service", communication_owner=None)]
    assert [r["subscription_id"] for r in views.select_renewals(rows, views.RenewalQuery(within=120, kind="service"))] == ["2", "3"]
    assert [r["subscription_id"] for r in views.select_renewals(rows, views.RenewalQuery(within=120, kind="subscription"))] == ["1"]
    # "not recorded" is a HubSpot subscription's gap; service contracts have no communication owner at all.
    assert [r["subscription_id"] for r in views.select_renewals(rows, views.RenewalQuery(within=120, comm="none"))] == ["1"]
    assert views.RenewalQuery.parse({"kind": "bogus"}, 120).kind == ""
    assert views.RenewalQuery(within=30, kind="service").link()["kind"] == "service"


def test_pages_of_rows():
    assert views.page_of(list(range(250)), 3) == (list(range(200, 250)), 3, 3)
    assert views.page_of(list(range(250)), 9)[1] == 3  # past the end: the last page
    assert views.page_of([], 1) == ([], 1, 1)


def test_the_timeline_counts_renewals_and_deadlines_per_week():
    as_of = date(2027, 1, 1)
    rows = [_row(0, renewal_date=as_of), _row(1, renewal_date=as_of + timedelta(days=6), deadline=as_of + timedelta(days=8)),
            _row(2, renewal_date=as_of + timedelta(days=7)), _row(3, renewal_date=as_of + timedelta(days=200))]
    weeks = views.timeline(rows, as_of)
    assert len(weeks) == 18 and weeks[0].renewals == 2 and weeks[1].renewals == 1 and weeks[1].deadlines == 1
    assert sum(w.renewals for w in weeks) == 3  # beyond 120 days: not drawn
    assert weeks[0].height == 100.0 and weeks[1].height == 50.0  # scaled to the busiest week


def test_record_links_and_usage():
    account = HubSpotAccount(id=1, portal_id=42, ui_domain="app-eu1.hubspot.com", fetched_at=utcnow())
    assert views.record_url(account, "deals", "7") == "https://app-eu1.hubspot.com/contacts/42/record/0-3/7"
    assert views.record_url(account, "2-9999", "7").endswith("/record/2-9999/7")
    assert views.record_url(account, "p_renewals", "7") is None and views.record_url(None, "deals", "7") is None
    assert views.usage_share(50, 100) == 0.5 and views.usage_share(150, 100) == 1.0
    assert views.usage_share(None, 100) is None and views.usage_share(5, 0) is None


# --------------------------------------------------------------------------- the command


def _panel_process(tmp_path, database_url: str, bind: str, env_extra: dict | None = None):
    import subprocess
    import sys

    config = tmp_path / "panel.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n[logging]\nlevel = "warning"\n', encoding="utf-8")
    env = child_env(**(env_extra or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "--config", str(config), "panel", "--bind", bind],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_an_open_bind_without_authentication_is_refused_with_exit_2(synced, tmp_path):
    settings, _, _ = synced
    process = _panel_process(tmp_path, settings.database.url, "0.0.0.0:0")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "refusing to serve the panel on 0.0.0.0:0 without authentication" in stderr and "RENEWAL_WORKER_PANEL_AUTH" in stderr


def test_the_panel_command_serves_the_cache_and_asks_for_its_credentials(synced, tmp_path):
    import re
    import urllib.error
    import urllib.request

    settings, _, _ = synced
    process = _panel_process(tmp_path, settings.database.url, "127.0.0.1:0", {"RENEWAL_WORKER_PANEL_AUTH": "lead:s3cret-pass"})
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": "Basic " + base64.b64encode(b"lead:s3cret-pass").decode()})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200 and "Renewals" in answer.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_panel_never_creates_a_cache(tmp_path):
    process = _panel_process(tmp_path, f"sqlite:///{tmp_path / 'typo.db'}", "127.0.0.1:0")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1 and "no cache at" in stderr and not (tmp_path / "typo.db").exists()


def test_panel_credentials_must_be_user_and_password(tmp_path):
    process = _panel_process(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", "127.0.0.1:0", {"RENEWAL_WORKER_PANEL_AUTH": "just-a-token"})
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "RENEWAL_WORKER_PANEL_AUTH" in stderr and "just-a-token" not in stderr


def test_the_renewals_shown_follow_each_run(tmp_path):
    """The page keeps the renewals it computed while no run has changed the cache since."""
    from worker.cache.models import Subscription

    portal = generate_portal(PortalSpec(companies=30, seed=5, bad_data=False))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, f"sqlite:///{tmp_path / 'cache.db'}")
        assert run_cycle(settings, steps=("sync",)).ok
        cache = Cache.existing(settings.database.url)
        client = TestClient(build_app(settings, cache))
        first = client.get("/?within=400").text
        deal_id, deal = next((i, d) for i, d in portal.table("deals").items() if d.properties.get("renewal_monthly_price"))
        with cache.transaction() as session:
            row = session.get(Subscription, str(deal_id))
            shown = i18n.money(row.renewal_price, row.currency, "en")
        assert shown in first
        portal.update("deals", deal_id, {"renewal_monthly_price": "98765.43"})
        assert client.get("/?within=400").text == first  # nothing ran: the same page
        assert run_cycle(settings, steps=("sync",)).ok
        assert i18n.money("98765.43", row.currency, "en") in client.get("/?within=400").text
        cache.close()


def test_a_connection_that_never_finishes_its_request_is_dropped(synced):
    import socket
    import time

    from worker.reports.panel.server import InThread, listening_socket, server_for

    settings, cache, _ = synced
    panel = InThread(server_for(settings, cache, credentials=None, head_timeout_s=0.5), listening_socket("127.0.0.1", 0)).start()
    try:
        port = panel.port
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # ... and the rest never comes
        started = time.monotonic()
        assert slow.recv(1024) == b""  # closed by the panel
        assert 0.3 < time.monotonic() - started < 3
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)  # sends nothing at all
        assert silent.recv(1024) == b""
        # A whole request is answered, and the connection then waits for the next one.
        ok = socket.create_connection(("127.0.0.1", port), timeout=5)
        ok.sendall(b"GET /runs HTTP/1.1\r\nHost: x\r\n\r\n")
        assert ok.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        panel.stop()


def test_a_client_page_shows_the_discount_the_renewal_manager_and_the_options(tmp_path):
    from worker.cache.models import Subscription
    from worker.config_sections import SubscriptionProperties
    from worker.demo import DEMO_OPTIONAL_PROPERTIES

    portal = generate_portal(PortalSpec(companies=40, seed=5, bad_data=False))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        mapped = SubscriptionProperties(**DEMO_OPTIONAL_PROPERTIES)
        settings = make_settings(server.url, f"sqlite:///{tmp_path / 'cache.db'}", subscriptions={"properties": mapped})
        assert run_cycle(settings, steps=("sync",)).ok
    cache = Cache.existing(settings.database.url)
    with cache.transaction() as session:
        from sqlalchemy import select

        sub = session.execute(
            select(Subscription).where(Subscription.discount_percent.is_not(None), Subscription.renewal_options_url.is_not(None), Subscription.renewal_manager.is_not(None))
        ).scalars().first()
    page = TestClient(build_app(settings, cache)).get(f"/clients/{sub.company_id}").text
    assert f"{i18n.percent(sub.discount_percent, 'en').lstrip('+')} discount until {i18n.day(sub.discount_end_date, 'en')}" in page
    assert f"HubSpot renewal manager: {sub.renewal_manager}" in page
    assert f'<a href="{sub.renewal_options_url}" rel="noopener noreferrer" target="_blank">renewal options ↗</a>' in page
    cache.close()


def test_a_cache_from_an_older_version_is_named_not_crashed_on(tmp_path):
    """After an upgrade, reports and the panel read a cache the new version has not migrated yet
    (they never migrate): one line says what to do."""
    from alembic import command

    from worker.cache.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cache = Cache(url)
    command.downgrade(alembic_config(cache.engine), "-1")
    cache.close()
    process = _panel_process(tmp_path, url, "127.0.0.1:0")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1 and "written by an older renewal-worker" in stderr and "--sync-now" in stderr
    Cache(url).close()  # a writer migrates it
    assert Cache.existing(url) is not None


@pytest.mark.parametrize("path", ["/?page=", "/?page=" + "9" * 5000, "/findings?page=" + "9" * 5000, "/clients/" + "9" * 5000, "/clients/abc", "/?within=" + "9" * 5000])
def test_numbers_the_panel_cannot_use_get_the_default_view_or_404_with_its_headers(client, path):
    page = client.get(path)
    assert page.status_code in (200, 404), page.status_code
    for header, value in SECURITY_HEADERS.items():
        assert page.headers[header] == value


def test_a_page_that_fails_still_answers_with_the_security_headers(synced):
    settings, cache, _ = synced
    app = build_app(settings, cache, clock=lambda: 1 / 0)  # a bug of ours, on every page
    page = TestClient(app, raise_server_exceptions=False).get("/")
    assert page.status_code == 500 and "Traceback" not in page.text
    for header, value in SECURITY_HEADERS.items():
        assert page.headers[header] == value


def test_a_request_head_over_16_kib_is_refused_even_when_sent_whole(client):
    page = client.get("/", headers={"x-padding": "a" * (17 * 1024)})
    assert page.status_code == 431
    assert page.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    assert client.get("/", headers={"x-padding": "a" * 8 * 1024}).status_code == 200


def test_the_timeline_shows_its_weeks_and_counts_in_the_languages_plural_forms(synced, client):
    settings, _, _ = synced
    for lang in ("en", "es"):
        page = client.get(f"/?lang={lang}").text
        labels = re.findall(r'<text class="week-label"[^>]*>([^<]+)</text>', page)
        today = _today(settings)
        assert labels == [i18n.short_day(today + timedelta(weeks=n), lang) for n in range(0, 18, 3)]
        titles = re.findall(r"<title>([^<]+)</title>", page.split("<svg", 1)[1])
        assert titles and not [t for t in titles if re.search(r"\b1 (renewals|deadlines|renovaciones|fechas)\b", t)]


def test_the_findings_page_names_rules_severity_and_clients_and_filters_by_rule(synced, client):
    from worker.cache.models import Company, Finding
    from worker.labels import rule_name, severity

    _, cache, _ = synced
    with cache.transaction() as session:
        open_findings = [f for (f,) in session.execute(select(Finding).where(Finding.resolved_at.is_(None)))]
        names = {c.id: c.name for (c,) in session.execute(select(Company))}
    page = client.get("/findings").text
    assert 'class="badge"' not in page and "severity-" in page
    for code in {f.rule for f in open_findings}:
        assert str(escape(rule_name(code, "en"))) in page
        assert f'<tr class="severity-{severity(code)}" data-rule="{code}">' in page
    about_a_company = next(f for f in open_findings if f.object_type == "company" and names.get(f.object_id) and "<" not in names[f.object_id])
    assert f'<a href="/clients/{about_a_company.object_id}?lang=en">{names[about_a_company.object_id]}</a>' in page
    # Severity in words, never by colour alone.
    assert re.search(r'<span class="severity">(high|medium|low)</span>', page)
    one = about_a_company.rule
    narrowed = client.get(f"/findings?rule={one}").text
    assert set(re.findall(r'data-rule="([^"]+)"', narrowed)) == {one}
    assert f'<small id="total">{sum(1 for f in open_findings if f.rule == one)}</small>' in narrowed
    assert set(re.findall(r'data-rule="([^"]+)"', client.get("/findings?rule=nonsense").text)) == {f.rule for f in open_findings}
    spanish = client.get(f"/findings?rule={one}&lang=es").text
    assert str(escape(rule_name(one, "es"))) in spanish and re.search(r'<span class="severity">(alta|media|baja)</span>', spanish)


def test_the_tasks_page_by_state_and_owner(tmp_path):
    from tests.emission_helpers import ledger_rows

    portal = generate_portal(PortalSpec(companies=15, seed=29, bad_data=False))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, f"sqlite:///{tmp_path / 'cache.db'}")
        assert run_cycle(settings).ok
        cache = Cache.existing(settings.database.url)
        rows = sorted(ledger_rows(cache), key=lambda r: r.key)
        portal.person_works_task(int(rows[0].task_id), "complete")
        portal.person_works_task(int(rows[1].task_id), "complete")
        assert run_cycle(settings, cache=cache).ok
    try:
        client = TestClient(build_app(settings, cache))
        everything = client.get("/tasks").text
        assert f'<small id="total">{len(rows)}</small>' in everything
        people = client.get("/tasks?state=people").text
        assert set(re.findall(r'data-task-key="([^"]+)"', people)) == {rows[0].key, rows[1].key}
        assert people.count("<td>completed by a person</td>") == 2
        open_page = client.get("/tasks?state=open").text
        assert len(re.findall(r'data-state="open"', open_page)) == len(rows) - 2 and 'data-state="completed_in_hubspot"' not in open_page
        owner = next(r.owner_id for r in rows[2:] if r.owner_id)
        mine = client.get(f"/tasks?owner={owner}&lang=es").text
        keys = set(re.findall(r'data-task-key="([^"]+)"', mine))
        expected = {r.key: (r.state, r.hubspot_owner_id, r.owner_id) for r in ledger_rows(cache) if (r.hubspot_owner_id or r.owner_id) == owner}
        assert keys == set(expected)
        assert "Tareas" in mine and "abierta" in mine
    finally:
        cache.close()


def test_the_client_page_says_where_each_renewal_stands(synced, client):
    """As the seed's side panel: who communicates, the deadline the tasks use (the default one
    named as such) and whether it passed, and what the tier's usage means."""
    from worker.cache.models import Subscription

    settings, cache, _ = synced
    today = _today(settings)
    with cache.transaction() as session:
        subs = [s for (s,) in session.execute(select(Subscription).where(Subscription.deleted_at.is_(None), Subscription.company_id.is_not(None)))]
    passed = next(s for s in subs if s.deadline is None and s.renewal_date and s.renewal_date - timedelta(days=45) < today <= s.renewal_date)
    page = client.get(f"/clients/{passed.company_id}").text
    row = page.split(f'data-deadline-state="passed"', 1)[1].split("</tr>", 1)[0]
    assert i18n.day(passed.renewal_date - timedelta(days=45), "en") in row
    assert str(escape("HubSpot's default: renewal − 45 days")) in row and "the renewal terms apply" in row
    over = next((s for s in subs if s.contact_tier and s.contacts_used and s.contacts_used > s.contact_tier), None)
    if over is not None:
        text = client.get(f"/clients/{over.company_id}?lang=es").text
        assert f"Supera el nivel de {i18n.number(over.contact_tier, 'es')} contactos" in text
    near = next(s for s in subs if s.contact_tier and s.contacts_used and 0.9 * s.contact_tier <= s.contacts_used <= s.contact_tier)
    text = client.get(f"/clients/{near.company_id}").text
    assert f"of the {i18n.number(near.contact_tier, 'en')}-contact tier: past it by the renewal" in text
    communication = {"hubspot": "HubSpot", "partner": "Partner", None: "not recorded (HubSpot by default)"}[passed.communication_owner]
    assert f"<td>{communication}</td>" in page

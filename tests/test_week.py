"""The partner's week (``GET /week``): the deadlines of this week and the ones that passed while the
renewal is still ahead, the renewals of this week, the worker's open tasks due by the end of the
week (overdue first), per owner; readable by tools (``data-record-id``, ``data-deadline-state``)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from starlette.testclient import TestClient

from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from tests import clock
from tests.conftest import make_settings
from worker.cache.db import Cache
from worker.cycle import run_cycle
from worker.reports.panel import i18n
from worker.reports.panel.app import build_app
from worker.reports.panel.week import PASSED, SOON, TODAY, LATER, deadline_state, deadlines_this_week, renewing_this_week, week_page
from worker.reports import renewals_data


def test_how_a_deadline_stands_at_each_boundary():
    today = date(2026, 12, 9)
    assert [deadline_state(today + timedelta(days=d), today) for d in (-30, -1, 0, 1, 7, 8)] == [PASSED, PASSED, TODAY, SOON, SOON, LATER]


def _row(record_id, renewal, deadline, as_of, owner="1"):
    return {"subscription_id": record_id, "renewal_date": renewal, "deadline": deadline, "days_left": (renewal - as_of).days, "owner": {"id": owner, "name": None}}


def test_the_weeks_deadlines_lead_with_the_passed_ones_and_its_renewals_are_the_next_seven_days():
    today = date(2026, 12, 9)
    rows = [
        _row("later", today + timedelta(days=60), today + timedelta(days=15), today),
        _row("soon", today + timedelta(days=50), today + timedelta(days=5), today),
        _row("passed", today + timedelta(days=30), today - timedelta(days=15), today),
        _row("today", today + timedelta(days=45), today, today),
        _row("renews", today + timedelta(days=7), today - timedelta(days=38), today),
        _row("no-deadline", today + timedelta(days=3), None, today),
        _row("next-week", today + timedelta(days=8), today - timedelta(days=37), today),
    ]
    assert [r["subscription_id"] for r in deadlines_this_week(rows, today)] == ["renews", "next-week", "passed", "today", "soon"]
    assert [r["subscription_id"] for r in renewing_this_week(rows)] == ["no-deadline", "renews"]


def test_a_big_week_comes_in_pages_and_says_how_many_there_are_in_all():
    """At 10,000 clients a week holds thousands of rows: each list a page at a time, its count
    the whole list's, the lists that ran out say so on the later pages."""
    today = date(2026, 12, 9)
    rows = [_row(f"r{n:03}", today + timedelta(days=30 + n % 20), today - timedelta(days=n % 5), today) for n in range(250)]
    rows += [_row(f"w{n}", today + timedelta(days=n % 7), None, today) for n in range(30)]
    first = week_page(rows, [], today, "", page=1, size=100)
    assert first["totals"] == {"deadlines": 250 + 0, "renewing": 30, "tasks": 0} and first["pages"] == 3
    assert len(first["deadlines"]) == 100 and len(first["renewing"]) == 30
    last = week_page(rows, [], today, "", page=9, size=100)  # past the end: the last page
    assert last["page"] == 3 and len(last["deadlines"]) == 50 and last["renewing"] == []
    shown = [r["subscription_id"] for n in (1, 2, 3) for r in week_page(rows, [], today, "", page=n, size=100)["deadlines"]]
    assert shown == [r["subscription_id"] for r in deadlines_this_week(rows, today)]


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """A portal whose renewals sit at each stage of the week, synced and its tasks created."""
    folder = tmp_path_factory.mktemp("week")
    portal = generate_portal(PortalSpec(companies=20, seed=23, bad_data=False))
    today = clock.local_today()
    deals = [deal_id for deal_id, deal in sorted(portal.table("deals").items()) if deal.properties.get("dealstage") != "closedlost"]
    placed = {
        "passed": (today + timedelta(days=30), today - timedelta(days=15)),
        "soon": (today + timedelta(days=50), today + timedelta(days=3)),
        "later": (today + timedelta(days=70), today + timedelta(days=25)),
        "renews": (today + timedelta(days=5), None),
    }
    ids = {}
    for (name, (renewal, deadline)), deal_id in zip(placed.items(), deals):
        portal.update("deals", deal_id, {"renewal_date": renewal.isoformat(), "renewal_deadline": deadline.isoformat() if deadline else ""})
        ids[name] = str(deal_id)
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, f"sqlite:///{folder / 'cache.db'}")
        assert run_cycle(settings).ok
    cache = Cache.existing(settings.database.url)
    yield settings, cache, ids, today
    cache.close()


def _rows(page: str, section: str) -> list[tuple[str, str]]:
    body = page.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'data-record-id="(\d+)" data-deadline-state="(\w+)"', body)


def test_the_week_page_lists_this_weeks_deadlines_renewals_and_tasks(week):
    settings, cache, ids, today = week
    page = TestClient(build_app(settings, cache)).get("/week")
    assert page.status_code == 200
    deadlines = dict(_rows(page.text, "deadlines"))
    assert deadlines[ids["passed"]] == "passed" and deadlines[ids["soon"]] == "soon" and ids["later"] not in deadlines
    # A passed deadline says so in words, not by colour alone.
    passed_row = page.text.split(f'data-record-id="{ids["passed"]}"', 1)[1].split("</tr>", 1)[0]
    assert f"passed on {i18n.day(today - timedelta(days=15), 'en')}" in passed_row
    assert ids["renews"] in dict(_rows(page.text, "renewing"))
    with cache.transaction() as session:
        every = renewals_data(session, settings, today, 3650)["renewals"]
    assert set(deadlines) == {r["subscription_id"] for r in every if r["deadline"] and r["deadline"] <= today + timedelta(days=7)}
    # Tasks: the open ones due by the end of the week.
    tasks = page.text.split('id="tasks"', 1)[1].split("</section>", 1)[0]
    assert tasks.count("data-task-key=") > 0
    # The navigation leads with the week.
    nav = page.text.split("<nav>", 1)[1].split("</nav>", 1)[0]
    assert nav.index('href="/week') < nav.index('>Renewals</a>')


def test_a_week_later_the_tasks_left_open_are_overdue_and_come_first(week):
    settings, cache, _, today = week
    later = datetime.combine(today + timedelta(days=9), time(12), tzinfo=timezone.utc)
    page = TestClient(build_app(settings, cache, clock=lambda: later)).get("/week?lang=es").text
    tasks = page.split('id="tasks"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr( class=\"overdue\")? data-task-key", tasks)
    assert rows and rows[0] and "atrasada desde" in tasks
    # Overdue first: once a row is not overdue, none after it is.
    flags = [bool(flag) for flag in rows]
    assert flags == sorted(flags, reverse=True)


def test_the_week_of_one_owner(week):
    settings, cache, ids, today = week
    client = TestClient(build_app(settings, cache))
    with cache.transaction() as session:
        every = renewals_data(session, settings, today, 3650)["renewals"]
    owner = next(r["owner"]["id"] for r in every if r["subscription_id"] == ids["passed"])
    page = client.get(f"/week?owner={owner}").text
    shown = {record for record, _ in _rows(page, "deadlines") + _rows(page, "renewing")}
    owners = {r["subscription_id"]: r["owner"]["id"] for r in every}
    assert ids["passed"] in shown and all(owners[record] == owner for record in shown)
    assert f'<option value="{owner}" selected>' in page


def test_the_home_page_filters_by_deadline(week):
    settings, cache, ids, _ = week
    page = TestClient(build_app(settings, cache)).get("/?deadline_within=7").text
    assert f"/clients/" in page and 'name="deadline_within"' in page
    with cache.transaction() as session:
        every = {r["subscription_id"]: r for r in renewals_data(session, settings, clock.local_today(), 3650)["renewals"]}
    shown = re.findall(r'data-record-id="(\d+)"', page)
    assert ids["passed"] in shown and ids["soon"] in shown and ids["later"] not in shown
    assert all(every[record]["deadline"] is not None for record in shown)

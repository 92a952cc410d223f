"""The same answers on any day and at any hour: the rules, the calendar, the texts, the reports and
the panel over the matrix of moments in ``tests.clock`` (weekends, the last minutes of a day and of
a year, a leap day, the four DST changes, midnight in the office's zone)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from integrations.hubspot.sandbox import SandboxHubSpot
from tests import clock
from tests.clock import over_moments
from tests.conftest import make_settings
from tests.emission_helpers import assert_exactly_once
from tests.rules_helpers import CONFIG, portfolio, sub
from tests.test_emission import small_portal
from worker.cache.db import Cache
from worker.cycle import run_cycle
from worker.reports.panel import i18n
from worker.reports.panel.app import build_app
from worker.reports import renewals_data
from worker.rules.calendar import PublicHolidays, due_instant, local_date, working_day
from worker.rules.engine import evaluate
from worker.rules.model import SERVICE
from worker.tasks.texts import render

SATURDAY = 5


def every_kind_of_renewal(as_of: date):
    """Renewals from yesterday to 400 days out, one a day, of both kinds and every way of being
    told about (HubSpot, the partner, nobody), some with a price change and their own deadline."""
    owners = ("hubspot", "partner", None)
    rows = []
    for n, days in enumerate(range(-1, 401)):
        renewal = as_of + timedelta(days=days)
        rows.append(sub(
            id=str(1000 + n), kind=SERVICE if n % 4 == 3 else "subscription", renewal_date=renewal,
            communication_owner=owners[n % 3], renewal_price=Decimal("1320.00") if n % 2 else Decimal("1200.00"),
            deadline=renewal - timedelta(days=30 + n % 40) if n % 5 == 0 else None,
        ))
    return portfolio(*rows)


MADRID = PublicHolidays("ES-MD")


@over_moments
@pytest.mark.parametrize("holidays", [frozenset(), MADRID], ids=["no-holidays", "madrid-holidays"])
def test_every_task_falls_due_on_a_working_day_from_today_on(moment, holidays):
    as_of = clock.local_today(moment.tz)
    config = replace(CONFIG, holidays=holidays)
    plan = evaluate(every_kind_of_renewal(as_of), as_of, config)
    assert len(plan.reminders) > 400
    for reminder in plan.reminders:
        assert reminder.due >= as_of, reminder.key
        assert reminder.due.weekday() < SATURDAY and reminder.step.weekday() < SATURDAY, reminder.key
        assert reminder.due not in holidays and reminder.step not in holidays, (reminder.key, reminder.due)
        # A step still ahead is due on its own (working) day; one already reached, today or on the
        # next working day.
        if reminder.step >= as_of:
            assert reminder.due == reminder.step, reminder.key
        else:
            assert reminder.due == working_day(as_of, not_before=as_of, skip_weekends=True, holidays=holidays), reminder.key


@over_moments
def test_a_renewal_gets_one_task_per_reason_and_none_once_it_has_passed(moment):
    as_of = clock.local_today(moment.tz)
    plan = evaluate(every_kind_of_renewal(as_of), as_of, CONFIG)
    created: dict[tuple[str, str], int] = {}
    for reminder in plan.reminders:
        assert reminder.anchor is None or reminder.facts["renewal_date"] >= as_of.isoformat(), reminder.key
        if reminder.create:
            created[(reminder.rule, reminder.object_id)] = created.get((reminder.rule, reminder.object_id), 0) + 1
    assert set(created.values()) == {1}, "a catch-up creates one task per rule and renewal, not one per missed step"
    renewing_today = next(s for s in every_kind_of_renewal(as_of).subscriptions if s.renewal_date == as_of)
    assert any(r.object_id == renewing_today.id for r in plan.reminders), "a renewal today is not in the past"


@over_moments
def test_every_text_counts_the_days_from_its_due_day_in_both_languages(moment):
    as_of = clock.local_today(moment.tz)
    plan = evaluate(every_kind_of_renewal(as_of), as_of, CONFIG)
    for reminder in plan.reminders:
        for language, pattern in (("en", r"in (\d+) days"), ("es", r"en (\d+) días")):
            subject, body = render(reminder.rule, reminder.facts, reminder.due, language=language, key=reminder.key, task_marker="rw1-0000000000000000")
            assert "{" not in subject + body and "?" not in subject, (reminder.key, subject)
            if reminder.rule == "renewal.deadline" and date.fromisoformat(reminder.facts["deadline"]) < reminder.due:
                # A deadline that passed before the due day is never "today".
                assert ("passed on" in subject or "pasó el" in subject) and " today" not in subject and " hoy" not in subject, subject
            renewal_day = date.fromisoformat(reminder.facts["renewal_date"]) if reminder.facts.get("renewal_date") else None
            if renewal_day is not None and renewal_day < reminder.due:
                # A renewal that happened before its task falls due (on a weekend) is named by its date.
                assert "Renewal today" not in subject and "Renovación hoy" not in subject, subject
            counted = re.search(pattern, subject)
            if counted and reminder.rule == "renewal.milestone":
                renewal = date.fromisoformat(reminder.facts["renewal_date"])
                assert int(counted.group(1)) == (renewal - reminder.due).days, (reminder.key, subject)


# What a text may not offer once the notice deadline has passed by the day it falls due.
STILL_NEGOTIABLE = {
    "en": ("can still cancel", "while there is time to negotiate", "before HubSpot's renewal emails start", "make sure the client has decided"),
    "es": ("aún puede cancelar", "mientras se puede negociar", "antes de que HubSpot empiece", "asegurarse de que el cliente ha decidido"),
}


@over_moments
def test_no_text_offers_to_negotiate_once_the_deadline_has_passed(moment):
    as_of = clock.local_today(moment.tz)
    plan = evaluate(every_kind_of_renewal(as_of), as_of, CONFIG)
    after = 0
    for reminder in plan.reminders:
        deadline = reminder.facts.get("_deadline") or reminder.facts.get("deadline") or reminder.facts.get("tell_by")
        if not deadline or date.fromisoformat(deadline) >= reminder.due:
            continue
        after += 1
        for language, phrases in STILL_NEGOTIABLE.items():
            subject, body = render(reminder.rule, reminder.facts, reminder.due, language=language, key=reminder.key, task_marker="rw1-0000000000000000")
            assert not [p for p in phrases if p in subject + body], (reminder.key, language, body)
    assert after > 50, "the portfolio has renewals past their deadline"


@over_moments
def test_a_task_is_due_at_the_local_due_time_on_every_day_around_the_moment(moment):
    today = clock.local_today(moment.tz)
    assert today == local_date(moment.at, moment.tz)
    for offset in range(-3, 4):
        day_ = today + timedelta(days=offset)
        local = due_instant(day_, "09:00", moment.tz).astimezone(moment.tz)
        assert (local.date(), local.hour, local.minute) == (day_, 9, 0)
        # 02:30 does not exist on a spring-forward day: the task lands just after the gap, that day.
        early = due_instant(day_, "02:30", moment.tz).astimezone(moment.tz)
        assert early.date() == day_ and early.hour in (2, 3)


@over_moments
def test_the_cycle_the_reports_and_the_panel_agree_on_the_day(moment, sqlite_url):
    portal = small_portal(renewal_in=90, tz=moment.timezone)
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url, reminders={"timezone": moment.timezone})
        cache = Cache(sqlite_url)
        try:
            result = run_cycle(settings, cache=cache)
            assert result.ok, result.error
            tasks = assert_exactly_once(portal, cache)
            today = clock.local_today(settings.tz)
            due = working_day(today, not_before=today, skip_weekends=True)
            milestone = next(t for t in tasks.values() if t["hs_task_subject"].startswith("Renewal"))
            assert milestone["hs_task_subject"] == f"Renewal in {90 - (due - today).days} days: Andes Nova S.A."
            with cache.transaction() as session:
                [row] = renewals_data(session, settings, today, settings.reminders.horizon_days)["renewals"]
            assert row["days_left"] == 90 and row["renewal_date"] == today + timedelta(days=90)
            assert row["deadline"] == row["renewal_date"] - timedelta(days=45)
            page = TestClient(build_app(settings, cache)).get("/")
            assert page.status_code == 200
            # The page's "as of" day, the renewal and its deadline: the office's today, counted alike.
            for shown in (today, row["renewal_date"], row["deadline"]):
                assert i18n.day(shown, "en") in page.text, shown
        finally:
            cache.close()

"""The partner's week (``GET /week``): what needs the partner in the next seven days, per owner.

Three lists, from the cache: renewals whose notice deadline falls this week or has already passed
while the renewal is still ahead (the deadline the tasks use: the contract's own, else the
renewal date − 45 days); renewals renewing this week; and the worker's open tasks due by the end
of the week, overdue first. Which rows belong and how a deadline stands are pure functions of the
rows and today's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy import func, select
from sqlmodel import Session

from worker.cache.models import Company, Owner, TaskLedger
from worker.reports.names import full_name
from worker.rules.calendar import local_date
from worker.settings import Settings
from worker.reports.panel.i18n import day
from worker.words import when

WEEK_DAYS = 7
# How a renewal's deadline stands on the day the page is read, for people (words) and tools
# (``data-deadline-state``).
PASSED, TODAY, SOON, LATER = "passed", "today", "soon", "later"
OPEN_STATES = ("open", "pending")
PAGE_SIZE = 100  # rows of each list a page  # the worker's tasks nobody has closed, completed or deleted


def deadline_state(deadline: date, as_of: date, days: int = WEEK_DAYS) -> str:
    if deadline < as_of:
        return PASSED
    if deadline == as_of:
        return TODAY
    return SOON if deadline <= as_of + timedelta(days=days) else LATER


def deadline_words(deadline: date, state: str, as_of: date, language: str, w: dict[str, Any]) -> tuple[str, str]:
    """How the page says a deadline stands, in words (never by colour alone): a headline, and
    what it means for a deadline passed or due today."""
    shown = day(deadline, language)
    if state == PASSED:
        return w["deadline_passed"].format(date=shown), w["deadline_passed_note"]
    if state == TODAY:
        return w["deadline_today"].format(date=shown), w["deadline_today_note"]
    return w["deadline_soon"].format(date=shown, when=when((deadline - as_of).days, language)), ""


def for_owner(rows: Sequence[dict[str, Any]], owner: str) -> list[dict[str, Any]]:
    return [row for row in rows if not owner or row["owner"]["id"] == owner]


def deadlines_this_week(rows: Sequence[dict[str, Any]], as_of: date, days: int = WEEK_DAYS) -> list[dict[str, Any]]:
    """Renewals (still ahead: the rows are active renewals) whose deadline falls by the end of the
    week, passed ones included: soonest deadline first, so the passed ones lead."""
    end = as_of + timedelta(days=days)
    chosen = [row for row in rows if row["deadline"] is not None and row["deadline"] <= end and row["renewal_date"] >= as_of]
    return sorted(chosen, key=lambda row: (row["deadline"], row["renewal_date"], row["subscription_id"]))


def renewing_this_week(rows: Sequence[dict[str, Any]], days: int = WEEK_DAYS) -> list[dict[str, Any]]:
    return sorted((row for row in rows if 0 <= row["days_left"] <= days), key=lambda row: (row["renewal_date"], row["subscription_id"]))


@dataclass(frozen=True)
class WeekTask:
    key: str
    subject: str
    client: str | None
    company_id: str | None
    owner_id: str | None
    owner: str | None
    priority: str
    due: date
    overdue: bool
    state: str
    task_id: str | None


def tasks_this_week(session: Session, settings: Settings, as_of: date, days: int = WEEK_DAYS) -> list[WeekTask]:
    """The worker's open tasks due (on the office's calendar) by the end of the week, overdue
    first, each with the owner HubSpot shows now (a person may have reassigned it), else the one
    the worker wrote, and the client and the owner by name (as ``tasks --json`` shows them). One
    query: a week of a big portfolio is thousands of tasks."""
    end = as_of + timedelta(days=days)
    # Due before the office's midnight after the week's last day (a day's margin either side of
    # the zone: the exact day is the office's, below).
    after_the_week = datetime.combine(end + timedelta(days=2), time(), tzinfo=timezone.utc)
    t = TaskLedger.__table__.c  # type: ignore[attr-defined]
    c = Company.__table__.c  # type: ignore[attr-defined]
    o = Owner.__table__.c  # type: ignore[attr-defined]
    shown_owner = func.coalesce(func.nullif(t.hubspot_owner_id, ""), t.owner_id)
    shown_due = func.coalesce(t.hubspot_due_at, t.due_at)
    query = (
        select(t.key, t.subject, t.company_id, shown_owner, t.priority, t.state, t.task_id, shown_due, c.name, o.first_name, o.last_name, o.email)
        .select_from(TaskLedger.__table__.outerjoin(Company.__table__, c.id == t.company_id).outerjoin(Owner.__table__, o.id == shown_owner))  # type: ignore[attr-defined]
        .where(t.state.in_(OPEN_STATES), shown_due < after_the_week)
    )
    tasks = []
    for key, subject, company_id, owner_id, priority, state, task_id, moment, client, first, last, email in session.execute(query).all():
        if moment is None or (due := local_date(moment, settings.tz)) > end:
            continue
        owner = full_name(first, last, email)
        tasks.append(WeekTask(key, subject, client or None, company_id, owner_id, owner, priority, due, due < as_of, state, task_id))
    return sorted(tasks, key=lambda task: (not task.overdue, task.due, task.key))


def week_page(rows: Sequence[dict[str, Any]], tasks: list[WeekTask], as_of: date, owner: str, page: int = 1, size: int = PAGE_SIZE) -> dict[str, Any]:
    """What the page shows: the owner's deadlines, renewals and tasks this week (``size`` of each
    a page: a big portfolio's week is thousands of rows), and the owners to choose from
    (everyone with something this week)."""
    deadlines = deadlines_this_week(rows, as_of)
    renewing = renewing_this_week(rows)
    people = {(row["owner"]["id"], row["owner"]["name"] or row["owner"]["id"]) for row in deadlines + renewing if row["owner"]["id"]}
    people |= {(task.owner_id, task.owner or task.owner_id) for task in tasks if task.owner_id}
    lists = {
        "deadlines": for_owner(deadlines, owner),
        "renewing": for_owner(renewing, owner),
        "tasks": [task for task in tasks if not owner or task.owner_id == owner],
    }
    pages = max(1, *(-(-len(chosen) // size) for chosen in lists.values()))
    page = min(max(page, 1), pages)
    shown = {name: chosen[(page - 1) * size : page * size] for name, chosen in lists.items()}
    shown["deadlines"] = [dict(row, deadline_state=deadline_state(row["deadline"], as_of)) for row in shown["deadlines"]]
    return {
        **shown,
        "totals": {name: len(chosen) for name, chosen in lists.items()},
        "page": page,
        "pages": pages,
        "owners": sorted(people, key=lambda person: (person[1] or "").casefold()),
        "owner": owner,
        "week_end": as_of + timedelta(days=WEEK_DAYS),
    }

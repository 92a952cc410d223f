"""``tasks``: the worker's tasks (the ledger), as ``--json`` and for people."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import func, select
from sqlmodel import Session

from worker.cache.models import Company, Owner, TaskLedger
from worker import words
from worker.labels import labels
from worker.reports.table import short_day, table
from worker.reports.names import names


TASK_FIELDS = (
    "key", "state", "task_id", "subject", "owner_id", "priority", "due_at", "marker", "attempts", "last_error",
    "sent_at", "closed_at", "close_reason",
    # New: the task as HubSpot showed it at the last read-back (a person may have reassigned or
    # re-dated it); owner_id and due_at stay what the worker wrote.
    "hubspot_owner_id", "hubspot_due_at", "read_back_at",
    "company_id",
)


def tasks_data(session: Session, *, states: Sequence[str] | None = None, due_before: datetime | None = None) -> dict[str, Any]:
    """The ledger, soonest due first. ``due_before``: only tasks due (as HubSpot shows them now,
    else as written) before that moment."""
    T = TaskLedger.__table__.c  # type: ignore[attr-defined]
    # Plain columns, not ORM objects: the ledger holds a task per reminder (10,000 and more).
    statement = select(*(T[name] for name in TASK_FIELDS)).order_by(T.due_at, T.key)
    if states:
        statement = statement.where(T.state.in_(list(states)))
    if due_before is not None:
        statement = statement.where(func.coalesce(T.hubspot_due_at, T.due_at) < due_before)
    items = [dict(row._mapping) for row in session.execute(statement)]
    # New: the client and the owner (as HubSpot shows the task now) by name; null when unknown.
    clients = names(session, Company, {item["company_id"] for item in items})
    owners = names(session, Owner, {item["hubspot_owner_id"] or item["owner_id"] for item in items})
    for item in items:
        item["client"] = clients.get(item["company_id"] or "")
        item["owner"] = owners.get(item["hubspot_owner_id"] or item["owner_id"] or "")
    return {"tasks": items}


def render_tasks(data: dict[str, Any], language: str = "en") -> str:
    """The ledger for people: the client and the owner by name, the state in words, the subject
    and why a task was closed whole (wrapped)."""
    w = labels(language)
    rows = [
        [w.get(f"state_{t['state']}", t["state"]), t.get("client") or w["none"], short_day(t["hubspot_due_at"] or t["due_at"], language),
         w.get(f"priority_{t['priority']}", t["priority"]), t.get("owner") or t["hubspot_owner_id"] or t["owner_id"] or w["none"], t["subject"],
         t["close_reason"] or t["last_error"] or "", t["task_id"] or w["none"]]
        for t in data["tasks"]
    ]
    title = w["tasks_title"].format(count=words.number(len(rows), language))
    header = [w[key] for key in ("state", "client", "due", "priority", "owner", "subject", "why_closed", "task")]
    return title + "\n" + table(header, rows, widths={1: 30, 4: 30}, wrap={5: 60, 6: 40})

"""The task ledger's reads and writes: bulk statements, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping, Sequence

from sqlalchemy import bindparam, case, delete, select, update
from sqlmodel import Session

from worker.cache.models import TaskLedger

T = TaskLedger.__table__  # type: ignore[attr-defined]


@dataclass
class LedgerEntry:
    key: str
    rule: str
    object_type: str
    object_id: str
    company_id: str | None
    subscription_id: str | None
    anchor_date: date | None
    generation: int
    marker: str
    state: str
    task_id: str | None
    owner_id: str | None
    fingerprint: str
    subject: str
    priority: str
    due_at: datetime | None
    attempts: int
    body_block: str | None = None
    step: date | None = None
    contact_id: str | None = None
    read_back_at: datetime | None = None  # when HubSpot's state of the task was last known


_COLUMNS = [T.c[name] for name in LedgerEntry.__dataclass_fields__]


def load(session: Session, *, states: Sequence[str] | None = None) -> dict[str, LedgerEntry]:
    statement = select(*_COLUMNS)
    if states is not None:
        statement = statement.where(T.c.state.in_(list(states)))
    return {row.key: LedgerEntry(**row._mapping) for row in session.execute(statement)}


def write_attempts(session: Session, entries: Sequence[LedgerEntry], now: datetime) -> None:
    """Before a create call: new rows are inserted, others (retried or reopened) rewritten, each
    with its attempt counted. Committed before the call, so a crash after HubSpot's create is
    detectable on the next run (attempts > 0, no task id)."""
    existing = set(
        session.execute(select(T.c.key).where(T.c.key.in_([e.key for e in entries]))).scalars()
    )
    fresh = [e for e in entries if e.key not in existing]
    if fresh:
        session.execute(T.insert(), [{**_values(e), "created_at": now} for e in fresh])
    again = [e for e in entries if e.key in existing]
    if again:
        session.execute(
            update(T).where(T.c.key == bindparam("b_key")).values(
                {name: bindparam(f"b_{name}") for name in _values(again[0]) if name != "key"}
            ),
            [{f"b_{name}": value for name, value in _values(e).items()} for e in again],
        )


def _values(entry: LedgerEntry) -> dict[str, Any]:
    values = dict(entry.__dict__)
    values["closed_at"] = None
    values["close_reason"] = None
    return values


def mark_open(session: Session, task_ids: Mapping[str, str], now: datetime) -> None:
    if task_ids:
        session.execute(
            update(T).where(T.c.key == bindparam("b_key")).values(
                # Just created (or found by its marker): HubSpot holds what the worker wrote.
                task_id=bindparam("b_task"), state="open", sent_at=now, updated_at=now, last_error=None, read_back_at=now,
            ),
            [{"b_key": key, "b_task": task_id} for key, task_id in task_ids.items()],
        )


def mark_failed(session: Session, errors: Mapping[str, str], now: datetime) -> None:
    if errors:
        session.execute(
            update(T).where(T.c.key == bindparam("b_key")).values(last_error=bindparam("b_error"), updated_at=now),
            [{"b_key": key, "b_error": error[:1000]} for key, error in errors.items()],
        )


def mark_refused(session: Session, errors: Mapping[str, str], now: datetime) -> None:
    """HubSpot refused these creates (a 400: it created nothing): the attempt counted before the
    call is taken back, so the next run sends them again without first looking them up."""
    if errors:
        session.execute(
            update(T).where(T.c.key == bindparam("b_key")).values(
                last_error=bindparam("b_error"), attempts=case((T.c.attempts > 0, T.c.attempts - 1), else_=0), updated_at=now,
            ),
            [{"b_key": key, "b_error": error[:1000]} for key, error in errors.items()],
        )


_WRITTEN = ("fingerprint", "owner_id", "subject", "priority", "due_at", "body_block", "step")


def mark_updated(session: Session, entries: Sequence[LedgerEntry], now: datetime) -> None:
    """After an update: what the worker now holds written in each field of these tasks."""
    if entries:
        session.execute(
            update(T).where(T.c.key == bindparam("b_key")).values({**{name: bindparam(f"b_{name}") for name in _WRITTEN}, "updated_at": now}),
            [{"b_key": e.key, **{f"b_{name}": getattr(e, name) for name in _WRITTEN}} for e in entries],
        )


def record_links(session: Session, entries: Sequence[LedgerEntry], now: datetime) -> None:
    """The company and primary contact these keys' tasks now link to."""
    if entries:
        session.execute(
            update(T).where(T.c.key == bindparam("b_key")).values(company_id=bindparam("b_company"), contact_id=bindparam("b_contact"), updated_at=now),
            [{"b_key": e.key, "b_company": e.company_id, "b_contact": e.contact_id} for e in entries],
        )


def record_read_back(session: Session, seen: Mapping[str, tuple[str | None, datetime | None]], now: datetime) -> None:
    """What HubSpot showed for these keys' tasks (owner, due date) at the read-back."""
    if seen:
        session.execute(
            update(T).where(T.c.key == bindparam("b_key")).values(
                hubspot_owner_id=bindparam("b_owner"), hubspot_due_at=bindparam("b_due"), read_back_at=now
            ),
            [{"b_key": key, "b_owner": owner, "b_due": due} for key, (owner, due) in seen.items()],
        )


def mark_settled(session: Session, keys: Sequence[str], state: str, reason: str, now: datetime) -> None:
    """Tasks people settled in HubSpot (completed, or deleted: dismissed). Never reopened, and
    their keys are never created again."""
    if keys:
        session.execute(
            update(T).where(T.c.key.in_(list(keys)), T.c.state == "open").values(
                state=state, closed_at=now, updated_at=now, close_reason=reason
            )
        )


def mark_closed(session: Session, reasons: Mapping[str, str], now: datetime) -> None:
    if reasons:
        session.execute(
            update(T).where(T.c.key == bindparam("b_key")).values(
                state="closed", closed_at=now, updated_at=now, close_reason=bindparam("b_reason")
            ),
            [{"b_key": key, "b_reason": reason} for key, reason in reasons.items()],
        )


def forget(session: Session, keys: Sequence[str]) -> None:
    """Pending rows that never reached HubSpot and are no longer wanted."""
    if keys:
        session.execute(delete(T).where(T.c.key.in_(list(keys)), T.c.state == "pending"))

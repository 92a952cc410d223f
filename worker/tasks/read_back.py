"""What HubSpot holds now for the worker's open tasks, with as few calls as that takes.

The planner needs, for every open task, what HubSpot holds: to see what people did (completed,
deleted, reassigned, re-dated, re-worded) and never to write over it. Reading every open task
back on every run costs ⌈open tasks/100⌉ calls each time; instead, cheapest first:

1. a search for tasks modified since the last read-back (reaching back ``[sync]
   incremental_overlap_s`` for the search index's lag): one call in a quiet portal, and it shows
   what people did to any task;
2. a task nobody modified since still holds what the worker last wrote there (the ledger keeps
   it): that is taken as its state;
3. a batch read (100 per call) of every task the plan would write to, right before deciding for
   good, since a person's change may not be indexed yet and a deleted task never shows in a
   search; and of every task not read for ``FULL_READ_EVERY`` (deletions are seen within a day
   even where the worker has nothing to write).

The first read-back on a ledger (no watermark yet) reads every open task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping

from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.types import TaskState
from worker.cache import repo
from worker.cache.db import Cache
from worker.cache.ledger import LedgerEntry
from worker.tasks.planner import OPEN, ChangeSet

TASKS_READ_BACK = "tasks:read_back"  # sync_state row: watermark = when the last read-back began
FULL_READ_EVERY = timedelta(hours=24)


@dataclass
class ReadBack:
    tasks: dict[str, TaskState]  # task id → what HubSpot holds (read, or as last written)
    read: dict[str, TaskState] = field(default_factory=dict)  # the ones read from HubSpot this time
    began_at: datetime | None = None  # the next read-back's watermark, saved once acted upon


def as_written(entry: LedgerEntry) -> TaskState:
    """An open task nobody modified: what the worker last wrote is what HubSpot holds."""
    return TaskState(
        id=entry.task_id or "", status=None, owner_id=entry.owner_id, due_at=entry.due_at,
        priority=entry.priority, subject=entry.subject, body=entry.body_block,
    )


def to_verify(changes: ChangeSet, entries: Mapping[str, LedgerEntry]) -> set[str]:
    """Task ids a change set would write to: updated, closed or re-linked."""
    keys = set(changes.closes) | set(changes.moves)
    return set(changes.updates) | {entries[key].task_id for key in keys if entries[key].task_id}


def read_back(
    gateway: HubSpotGateway,
    cache: Cache,
    entries: Mapping[str, LedgerEntry],
    plan: Callable[[dict[str, TaskState]], ChangeSet],
    *,
    now: datetime,
    overlap: timedelta,
) -> ReadBack:
    """HubSpot's view of every open row's task; a task found deleted is absent from ``tasks``."""
    open_rows = {e.task_id: e for e in entries.values() if e.state == OPEN and e.task_id}
    with cache.transaction() as session:
        watermark = repo.load_state(session, TASKS_READ_BACK).watermark
    if not open_rows:
        return ReadBack({}, began_at=now)
    if watermark is None:
        read = gateway.read_tasks(list(open_rows))
        return ReadBack(dict(read), dict(read), began_at=now)
    read = gateway.search_tasks_modified_since(watermark - overlap, keep=open_rows.keys())
    stale = [task_id for task_id, e in open_rows.items() if task_id not in read and _unread_for_a_day(e, now)]
    tasks = {task_id: as_written(e) for task_id, e in open_rows.items()}
    tasks.update(read)
    _take(tasks, read, gateway.read_tasks(stale), stale)
    unchecked = sorted(to_verify(plan(tasks), entries) - set(read))
    _take(tasks, read, gateway.read_tasks(unchecked), unchecked)
    return ReadBack(tasks, read, began_at=now)


def _take(tasks: dict[str, TaskState], read: dict[str, TaskState], found: Mapping[str, TaskState], asked: list[str]) -> None:
    """Fold a batch read in: what it found replaces the assumption; what it did not find is gone."""
    for task_id in asked:
        if task_id in found:
            tasks[task_id] = read[task_id] = found[task_id]
        else:
            tasks.pop(task_id, None)


def _unread_for_a_day(entry: LedgerEntry, now: datetime) -> bool:
    return entry.read_back_at is None or now - entry.read_back_at >= FULL_READ_EVERY

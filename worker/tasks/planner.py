"""The emission planner: what to do to HubSpot's tasks, decided without doing it. Pure.

    (ledger rows, what HubSpot says each open task looks like now, what the rules want, today)
        → a change set: creates, field updates, closes, and what people did

Tasks belong to the people who work them (DOMAIN.md, "Tasks belong to the people who work
them"): the worker reads them back before it writes, and

- a task a person **completed** stays completed: its key is never created again;
- a task a person **deleted** (or archived) was dismissed: its key is never created again;
- a field (owner, due date, priority, subject, the worker's block of the body) is rewritten only
  while HubSpot still holds what the worker itself last wrote there. A person's owner, date,
  priority or wording stays; the worker may still bring its own numbers up to date where nobody
  edited.

The body is the worker's block (its text and the marker line) plus whatever people write around
it: the block is replaced only where HubSpot's body still contains it verbatim, and the rest of
the body is left as the person wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Mapping

from integrations.hubspot.types import AssociationMove, TaskFields, TaskState
from worker.cache.ledger import LedgerEntry

OPEN, PENDING, CLOSED = "open", "pending", "closed"
COMPLETED_IN_HUBSPOT, DISMISSED = "completed_in_hubspot", "dismissed"
# Rows that never produce a task again for their key.
SETTLED_BY_PEOPLE = frozenset({COMPLETED_IN_HUBSPOT, DISMISSED})


@dataclass(frozen=True)
class Desired:
    """A task as the rules want it today: the reminder's key and what its fields should say."""

    key: str
    create: bool  # False: still valid, but not to be created now (a passed catch-up milestone)
    fingerprint: str  # changes exactly when the numbers the text shows change
    subject: str
    block: str  # the worker's part of the body, marker line included
    owner_id: str | None
    due_at: datetime
    priority: str
    step: date  # the working day the rule puts the step on, before "not before today"
    company_id: str | None = None  # the records the task links to
    contact_id: str | None = None


@dataclass
class ChangeSet:
    """What emission will do. Keys are ledger keys; updates are by HubSpot task id."""

    creates: list[str] = field(default_factory=list)  # keys to create (new, retried or a new generation)
    updates: dict[str, TaskFields] = field(default_factory=dict)  # task id → fields to write
    updated_keys: dict[str, str] = field(default_factory=dict)  # task id → key
    closes: dict[str, str] = field(default_factory=dict)  # key → why the reason went away
    completed_by_people: list[str] = field(default_factory=list)
    dismissed_by_people: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # pending keys no longer wanted
    moves: dict[str, AssociationMove] = field(default_factory=dict)  # key → links to re-point
    kept: dict[str, list[str]] = field(default_factory=dict)  # key → fields left as a person set them


def plan_changes(
    entries: Mapping[str, LedgerEntry],
    tasks: Mapping[str, TaskState],
    wanted: Mapping[str, Desired],
    why_gone: Callable[[LedgerEntry], str],
) -> ChangeSet:
    """The change set. ``tasks`` holds what HubSpot answered for every open row's task id: an id
    missing from it was deleted (or archived) in HubSpot."""
    changes = ChangeSet()
    for key, entry in entries.items():
        if entry.state == OPEN:
            _open_row(entry, tasks.get(entry.task_id or ""), wanted.get(key), why_gone, changes)
        elif entry.state == PENDING and key not in wanted:
            changes.orphans.append(key)
    for key, desired in wanted.items():
        entry = entries.get(key)
        if entry is None or entry.state == CLOSED:
            if desired.create:
                changes.creates.append(key)  # new, or back after the worker closed it: a new generation
        elif entry.state == PENDING:
            changes.creates.append(key)  # retried with its marker: looked up before it is sent again
    return changes


def _open_row(entry: LedgerEntry, task: TaskState | None, desired: Desired | None, why_gone, changes: ChangeSet) -> None:
    if task is None:
        changes.dismissed_by_people.append(entry.key)
        return
    if task.completed:
        changes.completed_by_people.append(entry.key)
        return
    if desired is None:
        changes.closes[entry.key] = why_gone(entry)
        return
    move = association_move(entry, task.id, desired)
    if move is not None:
        changes.moves[entry.key] = move
    update, kept = field_updates(entry, task, desired)
    if update is not None:
        changes.updates[task.id] = update
        changes.updated_keys[task.id] = entry.key
    if kept:
        changes.kept[entry.key] = kept


def field_updates(entry: LedgerEntry, task: TaskState, desired: Desired) -> tuple[TaskFields | None, list[str]]:
    """The fields to write on one open task, and the fields left alone because a person changed
    them. A field is the worker's while HubSpot still holds what the worker last wrote."""
    kept: list[str] = []
    values: dict[str, object] = {}

    def claim(name: str, written: object, current: object, wanted: object) -> None:
        if current != written:
            kept.append(name)
        elif wanted != written:
            values[name] = wanted

    claim("subject", entry.subject, task.subject, desired.subject)
    # "" is "nobody": a task the rules now leave unassigned (no usable fallback) is unassigned.
    claim("owner_id", entry.owner_id or "", task.owner_id or "", desired.owner_id or "")
    claim("priority", entry.priority, task.priority, desired.priority)
    # The due date moves only when the rule's step moved (a renewal date changed), never just
    # because an overdue task is still overdue today.
    if entry.step is None or desired.step != entry.step:
        claim("due_at", entry.due_at, task.due_at, desired.due_at)
    elif task.due_at != entry.due_at:
        kept.append("due_at")
    body = replaced_block(task.body, entry.body_block, desired.block)
    if body is None:
        if entry.body_block is not None and desired.block != entry.body_block:
            kept.append("body")
    elif body != task.body:
        values["body"] = body
    if not values:
        return None, kept
    return TaskFields(**values), kept  # type: ignore[arg-type]


def association_move(entry: LedgerEntry, task_id: str, desired: Desired) -> AssociationMove | None:
    """A subscription that moved to another company takes its open tasks along: their company
    and primary-contact links are re-pointed. A new primary contact of the same company moves
    the contact link. A row from before contacts were recorded (contact_id None) learns its
    contact without a move unless the company moved too. None: nothing to change."""
    add: list[tuple[str, str]] = []
    remove: list[tuple[str, str]] = []
    company_moved = desired.company_id is not None and desired.company_id != entry.company_id
    if company_moved:
        add.append(("companies", desired.company_id))  # type: ignore[arg-type]
        if entry.company_id:
            remove.append(("companies", entry.company_id))
    if desired.contact_id != entry.contact_id and (entry.contact_id is not None or company_moved):
        if desired.contact_id:
            add.append(("contacts", desired.contact_id))
        if entry.contact_id:
            remove.append(("contacts", entry.contact_id))
    if not add and not remove and desired.contact_id == entry.contact_id:
        return None
    return AssociationMove(task_id, tuple(add), tuple(remove))


def replaced_block(body: str | None, written: str | None, wanted: str) -> str | None:
    """The body with the worker's block brought up to date, keeping everything a person wrote
    around it; None when the body no longer holds the block the worker wrote (a person edited
    inside it: their wording wins) or the worker never recorded its block."""
    if written is None or body is None or written not in body:
        return None
    return body.replace(written, wanted, 1)

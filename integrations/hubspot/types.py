"""Frozen record types the HubSpot gateway returns. SDK models never leave the gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping, Sequence


@dataclass(frozen=True)
class CrmRecord:
    """One CRM object (company, contact, deal, subscription, custom object).

    ``properties`` holds HubSpot's values exactly as sent (strings or None): parsing and
    judging them is the sync's job, so a malformed value is never lost at the edge.
    """

    id: str
    properties: Mapping[str, str | None]
    created_at: datetime | None
    updated_at: datetime | None
    archived: bool = False
    archived_at: datetime | None = None
    # Associations a list call carried inline (``associations=companies``), per object type;
    # ``associations_cut`` names the types whose inline list had more than the answer held.
    associations: Mapping[str, tuple["Associated", ...]] = field(default_factory=dict)
    associations_cut: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RecordPage:
    records: tuple[CrmRecord, ...]
    next_after: str | None


@dataclass(frozen=True)
class Team:
    """A team an owner belongs to (the owners API's ``teams``)."""

    id: str
    name: str
    primary: bool = False


@dataclass(frozen=True)
class Owner:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    user_id: int | None
    archived: bool
    updated_at: datetime | None
    teams: tuple[Team, ...] = ()


@dataclass(frozen=True)
class OwnerPage:
    owners: tuple[Owner, ...]
    next_after: str | None


@dataclass(frozen=True)
class AccountDetails:
    """The portal: its id and the domain of its HubSpot app (record links need both)."""

    portal_id: int
    ui_domain: str


@dataclass(frozen=True)
class PropertyOption:
    value: str  # what a record holds
    label: str  # what people see


@dataclass(frozen=True)
class PropertyDefinition:
    """One property of an object type as the properties API defines it."""

    name: str
    label: str
    type: str  # string | number | date | datetime | enumeration | bool
    field_type: str
    description: str = ""
    options: tuple[PropertyOption, ...] = ()


@dataclass(frozen=True)
class CustomObjectType:
    """A custom object the portal defines (the schemas API): its type id ("2-…"), name and labels."""

    type_id: str
    name: str
    singular: str
    plural: str


@dataclass(frozen=True)
class AssociationLabel:
    category: str  # HUBSPOT_DEFINED | USER_DEFINED | INTEGRATOR_DEFINED
    type_id: int
    label: str | None  # None for the unlabelled default association


@dataclass(frozen=True)
class Associated:
    """One associated record and the labels of its association(s)."""

    to_id: str
    labels: tuple[AssociationLabel, ...] = field(default_factory=tuple)

    def has_label(self, label: str) -> bool:
        wanted = label.casefold()
        return any(item.label is not None and item.label.casefold() == wanted for item in self.labels)


@dataclass(frozen=True)
class TaskFields:
    """What the worker writes on a task, in its own words; the gateway maps each field to
    HubSpot's property (``hs_task_subject``, ``hubspot_owner_id``, ``hs_timestamp`` …). A field
    left None is not sent. ``owner_id=""`` unassigns."""

    subject: str | None = None
    body: str | None = None
    owner_id: str | None = None
    due_at: datetime | None = None
    priority: str | None = None
    completed: bool = False


@dataclass(frozen=True)
class TaskState:
    """A task as HubSpot holds it now (read back before the worker writes again)."""

    id: str
    status: str | None  # NOT_STARTED | IN_PROGRESS | WAITING | COMPLETED | DEFERRED
    owner_id: str | None
    due_at: datetime | None
    priority: str | None
    subject: str | None
    body: str | None

    @property
    def completed(self) -> bool:
        return self.status == "COMPLETED"


@dataclass(frozen=True)
class AssociationMove:
    """One task's associations to re-point: (object type, record id) pairs to add and remove."""

    task_id: str
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TaskDraft:
    """A task to create. ``trace_id`` travels as HubSpot's ``objectWriteTraceId`` and comes back
    on the created record, which is how a batch's results are matched to its inputs.
    ``associations`` are (object type, record id): the gateway finds the association types."""

    trace_id: str
    fields: TaskFields
    associations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BatchWriteResult:
    """What a batch write did: ``done`` maps an input (trace id or task id) to the task id;
    ``failed`` maps inputs HubSpot rejected to its message; ``unmatched`` are HubSpot errors that
    name no input (the caller treats those inputs as not written)."""

    done: Mapping[str, str]
    failed: Mapping[str, str]
    unmatched: tuple[str, ...] = ()


@dataclass(frozen=True)
class LookBeforeResend:
    """The policy for creates that may have reached HubSpot (a 5xx, a reset, an answer lost or
    garbled after HubSpot acted): before each send, ``record_attempt`` makes the attempt durable
    (the caller's ledger, so a crash is detectable); before each resend, ``find_created`` looks
    up which of the drafts HubSpot already has (trace id → task id), and only the rest go again.
    Attempts and backoff are the gateway's one retry policy."""

    record_attempt: Callable[[Sequence["TaskDraft"]], None]
    find_created: Callable[[Sequence["TaskDraft"]], Mapping[str, str]]


@dataclass(frozen=True)
class CreateOutcome:
    """What a create under ``LookBeforeResend`` did: the last answer's result, the tasks found
    already created before a resend, and the drafts never confirmed (with the last error, or the
    refusal: the caller can halve a refused batch to find the bad input)."""

    result: BatchWriteResult
    recovered: Mapping[str, str]
    unconfirmed: tuple[str, ...] = ()  # trace ids neither created nor found (refused, or given up on)
    error: str | None = None
    refused: WriteRefusal | None = None  # HubSpot refused the whole batch (400) and did nothing


@dataclass(frozen=True)
class WriteRefusal:
    """Why HubSpot refused a batch of task creates (a 400: it created nothing), as far as its
    answer tells. ``every_task`` names task properties that no task can pass as the worker writes
    them: one a portal rule requires and no task carries, or a fixed property (the same on every
    task) HubSpot refuses. ``inputs`` are the trace ids of the inputs the answer names, if it names
    any; ``invalid_owner``: an owner id was refused (deactivated since it was read)."""

    message: str
    every_task: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    invalid_owner: bool = False

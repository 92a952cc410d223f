"""Frozen record types the HubSpot gateway returns. SDK models never leave the gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping


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


@dataclass(frozen=True)
class RecordPage:
    records: tuple[CrmRecord, ...]
    next_after: str | None


@dataclass(frozen=True)
class Owner:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    user_id: int | None
    archived: bool
    updated_at: datetime | None


@dataclass(frozen=True)
class OwnerPage:
    owners: tuple[Owner, ...]
    next_after: str | None


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
class TaskDraft:
    """A task to create. ``trace_id`` travels as HubSpot's ``objectWriteTraceId`` and comes back
    on the created record, which is how a batch's results are matched to its inputs."""

    trace_id: str
    properties: Mapping[str, str]
    associations: tuple[tuple[str, int], ...] = ()  # (record id, HUBSPOT_DEFINED association type id)


@dataclass(frozen=True)
class BatchWriteResult:
    """What a batch write did: ``done`` maps an input (trace id or task id) to the task id;
    ``failed`` maps inputs HubSpot rejected to its message; ``unmatched`` are HubSpot errors that
    name no input (the caller treats those inputs as not written)."""

    done: Mapping[str, str]
    failed: Mapping[str, str]
    unmatched: tuple[str, ...] = ()

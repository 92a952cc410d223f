"""The worker's tasks in HubSpot: batch create, read back and update, and association type ids.

The only place that knows HubSpot's task properties (``hs_task_*``, ``hubspot_owner_id``), epoch
milliseconds and association type ids: the worker speaks ``TaskFields``, ``TaskState`` and
``TaskDraft``. Mixed into ``HubSpotGateway`` so that every call still goes through its one call
path (limiter, retry policy, error translation). Shapes: HubSpot's API reference for tasks
(batch create, read and update, ``objectWriteTraceId``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Collection, Mapping, Sequence

from integrations.hubspot import answers
from integrations.hubspot import endpoints as ep
from integrations.hubspot.errors import BadRequest, Unavailable
from integrations.hubspot.limits import MAX_BATCH_WRITE, batches
from integrations.hubspot.types import (
    AssociationLabel,
    AssociationMove,
    BatchWriteResult,
    CreateOutcome,
    CrmRecord,
    LookBeforeResend,
    TaskDraft,
    TaskFields,
    TaskState,
    WriteRefusal,
)

# HUBSPOT_DEFINED task association type ids, as the SDK's ``hubspot.crm.AssociationType`` lists
# them (TASK_TO_COMPANY 192, TASK_TO_CONTACT 204, TASK_TO_DEAL 216). Other targets (commerce
# subscriptions, services, custom objects) are looked up once through the associations labels
# API, with the category it gives: a custom object's default association is USER_DEFINED (its type
# id is the portal's own), and HubSpot refuses a write that names it HUBSPOT_DEFINED.
_HUBSPOT = "HUBSPOT_DEFINED"
KNOWN_TASK_ASSOCIATION_TYPES = {
    "companies": (_HUBSPOT, 192), "contacts": (_HUBSPOT, 204), "deals": (_HUBSPOT, 216),
    "0-2": (_HUBSPOT, 192), "0-1": (_HUBSPOT, 204), "0-3": (_HUBSPOT, 216),
}

# Every task property the worker writes itself; fixed properties a portal needs on tasks
# ([reminders.task_properties]) may not name one of them.
WRITTEN_TASK_PROPERTIES = frozenset({
    "hs_task_subject", "hs_task_body", "hubspot_owner_id", "hs_task_priority", "hs_timestamp", "hs_task_reminders",
    "hs_task_status", "hs_task_type",
})

# What the worker reads back of its tasks before it writes again (HubSpot's task properties).
TASK_READ_PROPERTIES = ("hs_task_status", "hubspot_owner_id", "hs_timestamp", "hs_task_priority", "hs_task_subject", "hs_task_body")


def task_properties(fields: TaskFields) -> dict[str, str]:
    """Our task fields → HubSpot's task properties. The due date is ``hs_timestamp`` (epoch
    milliseconds), and the reminder fires then too (``hs_task_reminders``)."""
    properties: dict[str, str] = {}
    if fields.subject is not None:
        properties["hs_task_subject"] = fields.subject
    if fields.body is not None:
        properties["hs_task_body"] = fields.body
    if fields.owner_id is not None:
        properties["hubspot_owner_id"] = fields.owner_id
    if fields.priority is not None:
        properties["hs_task_priority"] = fields.priority
    if fields.due_at is not None:
        due_ms = str(int(fields.due_at.timestamp() * 1000))
        properties["hs_timestamp"] = due_ms
        properties["hs_task_reminders"] = due_ms
    if fields.completed:
        properties["hs_task_status"] = "COMPLETED"
    return properties


def task_state(record: CrmRecord) -> TaskState:
    """HubSpot's task properties → what the planner compares. hs_timestamp comes back as an
    ISO datetime from HubSpot (epoch milliseconds from older writers): both read as UTC."""
    props = record.properties
    return TaskState(
        id=record.id,
        status=props.get("hs_task_status") or None,
        owner_id=props.get("hubspot_owner_id") or None,
        due_at=_moment(props.get("hs_timestamp")),
        priority=props.get("hs_task_priority") or None,
        subject=props.get("hs_task_subject"),
        body=props.get("hs_task_body"),
    )


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():
        try:
            return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return answers.timestamp(value)


class TaskWrites:
    """Needs ``self._call``, ``self._retrying``, ``self.each``, ``self.batch_read`` and
    ``self._association_types`` from the gateway."""

    _call: Any
    _retrying: Any
    each: Any
    task_defaults: Mapping[str, str]
    _association_types: dict[tuple[str, str], tuple[str, int]]
    batch_read: Any

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> tuple[BatchWriteResult, list[CrmRecord]]:
        """Create up to 100 tasks in one call. Not retried after a 5xx or a dropped connection:
        HubSpot may have created them, and only the caller can check (by marker) before retrying."""
        if len(drafts) > MAX_BATCH_WRITE:
            raise ValueError(f"create_tasks takes at most {MAX_BATCH_WRITE} tasks")
        if not drafts:
            return BatchWriteResult({}, {}), []
        body = {
            "inputs": [
                {
                    "properties": self._create_properties(draft),
                    "associations": [
                        {
                            "to": {"id": to_id},
                            "types": [self._association_type_spec(to_type)],
                        }
                        for to_type, to_id in draft.associations
                    ],
                    "objectWriteTraceId": draft.trace_id,
                }
                for draft in drafts
            ]
        }
        asked = [draft.trace_id for draft in drafts]
        return self._call(
            ep.BATCH_CREATE_OBJECTS, {"objectType": "tasks"}, body=body, idempotent=False,
            parse=lambda answer: _created(answer, asked),
        )

    def _create_properties(self, draft: TaskDraft) -> dict[str, str]:
        """A new task's properties: the portal's fixed ones first, then the worker's own."""
        return {**self.task_defaults, "hs_task_status": "NOT_STARTED", "hs_task_type": "TODO", **task_properties(draft.fields)}

    def create_tasks_looking_first(self, drafts: Sequence[TaskDraft], policy: LookBeforeResend) -> CreateOutcome:
        """Create up to 100 tasks under ``policy``: a failure after which HubSpot may have
        created them (``Unavailable``) is retried by the one retry policy, each resend preceded
        by a look-up of what HubSpot already has. A refused batch (400: HubSpot did nothing) comes
        back as ``refused`` with the drafts still unsent."""
        remaining = list(drafts)
        recovered: dict[str, str] = {}
        retrying = self._retrying("batch_create_objects", retry_on=Unavailable)
        try:
            for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        found = dict(policy.find_created(remaining))
                        recovered.update(found)
                        remaining = [draft for draft in remaining if draft.trace_id not in found]
                        if not remaining:
                            return CreateOutcome(BatchWriteResult({}, {}), recovered)
                    policy.record_attempt(remaining)
                    result, _records = self.create_tasks(remaining)
        except Unavailable as exc:
            return CreateOutcome(BatchWriteResult({}, {}), recovered, tuple(d.trace_id for d in remaining), str(exc))
        except BadRequest as exc:
            refusal = refusal_of(exc, remaining, [self._create_properties(d) for d in remaining], self.task_defaults)
            return CreateOutcome(BatchWriteResult({}, {}), recovered, tuple(d.trace_id for d in remaining), str(exc), refused=refusal)
        return CreateOutcome(result, recovered)

    def read_tasks(self, task_ids: Sequence[str]) -> dict[str, TaskState]:
        """Tasks as HubSpot holds them now, by id, any number of ids (read 100 per call). A task
        deleted or archived in HubSpot is absent from the answer."""
        records = self.batch_read("tasks", list(dict.fromkeys(task_ids)), TASK_READ_PROPERTIES)
        return {record.id: task_state(record) for record in records}

    def read_any_task(self) -> None:
        """One task (or none): a call that shows whether the token may read tasks."""
        self.list_objects("tasks", ["hs_task_subject"], limit=1)

    def search_tasks_modified_since(self, since: datetime, *, keep: Collection[str]) -> dict[str, TaskState]:
        """Tasks modified at or after ``since``, of those in ``keep`` (the worker's open tasks;
        other apps' and people's own tasks are passed over as they come)."""
        found: dict[str, TaskState] = {}
        after_id = 0
        while True:
            page = self.search_modified_since(
                "tasks", since=since, after_id=after_id, properties=TASK_READ_PROPERTIES,
            )
            found.update({r.id: task_state(r) for r in page.records if r.id in keep})
            if not page.next_after:
                return found
            after_id = int(page.next_after)

    def update_tasks(self, updates: Mapping[str, TaskFields]) -> BatchWriteResult:
        """Write fields on any number of tasks (task id → fields), 100 per call. Idempotent:
        retried as reads are. A task HubSpot no longer has comes back in ``failed``."""
        done: dict[str, str] = {}
        failed: dict[str, str] = {}
        unmatched: list[str] = []
        items = [(task_id, props) for task_id, fields in updates.items() if (props := task_properties(fields))]

        def update(chunk: list[tuple[str, dict[str, str]]]) -> BatchWriteResult:
            body = {"inputs": [{"id": task_id, "properties": props} for task_id, props in chunk]}
            asked = [task_id for task_id, _ in chunk]
            return self._call(ep.BATCH_UPDATE_OBJECTS, {"objectType": "tasks"}, body=body, parse=lambda answer: _updated(answer, asked))

        for result in self.each(update, batches(items)):
            done.update(result.done)
            failed.update(result.failed)
            unmatched.extend(result.unmatched)
        return BatchWriteResult(done, failed, tuple(unmatched))

    def move_task_associations(self, moves: Sequence[AssociationMove]) -> None:
        """Re-point tasks' associations (a subscription moved to another company, a company has a
        new primary contact): the new ones are created first, then the old ones removed, so a
        task is never left linked to nothing. Any number of moves; 100 inputs per call."""
        adds: dict[str, list[dict[str, Any]]] = {}
        removes: dict[str, list[dict[str, Any]]] = {}
        for move in moves:
            for to_type, to_id in move.add:
                adds.setdefault(to_type, []).append(
                    {"from": {"id": move.task_id}, "to": {"id": to_id}, "types": [self._association_type_spec(to_type)]}
                )
            for to_type, to_id in move.remove:
                removes.setdefault(to_type, []).append({"from": {"id": move.task_id}, "to": [{"id": to_id}]})
        for to_type, inputs in adds.items():
            for chunk in batches(inputs):
                self._call(
                    ep.BATCH_CREATE_ASSOCIATIONS, {"fromObjectType": "tasks", "toObjectType": to_type},
                    body={"inputs": chunk},
                    parse=lambda answer: answers.collection(answer, ep.BATCH_CREATE_ASSOCIATIONS.name),
                )
        for to_type, inputs in removes.items():
            for chunk in batches(inputs):
                self._call(
                    ep.BATCH_ARCHIVE_ASSOCIATIONS, {"fromObjectType": "tasks", "toObjectType": to_type},
                    body={"inputs": chunk},
                )

    def task_association_type(self, to_object_type: str) -> tuple[str, int]:
        """The default (unlabelled) association type from tasks to ``to_object_type``, as
        (category, type id): HubSpot's own for its objects, the portal's (USER_DEFINED) for a
        custom object, as the labels API gives it; read once per object type."""
        if to_object_type in KNOWN_TASK_ASSOCIATION_TYPES:
            return KNOWN_TASK_ASSOCIATION_TYPES[to_object_type]
        key = ("tasks", to_object_type)
        if key not in self._association_types:
            found = self._call(
                ep.ASSOCIATION_LABELS, {"fromObjectType": "tasks", "toObjectType": to_object_type},
                parse=lambda answer: answers.association_specs(answer, ep.ASSOCIATION_LABELS.name),
            )
            self._association_types[key] = default_association_type(found, to_object_type)
        return self._association_types[key]

    def _association_type_spec(self, to_object_type: str) -> dict[str, Any]:
        category, type_id = self.task_association_type(to_object_type)
        return {"associationCategory": category, "associationTypeId": type_id}


def default_association_type(specs: Sequence[AssociationLabel], to_object_type: str) -> tuple[str, int]:
    """Of the association types the labels API lists from tasks to an object type, the one a task
    is linked with: the unlabelled one (HubSpot's own first; a custom object's is USER_DEFINED),
    else the first listed; with its category, which a write must repeat."""
    unlabelled = [spec for spec in specs if not spec.label]
    chosen = sorted(unlabelled, key=lambda spec: spec.category != _HUBSPOT) or list(specs)
    if not chosen:
        raise BadRequest(f"association_labels: HubSpot knows no association from tasks to {to_object_type}")
    return chosen[0].category, chosen[0].type_id


def refusal_of(error: BadRequest, drafts: Sequence[TaskDraft], sent: Sequence[Mapping[str, str]], fixed: Mapping[str, str]) -> WriteRefusal:
    """What a refused batch create tells (pure). Since the 2026-09 API version a portal's own
    rules apply to API writes (HubSpot's changelog, "CRM API write validation enforcement"): a
    required property that none of the inputs carries fails every task the worker would send, and
    so does a refused property the worker sets on every task ([reminders.task_properties]);
    emission stops at once instead of halving batch after batch down to single tasks."""
    every = [name for name in error.required_properties if not any(props.get(name) for props in sent)]
    every += [p.property_name for p in error.problems if p.property_name in fixed and p.input_index is None and p.property_name not in every]
    named = tuple(drafts[i].trace_id for i in error.refused_inputs if i < len(drafts))
    return WriteRefusal(str(error), every_task=tuple(n for n in every if n), inputs=named, invalid_owner=error.invalid_owner)


def _split_errors(errors: list[tuple[str, list[str]]]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Per-input errors keyed by the input they name; errors that name none, apart."""
    failed = {value: message for message, named in errors for value in named}
    return failed, tuple(message for message, named in errors if not named)


def _created(answer: dict[str, Any], asked: Sequence[str]) -> tuple[BatchWriteResult, list[CrmRecord]]:
    """A batch create's answer: created tasks by trace id. Every trace id must be a result or
    an error (else ``MalformedAnswer``: the caller looks the tasks up by marker)."""
    name = ep.BATCH_CREATE_OBJECTS.name
    results = answers.collection(answer, name)[0]
    records = [answers.record(item, name) for item in results]
    done = {str(item["objectWriteTraceId"]): rec.id for item, rec in zip(results, records) if item.get("objectWriteTraceId")}
    errors = answers.batch_errors(answer, name)
    failed, unmatched = _split_errors(errors)
    if not unmatched:
        answers.account_for(asked, done, errors, name)
    return BatchWriteResult(done, failed, unmatched), records


def _updated(answer: dict[str, Any], asked: Sequence[str]) -> BatchWriteResult:
    name = ep.BATCH_UPDATE_OBJECTS.name
    done = {rec.id: rec.id for rec in (answers.record(item, name) for item in answers.collection(answer, name)[0])}
    errors = answers.batch_errors(answer, name)
    failed, unmatched = _split_errors(errors)
    if not unmatched:
        answers.account_for(asked, done, errors, name)
    return BatchWriteResult(done, failed, unmatched)

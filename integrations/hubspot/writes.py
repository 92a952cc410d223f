"""Task writes: batch create and batch update of HubSpot tasks, and association type ids.

Mixed into ``HubSpotGateway`` so that every call still goes through its one call path (limiter,
retry policy, error translation). Shapes: HubSpot's API reference for tasks (batch create and
update, ``objectWriteTraceId``) and the SDK's ``BatchResponseSimplePublicObject[WithErrors]``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from integrations.hubspot import answers
from integrations.hubspot import endpoints as ep
from integrations.hubspot.errors import BadRequest
from integrations.hubspot.types import BatchWriteResult, CrmRecord, TaskDraft

MAX_BATCH_WRITE = 100  # HubSpot's documented maximum inputs per batch create / update

# HUBSPOT_DEFINED task association type ids, as the SDK's ``hubspot.crm.AssociationType`` lists
# them (TASK_TO_COMPANY 192, TASK_TO_CONTACT 204, TASK_TO_DEAL 216). Other targets (commerce
# subscriptions, custom objects) are looked up once through the associations labels API.
KNOWN_TASK_ASSOCIATION_TYPES = {"companies": 192, "contacts": 204, "deals": 216, "0-2": 192, "0-1": 204, "0-3": 216}

TASK_PROPERTIES = ("hs_task_subject", "hs_task_body", "hs_task_status", "hubspot_owner_id", "hs_timestamp")


class TaskWrites:
    """Needs ``self._call`` and ``self._association_type_ids`` from the gateway."""

    _call: Any
    _association_type_ids: dict[tuple[str, str], int]

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
                    "properties": dict(draft.properties),
                    "associations": [
                        {"to": {"id": to_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}
                        for to_id, type_id in draft.associations
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

    def update_tasks(self, updates: Mapping[str, Mapping[str, str]]) -> BatchWriteResult:
        """Set properties on up to 100 tasks (task id → properties). Idempotent: retried as reads are."""
        if len(updates) > MAX_BATCH_WRITE:
            raise ValueError(f"update_tasks takes at most {MAX_BATCH_WRITE} tasks")
        if not updates:
            return BatchWriteResult({}, {})
        body = {"inputs": [{"id": task_id, "properties": dict(props)} for task_id, props in updates.items()]}
        asked = list(updates)
        return self._call(ep.BATCH_UPDATE_OBJECTS, {"objectType": "tasks"}, body=body, parse=lambda answer: _updated(answer, asked))

    def task_association_type_id(self, to_object_type: str) -> int:
        """The HUBSPOT_DEFINED (unlabelled) association type from tasks to ``to_object_type``."""
        if to_object_type in KNOWN_TASK_ASSOCIATION_TYPES:
            return KNOWN_TASK_ASSOCIATION_TYPES[to_object_type]
        key = ("tasks", to_object_type)
        if key not in self._association_type_ids:
            found = self._call(
                ep.ASSOCIATION_LABELS, {"fromObjectType": "tasks", "toObjectType": to_object_type},
                parse=lambda answer: answers.association_specs(answer, ep.ASSOCIATION_LABELS.name),
            )
            specs = [(spec.category, spec.type_id, spec.label) for spec in found]
            defined = [type_id for category, type_id, label in specs if category == "HUBSPOT_DEFINED" and not label]
            if not defined:
                defined = [type_id for _category, type_id, _label in specs]
            if not defined:
                raise BadRequest(f"association_labels: HubSpot knows no association from tasks to {to_object_type}")
            self._association_type_ids[key] = defined[0]
        return self._association_type_ids[key]


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

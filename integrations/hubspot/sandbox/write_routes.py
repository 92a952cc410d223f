"""The sandbox's HubSpot write endpoints: tasks (batch create and update, with HubSpot's
validation) and associations (v4 batch create and archive). Reads are in ``routes.py``.
"""

from __future__ import annotations

from typing import Any

from integrations.hubspot.sandbox.portal import SandboxPortal, canonical_type, iso_ms
from integrations.hubspot.sandbox.routes import _ApiError, _batch_answer, _batch_inputs, _error, _serialize


# --------------------------------------------------------------------------- task writes
# HubSpot's reference: POST /crm/v3/objects/tasks/batch/create (201, results carry the input's
# objectWriteTraceId) and /batch/update (200; 207 with per-id errors); hs_timestamp is required.
# A validation error fails the whole batch with a 400, as HubSpot does.

TASK_STATUSES = {"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"}
TASK_PRIORITIES = {"LOW", "MEDIUM", "HIGH", "NONE", ""}


def _validate_task_properties(portal: SandboxPortal, props: dict[str, Any], index: int, *, creating: bool) -> list[dict[str, Any]]:
    problems = []
    if creating and not props.get("hs_timestamp"):
        problems.append({"message": "hs_timestamp is required", "code": "REQUIRED_PROPERTY", "in": f"inputs[{index}].properties"})
    if props.get("hs_task_status") not in (None, *TASK_STATUSES):
        problems.append({"message": f"{props['hs_task_status']} is not a valid hs_task_status", "code": "INVALID_OPTION"})
    if props.get("hs_task_priority") not in (None, *TASK_PRIORITIES):
        problems.append({"message": f"{props['hs_task_priority']} is not a valid hs_task_priority", "code": "INVALID_OPTION"})
    owner = props.get("hubspot_owner_id")
    if owner and (not str(owner).isdigit() or int(owner) not in portal.owners or portal.owners[int(owner)].archived):
        problems.append({
            "message": f"{owner} is not a valid owner id", "code": "INVALID_OWNER_ID", "in": f"inputs[{index}].properties",
            "context": {"propertyName": ["hubspot_owner_id"]},
        })
    if creating:
        # The portal's own rules name the property, not the input: a batch is refused whole.
        problems.extend(
            {"message": f'Property "{rule.name}" is required', "code": "REQUIRED_PROPERTY", "context": {"propertyName": [rule.name]}}
            for rule in portal.task_rules if rule.broken_by(props)
        )
    return problems


def route_batch_create(portal: SandboxPortal, object_type: str, body: Any) -> tuple[int, dict[str, Any]]:
    inputs = _batch_inputs(body)
    started = iso_ms(portal.now())
    with portal.lock:
        problems = []
        for index, item in enumerate(inputs):
            problems.extend(_validate_task_properties(portal, item.get("properties") or {}, index, creating=True))
            for assoc in item.get("associations") or []:
                to_id = int(assoc["to"]["id"])
                to_type = portal.type_of(to_id)
                problem = f"invalid association to {to_id}: no such object" if to_type is None else _association_problem(portal, object_type, to_type, to_id, assoc.get("types"))
                if problem:
                    problems.append({"message": problem, "code": "INVALID_ASSOCIATION"})
        if problems:
            raise _ApiError(400, _error("Property values were not valid", "VALIDATION_ERROR", errors=problems))
        results = []
        for item in inputs:
            obj = portal.create(object_type, {k: (None if v is None else str(v)) for k, v in (item.get("properties") or {}).items()})
            for assoc in item.get("associations") or []:
                to_id = int(assoc["to"]["id"])
                portal.associate(object_type, obj.id, portal.type_of(to_id) or "", to_id)
            entry = _serialize(obj, None)
            if item.get("objectWriteTraceId"):
                entry["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(entry)
    return 201, {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": iso_ms(portal.now())}


def route_batch_update(portal: SandboxPortal, object_type: str, body: Any) -> tuple[int, dict[str, Any]]:
    inputs = _batch_inputs(body)
    started = iso_ms(portal.now())
    results, missing = [], []
    with portal.lock:
        table = portal.table(object_type)
        problems = [p for i, item in enumerate(inputs) for p in _validate_task_properties(portal, item.get("properties") or {}, i, creating=False)]
        if problems:
            raise _ApiError(400, _error("Property values were not valid", "VALIDATION_ERROR", errors=problems))
        for item in inputs:
            obj = table.get(int(item["id"])) if str(item.get("id", "")).isdigit() else None
            if obj is None or obj.archived:
                missing.append(str(item.get("id")))
                continue
            portal.update(object_type, obj.id, {k: (None if v is None else str(v)) for k, v in (item.get("properties") or {}).items()})
            results.append(_serialize(obj, None))
    return _batch_answer(results, started, missing, portal, "Could not update some objects, they may be deleted or not exist.")


def _association_problem(portal: SandboxPortal, from_type: str, to_type: str, to_id: int, types: Any) -> str | None:
    """Why HubSpot would refuse associating a record of ``from_type`` with ``to_id`` of
    ``to_type`` by ``types`` (None if it would not): the types must be the pair's default one,
    category and id as the labels API lists them (a custom object's is USER_DEFINED)."""
    wanted = portal.label_type(from_type, to_type, None)
    given = [(t.get("associationCategory"), int(t.get("associationTypeId") or 0)) for t in types or [] if isinstance(t, dict)]
    if given != [(wanted.category, wanted.type_id)]:
        shown = ", ".join(f"{category} {type_id}" for category, type_id in given) or "none"
        return f"invalid association to {to_id}: no such association type ({shown}) from {from_type} to {to_type}"
    return None


def route_associations_create(portal: SandboxPortal, from_type: str, to_type: str, body: Any) -> tuple[int, dict[str, Any]]:
    """POST /crm/v4/associations/{from}/{to}/batch/create (HubSpot's spec: inputs of from, to and
    types; 201 with the pairs and their labels, 207 naming inputs whose records don't exist; 400
    for an association type the pair doesn't have, as for a custom object's named HUBSPOT_DEFINED)."""
    inputs = _batch_inputs(body)
    results, errors = [], []
    with portal.lock:
        refused = [
            problem for item in inputs
            if (problem := _association_problem(portal, from_type, to_type, int(item["to"]["id"]), item.get("types")))
        ]
        if refused:
            raise _ApiError(400, _error("Invalid association type", "VALIDATION_ERROR", errors=[{"message": m, "code": "INVALID_ASSOCIATION"} for m in refused]))
        for item in inputs:
            from_id, to_id = int(item["from"]["id"]), int(item["to"]["id"])
            if portal.type_of(from_id) != canonical_type(from_type) or portal.type_of(to_id) != canonical_type(to_type):
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "message": f"no {from_type} {from_id} or {to_type} {to_id}", "context": {"fromObjectId": [str(from_id)]}})
                continue
            portal.associate(from_type, from_id, to_type, to_id)
            results.append({"fromObjectId": from_id, "toObjectId": to_id, "labels": []})
    answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": iso_ms(portal.now()), "completedAt": iso_ms(portal.now())}
    if errors:
        answer["numErrors"], answer["errors"] = len(errors), errors
        return 207, answer
    return 201, answer


def route_associations_archive(portal: SandboxPortal, from_type: str, to_type: str, body: Any) -> tuple[int, dict[str, Any]]:
    """POST /crm/v4/associations/{from}/{to}/batch/archive: inputs of from and a list of to;
    204 with no content, also for pairs that were not associated."""
    for item in _batch_inputs(body):
        for target in item.get("to") or []:
            portal.dissociate(from_type, int(item["from"]["id"]), to_type, int(target["id"]))
    return 204, {}

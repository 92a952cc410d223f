"""The sandbox's HubSpot endpoints: request in, HubSpot-shaped answer out, over a SandboxPortal.

Shapes: HubSpot's API reference (CRM objects v3 list, search and batch read; associations v4
batch read; owners v3) and the SDK's generated models, as listed in ``server.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Callable

from integrations.hubspot.sandbox.portal import PropertySpec, SandboxObject, SandboxPortal, canonical_type, is_custom_type, iso_ms

SEARCH_RESULT_CAP = 10_000  # HubSpot: a search query pages through at most 10,000 results
SEARCH_MAX_LIMIT = 200
LIST_MAX_LIMIT = 100
BATCH_MAX_INPUTS = 100
# Associations batch read: 1,000 inputs (HubSpot developer changelog, 2025-02-10).
ASSOCIATION_BATCH_MAX_INPUTS = 1000
# How many associations of one record a list call carries inline before it pages them. HubSpot
# doesn't document the number; the sandbox's is small enough for tests to reach.
INLINE_ASSOCIATIONS_MAX = 100
# Singular names in inline association types (``deal_to_company``); other types go as they are.
_SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "tasks": "task", "subscriptions": "subscription", "services": "service"}


def _error(message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}


class _ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        self.status = status
        self.body = body


# --------------------------------------------------------------------------- routes


def _serialize(obj: SandboxObject, properties: list[str] | None) -> dict[str, Any]:
    if properties:
        wanted = set(properties) | {"hs_object_id", "createdate"}
        props = {name: obj.properties.get(name) for name in wanted}
        for name in ("hs_lastmodifieddate", "lastmodifieddate"):
            if name in obj.properties:
                props[name] = obj.properties[name]
    else:
        props = dict(obj.properties)
    item: dict[str, Any] = {
        "id": str(obj.id),
        "properties": props,
        "createdAt": iso_ms(obj.created_at),
        "updatedAt": iso_ms(obj.updated_at),
        "archived": obj.archived,
    }
    if obj.archived_at:
        item["archivedAt"] = iso_ms(obj.archived_at)
    return item


def _int_param(query: dict[str, list[str]], name: str, default: int, maximum: int) -> int:
    raw = query.get(name, [str(default)])[0]
    try:
        return max(1, min(int(raw), maximum))
    except ValueError:
        raise _ApiError(400, _error(f"Invalid {name}: {raw}", "VALIDATION_ERROR")) from None


def _properties_param(query: dict[str, list[str]], name: str = "properties") -> list[str]:
    names: list[str] = []
    for value in query.get(name, []):
        names.extend(part for part in value.split(",") if part)
    return names


def route_list_objects(portal: SandboxPortal, object_type: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
    limit = _int_param(query, "limit", 10, LIST_MAX_LIMIT)
    archived = query.get("archived", ["false"])[0].lower() == "true"
    after = int(query.get("after", ["0"])[0] or 0)
    properties = _properties_param(query)
    inline = _properties_param(query, "associations")
    with portal.lock:
        rows = sorted(
            (obj for obj in portal.table(object_type).values() if obj.archived == archived and obj.id > after),
            key=lambda obj: obj.id,
        )
        page = rows[: limit + 1]
        result: dict[str, Any] = {"results": [_serialize(obj, properties) for obj in page[:limit]]}
        if inline and not archived:
            for item, obj in zip(result["results"], page[:limit]):
                item["associations"] = _inline_associations(portal, object_type, obj.id, inline)
    if len(page) > limit:
        next_after = str(page[limit - 1].id)
        result["paging"] = {"next": {"after": next_after, "link": f"/crm/v3/objects/{object_type}?after={next_after}"}}
    return result


def _inline_associations(portal: SandboxPortal, object_type: str, object_id: int, to_types: list[str]) -> dict[str, Any]:
    """A list call's ``associations``: one ``{"id", "type"}`` per association type, the
    HubSpot-defined primary as ``<from>_to_<to>``, the default as ``<from>_to_<to>_unlabeled``
    where a primary exists, a user-defined label by its name; types without any are left out."""
    found: dict[str, Any] = {}
    source = _SINGULAR.get(canonical_type(object_type), canonical_type(object_type))
    for to_type in to_types:
        target = _SINGULAR.get(canonical_type(to_type), canonical_type(to_type))
        entries = []
        for to_id, types in sorted(portal.associated(object_type, object_id, to_type).items()):
            for kind in types:
                if kind.category == "USER_DEFINED" and kind.label:
                    name = kind.label.lower().replace(" ", "_")
                elif kind.label is None and portal.has_primary_label(object_type, to_type):
                    name = f"{source}_to_{target}_unlabeled"
                else:
                    name = f"{source}_to_{target}"
                entries.append({"id": str(to_id), "type": name})
        if not entries:
            continue
        listing: dict[str, Any] = {"results": entries[:INLINE_ASSOCIATIONS_MAX]}
        if len(entries) > INLINE_ASSOCIATIONS_MAX:
            listing["paging"] = {"next": {"after": str(INLINE_ASSOCIATIONS_MAX), "link": ""}}
        found[to_type] = listing
    return found


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "GT": lambda a, b: a is not None and a > b,
    "GTE": lambda a, b: a is not None and a >= b,
    "LT": lambda a, b: a is not None and a < b,
    "LTE": lambda a, b: a is not None and a <= b,
}


def _comparable(value: str | None) -> Any:
    """Compare numbers as numbers and HubSpot datetimes (ISO or epoch ms) as epoch ms."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        return value


def _matches(obj: SandboxObject, flt: dict[str, Any]) -> bool:
    name, operator = flt.get("propertyName"), str(flt.get("operator", "EQ")).upper()
    actual = _comparable(str(obj.id) if name == "hs_object_id" else obj.properties.get(name))
    if operator == "HAS_PROPERTY":
        return actual is not None
    if operator == "NOT_HAS_PROPERTY":
        return actual is None
    if operator == "IN":
        return actual in {_comparable(v) for v in flt.get("values", [])}
    if operator == "BETWEEN":
        return actual is not None and _comparable(flt.get("value")) <= actual <= _comparable(flt.get("highValue"))
    if operator not in _OPERATORS:
        raise _ApiError(400, _error(f"Unsupported operator {operator}", "VALIDATION_ERROR"))
    try:
        return _OPERATORS[operator](actual, _comparable(flt.get("value")))
    except TypeError:
        return False


def route_search(portal: SandboxPortal, object_type: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
    body = body or {}
    limit = int(body.get("limit", 10))
    if limit > SEARCH_MAX_LIMIT:
        raise _ApiError(400, _error(f"limit must be at most {SEARCH_MAX_LIMIT}", "VALIDATION_ERROR"))
    offset = int(body.get("after") or 0)
    if offset + limit > SEARCH_RESULT_CAP:
        # What HubSpot answers when paging a search past its 10,000th result.
        raise _ApiError(400, _error("There was a problem with the request.", "VALIDATION_ERROR", subCategory="PagingLimitExceeded"))
    groups = body.get("filterGroups") or [{"filters": []}]
    with portal.lock:
        rows = [
            obj
            for obj in portal.table(object_type).values()
            if not obj.archived and any(all(_matches(obj, f) for f in g.get("filters", [])) for g in groups)
        ]
        for sort in reversed(body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]):
            name = sort.get("propertyName")
            rows.sort(
                key=lambda o: (_comparable(str(o.id) if name == "hs_object_id" else o.properties.get(name)) or 0),
                reverse=str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING",
            )
        page = rows[offset : offset + limit]
        result: dict[str, Any] = {"total": len(rows), "results": [_serialize(obj, body.get("properties")) for obj in page]}
    if offset + limit < len(rows):
        result["paging"] = {"next": {"after": str(offset + limit)}}
    return result


def _batch_inputs(body: Any, limit: int = BATCH_MAX_INPUTS) -> list[dict[str, Any]]:
    inputs = (body or {}).get("inputs") or []
    if len(inputs) > limit:
        raise _ApiError(400, _error(f"Batch input limit is {limit}", "VALIDATION_ERROR"))
    return inputs


def _batch_answer(results: list[dict[str, Any]], started: str, missing: list[str], portal: SandboxPortal, message: str) -> tuple[int, dict[str, Any]]:
    """HubSpot's batch answer: 200 when every input was found, else 207 naming the missing ids."""
    answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": iso_ms(portal.now())}
    if not missing:
        return 200, answer
    answer["numErrors"] = 1
    answer["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": message, "context": {"ids": missing}}]
    return 207, answer


def route_batch_read(portal: SandboxPortal, object_type: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
    inputs = _batch_inputs(body)
    started = iso_ms(portal.now())
    results, missing = [], []
    with portal.lock:
        table = portal.table(object_type)
        for item in inputs:
            obj = table.get(int(item["id"])) if str(item.get("id", "")).isdigit() else None
            if obj is None or obj.archived:
                missing.append(str(item.get("id")))
            else:
                results.append(_serialize(obj, (body or {}).get("properties")))
    return _batch_answer(results, started, missing, portal, "Could not get some objects, they may be deleted or not exist.")


def route_associations(portal: SandboxPortal, from_type: str, to_type: str, body: Any) -> tuple[int, dict[str, Any]]:
    inputs = _batch_inputs(body, ASSOCIATION_BATCH_MAX_INPUTS)
    page_size = 500  # HubSpot pages the associations of one record at 500
    results, errors = [], []
    with portal.lock:
        for item in inputs:
            from_id = int(item["id"])
            linked = sorted(portal.associated(from_type, from_id, to_type).items())
            start = int(item.get("after") or 0)
            linked = [pair for pair in linked if pair[0] > start]
            if not linked:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"No {canonical_type(to_type)} is associated with {canonical_type(from_type)} {from_id}.",
                        "context": {"fromObjectId": [str(from_id)]},
                    }
                )
                continue
            chunk = linked[:page_size]
            entry: dict[str, Any] = {
                "from": {"id": str(from_id)},
                "to": [
                    {
                        "toObjectId": to_id,
                        "associationTypes": [{"category": t.category, "typeId": t.type_id, "label": t.label} for t in types],
                    }
                    for to_id, types in chunk
                ],
            }
            if len(linked) > page_size:
                entry["paging"] = {"next": {"after": str(chunk[-1][0])}}
            results.append(entry)
    answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": iso_ms(portal.now()), "completedAt": iso_ms(portal.now())}
    if errors:
        answer["numErrors"] = len(errors)
        answer["errors"] = errors
        return 207, answer
    return 200, answer


def route_owners(portal: SandboxPortal, query: dict[str, list[str]]) -> dict[str, Any]:
    limit = _int_param(query, "limit", 100, 500)
    archived = query.get("archived", ["false"])[0].lower() == "true"
    after = int(query.get("after", ["0"])[0] or 0)
    with portal.lock:
        owners = sorted((o for o in portal.owners.values() if o.archived == archived and o.id > after), key=lambda o: o.id)
    result: dict[str, Any] = {
        "results": [
            {
                "id": str(o.id),
                "email": o.email,
                "type": "PERSON",
                "firstName": o.first_name,
                "lastName": o.last_name,
                "userId": o.user_id,
                "userIdIncludingInactive": o.user_id,
                "createdAt": iso_ms(o.created_at),
                "updatedAt": iso_ms(o.updated_at),
                "archived": o.archived,
                "teams": [{"id": team_id, "name": name, "primary": primary} for team_id, name, primary in o.teams],
            }
            for o in owners[:limit]
        ]
    }
    if len(owners) > limit:
        result["paging"] = {"next": {"after": str(owners[limit - 1].id)}}
    return result


def route_association_labels(portal: SandboxPortal, from_type: str, to_type: str) -> dict[str, Any]:
    """GET /crm/v4/associations/{from}/{to}/labels: the association types between two object
    types, HubSpot's own "Primary" among them where the pair has one."""
    unlabelled = portal.label_type(from_type, to_type, None)
    results = [{"category": unlabelled.category, "typeId": unlabelled.type_id, "label": None}]
    if portal.has_primary_label(from_type, to_type):
        primary = portal.label_type(from_type, to_type, None, primary=True)
        results.append({"category": primary.category, "typeId": primary.type_id, "label": primary.label})
    with portal.lock:
        for (a, b, label), type_id in portal.user_labels.items():
            if (a, b) == (canonical_type(from_type), canonical_type(to_type)):
                results.append({"category": "USER_DEFINED", "typeId": type_id, "label": label})
    return {"results": results}


# Property definitions (name → HubSpot type) the sandbox's portals use, as a partner's portal
# would define them; any other property a record holds is a string. HubSpot's types: string,
# number, date, datetime, enumeration, bool (properties API reference).
PROPERTY_TYPES = {
    "companies": {"name": "string", "domain": "string", "hubspot_owner_id": "enumeration"},
    "contacts": {"email": "string", "firstname": "string", "lastname": "string", "hs_email_hard_bounce_reason_enum": "enumeration", "hs_email_optout": "bool"},
    "deals": {
        "dealname": "string", "renewal_date": "date", "renewal_deadline": "date", "renewal_products": "string",
        "current_monthly_price": "number", "renewal_monthly_price": "number", "deal_currency_code": "enumeration",
        "renewal_communication_owner": "enumeration", "contact_tier": "number", "contacts_used": "number",
        "marketing_emails_sent_month": "number", "dealstage": "enumeration", "hubspot_owner_id": "enumeration",
        "renewal_discount_percent": "number", "renewal_discount_end_date": "date", "hubspot_renewal_manager": "string",
        "renewal_options_url": "string", "pipeline": "enumeration",
    },
    # The services object's own properties and those the generator's service contracts carry;
    # a custom object holding service contracts is given the same ones (the generator says so).
    "services": {
        "hs_name": "string", "hs_pipeline_stage": "enumeration", "hubspot_owner_id": "enumeration", "renewal_date": "date",
        "renewal_deadline": "date", "current_monthly_price": "number", "renewal_monthly_price": "number",
        "service_currency_code": "enumeration", "renewal_discount_percent": "number", "renewal_discount_end_date": "date",
    },
    "tasks": {
        "hs_task_subject": "string", "hs_task_body": "string", "hs_timestamp": "datetime", "hs_task_reminders": "string",
        "hs_task_status": "enumeration", "hs_task_priority": "enumeration", "hs_task_type": "enumeration",
        "hubspot_owner_id": "enumeration",
    },
}


# What a partner's portal shows of those properties: labels (a Spanish partner's in Spanish),
# descriptions and an enumeration's options, as the properties API answers them.
PROPERTY_LABELS = {
    "renewal_date": ("Fecha de renovación", "Día en que se renueva la suscripción"),
    "renewal_deadline": ("Fecha tope de renovación", "Último día para cancelar o renegociar"),
    "renewal_products": ("Productos a renovar", ""),
    "current_monthly_price": ("Precio mensual actual", ""),
    "renewal_monthly_price": ("Precio mensual de renovación", ""),
    "deal_currency_code": ("Currency", "The deal's currency (ISO 4217)"),
    "service_currency_code": ("Moneda", ""),
    "renewal_communication_owner": ("Responsable de la comunicación", "Quién comunica la renovación al cliente: HubSpot o el partner"),
    "contact_tier": ("Nivel de contactos", "Contactos de marketing incluidos en la suscripción"),
    "contacts_used": ("Contactos usados", ""),
    "marketing_emails_sent_month": ("Correos de marketing enviados este mes", ""),
    "dealstage": ("Deal Stage", ""),
    "hs_pipeline_stage": ("Pipeline stage", ""),
    "hubspot_owner_id": ("Deal owner", ""),
    "renewal_discount_percent": ("Descuento (%)", ""),
    "renewal_discount_end_date": ("Fin del descuento", ""),
    "hubspot_renewal_manager": ("Mánager de renovación de HubSpot", ""),
    "renewal_options_url": ("Opciones de renovación (enlace)", ""),
    "dealname": ("Deal Name", ""),
    "hs_name": ("Name", ""),
    "pipeline": ("Pipeline", ""),
}
PROPERTY_OPTIONS = {
    "renewal_communication_owner": (("hubspot", "HubSpot"), ("partner", "Partner")),
    "dealstage": (("appointmentscheduled", "Appointment scheduled"), ("renewal_open", "Renewal open"), ("closedwon", "Closed won"), ("closedlost", "Closed lost")),
    "hs_pipeline_stage": (("active", "Active"), ("cancelled", "Cancelled")),
}


def route_list_properties(portal: SandboxPortal, object_type: str) -> dict[str, Any]:
    """GET /crm/v3/properties/{objectType} (or /crm/properties/{version}/…): the object's
    property definitions, ``results`` of name, label, type and fieldType."""
    kind = canonical_type(object_type)
    # An object given its own definitions has those alone (and what its records hold).
    defined = {} if kind in portal.property_specs else dict(PROPERTY_TYPES.get(portal.defined_like.get(kind, kind), {}))
    if kind == "tasks":  # a property the portal's rules require on tasks exists on tasks
        defined.update({rule.name: "string" for rule in portal.task_rules})
    with portal.lock:
        own = dict(portal.property_specs.get(kind, {}))
        for obj in portal.table(kind).values():
            for name in obj.properties:
                defined.setdefault(name, "string")
    specs = {
        name: own.get(name) or PropertySpec(
            kind_of, PROPERTY_LABELS.get(name, (name.replace("_", " ").capitalize(), ""))[0],
            PROPERTY_LABELS.get(name, ("", ""))[1], PROPERTY_OPTIONS.get(name, ()),
        )
        for name, kind_of in {**defined, **{name: spec.type for name, spec in own.items()}}.items()
    }
    return {
        "results": [
            {
                "name": name, "label": spec.label, "description": spec.description, "type": spec.type,
                "fieldType": "select" if spec.type == "enumeration" else "text", "hidden": False,
                "options": [{"value": value, "label": label, "hidden": False} for value, label in spec.options],
            }
            for name, spec in sorted(specs.items())
        ]
    }


def route_list_schemas(portal: SandboxPortal) -> dict[str, Any]:
    """GET /crm-object-schemas/{version}/schemas (v3: /crm/v3/schemas): the portal's custom objects,
    each an ``ObjectSchema`` (PublicApiSpecs/CRM/Schemas, 2026-09) with its properties."""
    with portal.lock:
        kinds = sorted(set(portal.schemas) | {kind for kind in portal.objects if is_custom_type(kind)})
        named = dict(portal.schemas)
    results = []
    for kind in kinds:
        name, singular, plural = named.get(kind, (f"object_{kind[2:]}", "Object", "Objects"))
        properties = route_list_properties(portal, kind)["results"]
        results.append({
            "id": kind[2:], "objectTypeId": kind, "name": name, "fullyQualifiedName": f"p{portal.portal_id}_{name}",
            "labels": {"singular": singular, "plural": plural}, "archived": False, "associations": [],
            "properties": properties, "requiredProperties": [], "searchableProperties": [],
            "secondaryDisplayProperties": [], "allowsSensitiveProperties": False,
            "primaryDisplayProperty": properties[0]["name"] if properties else "",
        })
    return {"results": results}


def route_email_statistics(portal: SandboxPortal, query: dict[str, list[str]]) -> dict[str, Any]:
    """GET /marketing/emails/{version}/statistics/list: ``AggregateEmailStatistics`` (the 2026-09
    spec: ``aggregate``, ``campaignAggregations``, ``emails``) over startTimestamp..endTimestamp,
    ISO 8601. Only ``counters.sent`` is modelled."""
    def moment(name: str) -> datetime | None:
        raw = (query.get(name) or [""])[0]
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise _ApiError(400, _error(f"Invalid {name}: {raw}", "VALIDATION_ERROR")) from None

    start, end = moment("startTimestamp"), moment("endTimestamp")
    with portal.lock:
        sent = sum(count for at, count in portal.marketing_sends if (start is None or at >= start) and (end is None or at <= end))
    counters = {"sent": sent, "delivered": sent, "open": sent // 4} if sent else {}
    return {
        "aggregate": {"counters": counters, "deviceBreakdown": {}, "qualifierStats": {}, "ratios": {}},
        "campaignAggregations": {}, "emails": [],
    }

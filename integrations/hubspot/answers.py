"""HubSpot's 2xx bodies → our frozen types, after checking each is the answer that call promises.

Why the gateway reads bodies itself instead of through the SDK's models: the SDK's deserializer
falls back to the raw string when a body is not JSON and then builds an *empty* model from it, so
a 200 whose body was cut short (with a consistent ``Content-Length``) or an HTML page from a
proxy came back as "no results, no next page". A sync took that as the end of the list and a
reconcile then marked the rest of the portal deleted. Here, anything but the promised shape is a
``MalformedAnswer``: retried like a 5xx, and never read as "nothing there".

What is checked (HubSpot's API reference and its public OpenAPI specs for CRM objects v3, search,
batch read, associations v4 batch read and owners v3):
- the body is UTF-8 JSON and an object;
- lists and batches carry ``results`` as a list of objects, each with an ``id``;
- a paging cursor comes only with results, and is a non-empty string;
- a batch accounts for every id it was asked for, as a result or in an error's ``context``, and
  answers for no id it was not asked for.
Values inside a record (property strings, timestamps) are not judged here: a bad value is the
sync's to report as a finding, never a failed call.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import structlog

from integrations.hubspot.errors import MalformedAnswer
from integrations.hubspot.types import (
    AccountDetails,
    Associated,
    AssociationLabel,
    CrmRecord,
    CustomObjectType,
    Owner,
    PropertyDefinition,
    PropertyOption,
    Team,
)

log = structlog.get_logger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Where a batch error names the inputs it is about (objects: ``ids``; associations v4:
# ``fromObjectId``; creates: ``objectWriteTraceId``).
ERROR_ID_KEYS = ("ids", "id", "fromObjectId", "objectWriteTraceId")
MAX_INT32 = 2_147_483_647  # the cache's integer columns on PostgreSQL


def decode(raw: bytes, endpoint: str) -> dict[str, Any]:
    """The body as a JSON object, or ``MalformedAnswer`` naming the call and what was wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedAnswer(f"{endpoint}: HubSpot's answer is not UTF-8 text") from None
    if not text.strip():
        raise MalformedAnswer(f"{endpoint}: HubSpot's answer is empty")
    try:
        body = json.loads(text)
    except ValueError:
        hint = "an HTML page" if text.lstrip()[:1] == "<" else "cut short or not JSON"
        raise MalformedAnswer(f"{endpoint}: HubSpot's answer is {hint} ({len(raw)} bytes)") from None
    if not isinstance(body, dict):
        raise MalformedAnswer(f"{endpoint}: HubSpot's answer is JSON but not an object")
    return body


def _results(body: Mapping[str, Any], endpoint: str) -> list[dict[str, Any]]:
    results = body.get("results")
    if not isinstance(results, list):
        raise MalformedAnswer(f"{endpoint}: HubSpot's answer has no 'results' list")
    for item in results:
        if not isinstance(item, dict):
            raise MalformedAnswer(f"{endpoint}: a result is not an object")
    return results


def _cursor(paging: Any, endpoint: str) -> str | None:
    if paging is None:
        return None
    if not isinstance(paging, dict):
        raise MalformedAnswer(f"{endpoint}: 'paging' is not an object")
    following = paging.get("next")
    if following is None:
        return None
    after = following.get("after") if isinstance(following, dict) else None
    if not isinstance(after, (str, int)) or isinstance(after, bool) or str(after) == "":
        raise MalformedAnswer(f"{endpoint}: 'paging.next' has no usable 'after' cursor")
    return str(after)


def _record_id(item: Mapping[str, Any], endpoint: str, key: str = "id") -> str:
    """HubSpot's record, owner and association ids are numbers (sent as strings or numbers)."""
    value = item.get(key)
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()):
        raise MalformedAnswer(f"{endpoint}: a result has no numeric '{key}'")
    return text


def timestamp(value: Any) -> datetime | None:
    """HubSpot's ISO-8601 timestamps (``2026-01-31T09:00:00.000Z``) as UTC; None when absent or
    unreadable (a record's bookkeeping dates never fail a sync)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        return None


def record(item: Mapping[str, Any], endpoint: str) -> CrmRecord:
    properties = item.get("properties") or {}
    if not isinstance(properties, dict):
        raise MalformedAnswer(f"{endpoint}: a result's 'properties' is not an object")
    return CrmRecord(
        id=_record_id(item, endpoint),
        # Property values are strings in HubSpot's answers; anything else is kept as its text
        # so the sync can judge it (and report it) like any other odd value.
        properties={str(k): (v if v is None or isinstance(v, str) else json.dumps(v)) for k, v in properties.items()},
        created_at=timestamp(item.get("createdAt")),
        updated_at=timestamp(item.get("updatedAt")),
        archived=item.get("archived") is True,
        archived_at=timestamp(item.get("archivedAt")),
        **_inline_associations(item.get("associations"), endpoint),
    )


def _inline_associations(value: Any, endpoint: str) -> dict[str, Any]:
    """The ``associations`` a list call carries when asked (``associations=companies``).

    Unlike the v4 batch read, these name each association by a type string, one entry per type
    (HubSpot Community, "Object data fetch - sorting out associations", and the SDK's
    ``AssociatedId``): ``deal_to_company`` is the Primary company, ``deal_to_company_unlabeled``
    any association, and a user-defined label comes as its own name. A record whose list is
    longer than the answer holds carries a ``paging`` cursor: that type is marked cut, and the
    caller reads it whole through the v4 batch read.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedAnswer(f"{endpoint}: a result's 'associations' is not an object")
    found: dict[str, tuple[Associated, ...]] = {}
    cut = set()
    for to_type, listing in value.items():
        if not isinstance(listing, dict):
            raise MalformedAnswer(f"{endpoint}: associations to {to_type!r} are not an object")
        labels: dict[str, list[AssociationLabel]] = {}
        for item in _results(listing, endpoint):
            kind = item.get("type")
            if not isinstance(kind, str):
                raise MalformedAnswer(f"{endpoint}: an inline association has no 'type'")
            labels.setdefault(_record_id(item, endpoint), []).append(_inline_label(kind))
        found[str(to_type)] = tuple(Associated(to_id, tuple(items)) for to_id, items in labels.items())
        if _cursor(listing.get("paging"), endpoint):
            cut.add(str(to_type))
    return {"associations": found, "associations_cut": frozenset(cut)}


def _inline_label(kind: str) -> AssociationLabel:
    """An inline association's type string as the label the v4 API would give (type ids are not
    part of the inline answer: 0)."""
    if kind.endswith("_unlabeled"):
        return AssociationLabel("HUBSPOT_DEFINED", 0, None)
    if "_to_" in kind and "_" not in kind.rsplit("_to_", 1)[1]:
        return AssociationLabel("HUBSPOT_DEFINED", 0, "Primary")  # <from>_to_<to>: the primary one
    return AssociationLabel("USER_DEFINED", 0, kind)


def collection(body: Mapping[str, Any], endpoint: str) -> tuple[list[dict[str, Any]], str | None]:
    """A list page: its results and the cursor of the next page (None on the last page)."""
    results = _results(body, endpoint)
    after = _cursor(body.get("paging"), endpoint)
    if after is not None and not results:
        raise MalformedAnswer(f"{endpoint}: a next-page cursor on an empty page")
    return results, after


def records(body: Mapping[str, Any], endpoint: str) -> tuple[list[CrmRecord], str | None]:
    results, after = collection(body, endpoint)
    return distinct([record(item, endpoint) for item in results], endpoint), after


def distinct(found: list[CrmRecord], endpoint: str) -> list[CrmRecord]:
    """One record per id: an answer that names an id twice (a paging bug, a replica behind a
    proxy) keeps the copy modified last (the later one on a tie), logged; the database would
    otherwise be asked to write one row twice in a statement (PostgreSQL refuses it)."""
    chosen: dict[str, CrmRecord] = {}
    for item in found:
        kept = chosen.get(item.id)
        if kept is None or (item.updated_at or _EPOCH) >= (kept.updated_at or _EPOCH):
            chosen[item.id] = item
    if len(chosen) < len(found):
        log.warning("answer.duplicate_ids", endpoint=endpoint, records=len(found), distinct=len(chosen))
        return list(chosen.values())
    return found


def search_total(body: Mapping[str, Any], endpoint: str) -> int:
    total = body.get("total")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise MalformedAnswer(f"{endpoint}: a search answer without a 'total'")
    return total


def owners(body: Mapping[str, Any], endpoint: str) -> tuple[list[Owner], str | None]:
    results, after = collection(body, endpoint)
    found = []
    for item in results:
        user_id = item.get("userId")
        found.append(
            Owner(
                id=_record_id(item, endpoint),
                email=_optional_text(item.get("email")),
                first_name=_optional_text(item.get("firstName")),
                last_name=_optional_text(item.get("lastName")),
                user_id=user_id if isinstance(user_id, int) and not isinstance(user_id, bool) and 0 <= user_id <= MAX_INT32 else None,
                archived=item.get("archived") is True,
                updated_at=timestamp(item.get("updatedAt")),
                teams=_teams(item.get("teams")),
            )
        )
    return found, after


def _teams(value: Any) -> tuple[Team, ...]:
    """An owner's teams (PublicTeam: id, name, primary), shown to people, never judged: one that
    is not the promised shape is left out rather than refusing the owners answer."""
    if not isinstance(value, list):
        return ()
    return tuple(
        Team(str(item["id"]), _optional_text(item["name"]) or "", item.get("primary") is True)
        for item in value
        if isinstance(item, Mapping) and isinstance(item.get("id"), (str, int)) and not isinstance(item.get("id"), bool) and isinstance(item.get("name"), str)
    )


def _optional_text(value: Any) -> str | None:
    # An owner's name is shown, never judged: a NUL in it (unstorable in PostgreSQL) just goes.
    return value.replace("\x00", "") if isinstance(value, str) else None


def batch_errors(body: Mapping[str, Any], endpoint: str) -> list[tuple[str, list[str]]]:
    """A batch's per-input errors as (message, the inputs it names)."""
    errors = body.get("errors") or []
    if not isinstance(errors, list):
        raise MalformedAnswer(f"{endpoint}: 'errors' is not a list")
    found = []
    for error in errors:
        if not isinstance(error, dict):
            raise MalformedAnswer(f"{endpoint}: an error is not an object")
        message = f"{error.get('category') or 'ERROR'}: {error.get('message') or ''}"[:300]
        context = error.get("context") if isinstance(error.get("context"), dict) else {}
        named: list[str] = []
        for key in ERROR_ID_KEYS:
            value = context.get(key)
            if isinstance(value, list):
                named.extend(str(v) for v in value)
            elif isinstance(value, (str, int)) and not isinstance(value, bool):
                named.append(str(value))
        found.append((message, named))
    return found


def account_for(asked: Iterable[str], answered: Iterable[str], errors: Sequence[tuple[str, list[str]]], endpoint: str) -> None:
    """Every id asked for is answered or named by an error; nothing else is answered.

    An id that is neither is not "gone": it is an answer we cannot trust.
    """
    asked_set = {str(i) for i in asked}
    answered_set = set(answered)
    stray = answered_set - asked_set
    if stray:
        raise MalformedAnswer(f"{endpoint}: HubSpot answered for {len(stray)} id(s) it was not asked for")
    named = {i for _message, ids in errors for i in ids}
    missing = asked_set - answered_set - named
    if missing:
        raise MalformedAnswer(f"{endpoint}: HubSpot's answer accounts for {len(asked_set) - len(missing)} of {len(asked_set)} ids")


def batch_records(body: Mapping[str, Any], endpoint: str, asked: Sequence[str]) -> list[CrmRecord]:
    """A batch read: the records found. Ids HubSpot reports as not found are simply absent."""
    found = distinct([record(item, endpoint) for item in _results(body, endpoint)], endpoint)
    account_for(asked, (r.id for r in found), batch_errors(body, endpoint), endpoint)
    return found


def associations(
    body: Mapping[str, Any], endpoint: str, asked: Sequence[str]
) -> tuple[dict[str, list[Associated]], dict[str, str]]:
    """An associations v4 batch read: associated records per asked id, and the per-record
    cursors of those with more. An id without associations comes back as an error naming it."""
    found: dict[str, list[Associated]] = {}
    more: dict[str, str] = {}
    for result in _results(body, endpoint):
        origin = result.get("from")
        if not isinstance(origin, dict):
            raise MalformedAnswer(f"{endpoint}: a result has no 'from'")
        from_id = _record_id(origin, endpoint)
        targets = result.get("to")
        if not isinstance(targets, list):
            raise MalformedAnswer(f"{endpoint}: a result has no 'to' list")
        linked = found.setdefault(from_id, [])
        for target in targets:
            if not isinstance(target, dict):
                raise MalformedAnswer(f"{endpoint}: an associated record is not an object")
            types = target.get("associationTypes") or []
            if not isinstance(types, list) or not all(isinstance(t, dict) for t in types):
                raise MalformedAnswer(f"{endpoint}: 'associationTypes' is not a list of objects")
            linked.append(
                Associated(
                    to_id=_record_id(target, endpoint, "toObjectId"),
                    labels=tuple(_label(t, endpoint) for t in types),
                )
            )
        cursor = _cursor(result.get("paging"), endpoint)
        if cursor:
            more[from_id] = cursor
    account_for(asked, found, batch_errors(body, endpoint), endpoint)
    return found, more


def _label(item: Mapping[str, Any], endpoint: str) -> AssociationLabel:
    type_id = item.get("typeId")
    if isinstance(type_id, bool) or not isinstance(type_id, int):
        raise MalformedAnswer(f"{endpoint}: an association type has no 'typeId'")
    label = item.get("label")
    return AssociationLabel(category=str(item.get("category") or ""), type_id=type_id, label=label if isinstance(label, str) else None)


def association_specs(body: Mapping[str, Any], endpoint: str) -> list[AssociationLabel]:
    """GET .../labels: the association types between two object types."""
    return [_label(item, endpoint) for item in _results(body, endpoint)]


def property_types(body: Mapping[str, Any], endpoint: str) -> dict[str, str]:
    """GET …/properties/{objectType}: property name → HubSpot type (string, number, date, …)."""
    found = {}
    for item in _results(body, endpoint):
        name, kind = item.get("name"), item.get("type")
        if not isinstance(name, str) or not isinstance(kind, str):
            raise MalformedAnswer(f"{endpoint}: a property without a name or a type")
        found[name] = kind
    return found


def property_definitions(body: Mapping[str, Any], endpoint: str) -> list[PropertyDefinition]:
    """GET …/properties/{objectType}: each property's name, label, type, field type, description
    and options (an enumeration's values and their labels); text as typed, never trusted as markup."""
    found = []
    for item in _results(body, endpoint):
        name, kind = item.get("name"), item.get("type")
        if not isinstance(name, str) or not isinstance(kind, str):
            raise MalformedAnswer(f"{endpoint}: a property without a name or a type")
        options = tuple(
            PropertyOption(str(option["value"]), str(option.get("label") or option["value"]))
            for option in item.get("options") or () if isinstance(option, Mapping) and option.get("value") not in (None, "")
        )
        text = lambda key: item.get(key) if isinstance(item.get(key), str) else ""  # noqa: E731 - one use
        found.append(PropertyDefinition(name, text("label") or name, kind, text("fieldType"), text("description"), options))
    return found


def custom_object_types(body: Mapping[str, Any], endpoint: str) -> list[CustomObjectType]:
    """GET …/schemas: the portal's custom objects (``objectTypeId`` "2-…", ``name``, ``labels``).
    A schema without a usable type id is left out: it cannot be read anyway."""
    found = []
    for item in _results(body, endpoint):
        type_id, name = item.get("objectTypeId") or item.get("id"), item.get("name")
        if not isinstance(type_id, str) or not re.fullmatch(r"2-\d{1,12}", type_id) or not isinstance(name, str):
            continue
        labels = item.get("labels") if isinstance(item.get("labels"), Mapping) else {}
        text = lambda key: labels.get(key) if isinstance(labels.get(key), str) else name  # noqa: E731 - one use
        found.append(CustomObjectType(type_id, name, text("singular"), text("plural")))
    return found


def emails_sent(body: Mapping[str, Any], endpoint: str) -> int:
    """GET …/emails/statistics/list: the marketing emails sent in the span, ``aggregate.counters.sent``.
    An answer without its aggregate is refused (never read as zero); counters without ``sent``
    mean nothing was sent."""
    aggregate = body.get("aggregate")
    counters = aggregate.get("counters") if isinstance(aggregate, Mapping) else None
    if not isinstance(counters, Mapping):
        raise MalformedAnswer(f"{endpoint}: an answer without 'aggregate.counters'")
    sent = counters.get("sent", 0)
    if isinstance(sent, bool) or not isinstance(sent, int) or not 0 <= sent <= MAX_INT32:
        raise MalformedAnswer(f"{endpoint}: 'aggregate.counters.sent' is not a count")
    return sent


def account_details(body: Mapping[str, Any], endpoint: str) -> AccountDetails:
    """GET /account-info/…/details: the portal id (a number) and the app's domain."""
    portal_id = body.get("portalId")
    if isinstance(portal_id, bool) or not isinstance(portal_id, int) or not 0 < portal_id <= MAX_INT32:
        raise MalformedAnswer(f"{endpoint}: an account answer without a 'portalId'")
    domain = body.get("uiDomain")
    # The app's domain goes into links people click: a host name, nothing else.
    if not isinstance(domain, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,252}\.hubspot\.com", domain):
        domain = "app.hubspot.com"
    return AccountDetails(portal_id, domain)

"""The HubSpot gateway: the reads the worker makes, over the one call path (``transport``), each
answer checked (``answers``) and returned as our own frozen types; the task writes come from
``writes``. With the transport and the error mapping, the only code that knows the SDK.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from integrations.hubspot import answers
from integrations.hubspot import endpoints as ep
from integrations.hubspot.limits import MAX_ASSOCIATION_BATCH, MAX_BATCH, batches
from integrations.hubspot.types import (
    AccountDetails,
    Associated,
    AssociationLabel,
    CrmRecord,
    CustomObjectType,
    OwnerPage,
    PropertyDefinition,
    RecordPage,
)
from integrations.hubspot.transport import Transport
from integrations.hubspot.writes import TaskWrites


class HubSpotGateway(Transport, TaskWrites):
    """Reads from a HubSpot portal and writes the worker's tasks. Returns our frozen types;
    raises our errors."""

    def __init__(self, *, task_defaults: Mapping[str, str] | None = None, **transport: Any):
        """``transport``: the ``Transport``'s keywords (base URL, token, limiter, retry policy …)."""
        super().__init__(**transport)
        self._association_types: dict[tuple[str, str], tuple[str, int]] = {}
        # Properties a portal requires on every task, set on each one the worker creates.
        self.task_defaults = dict(task_defaults or {})

    # -- reads

    def list_objects(
        self,
        object_type: str,
        properties: Sequence[str],
        *,
        after: str | None = None,
        archived: bool = False,
        limit: int = 100,
        associations: Sequence[str] = (),
    ) -> RecordPage:
        """One page of a list endpoint. Only ``properties`` are asked for: HubSpot returns 414
        URI Too Long when a client asks for every property of a portal by name.
        ``associations`` (object types) come inline on each record, at no extra call."""
        query: list[tuple[str, Any]] = [("limit", limit), ("archived", str(archived).lower())]
        if after:
            query.append(("after", after))
        if properties:
            query.append(("properties", list(properties)))
        if associations:
            query.append(("associations", list(associations)))
        found, next_after = self._call(
            ep.LIST_OBJECTS, {"objectType": object_type}, query=query, multi=["properties", "associations"],
            parse=lambda body: answers.records(body, ep.LIST_OBJECTS.name),
        )
        return RecordPage(tuple(found), next_after)

    def search_modified_since(
        self,
        object_type: str,
        *,
        since: datetime,
        after_id: int,
        properties: Sequence[str],
        limit: int = 200,
    ) -> RecordPage:
        """Records modified at or after ``since`` with an id above ``after_id``, in id order.

        HubSpot's search stops at 10,000 results per query (a 400 past it), and thousands of
        records can share one modified time (an import, a workflow), so paging with ``after`` or
        by modified date can loop or lose records. Each call here is a fresh query that starts
        above the last id seen: an object-id window that never reaches the cap.
        ``next_after`` is the id to continue from, or None when this was the last page.
        """
        body = {
            "filterGroups": [
                {
                    "filters": [
                        # Datetime filters take epoch milliseconds as a string.
                        {"propertyName": modified_property(object_type), "operator": "GTE", "value": str(_epoch_ms(since))},
                        {"propertyName": "hs_object_id", "operator": "GT", "value": str(after_id)},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": limit,
        }
        found, total = self._call(
            ep.SEARCH_OBJECTS, {"objectType": object_type}, body=body,
            parse=lambda answer: (answers.records(answer, ep.SEARCH_OBJECTS.name)[0], answers.search_total(answer, ep.SEARCH_OBJECTS.name)),
        )
        more = len(found) == limit and total > len(found)
        return RecordPage(tuple(found), found[-1].id if more and found else None)

    def count_objects(
        self, object_type: str, *, equals: Mapping[str, str] | None = None, created_before: datetime | None = None,
    ) -> int:
        """How many active records HubSpot holds (those whose properties have the ``equals``
        values, and created before ``created_before``, when given): a search for one record
        answers with ``total``. The reconcile's cross-check before it concludes that many records
        are gone; a client portal's contacts and marketing contacts."""
        filters = [{"propertyName": name, "operator": "EQ", "value": value} for name, value in (equals or {}).items()]
        if created_before is not None:
            filters.append({"propertyName": "createdate", "operator": "LT", "value": str(_epoch_ms(created_before))})
        body = {"filterGroups": [{"filters": filters}] if filters else [], "properties": ["hs_object_id"], "limit": 1}
        return self._call(
            ep.SEARCH_OBJECTS, {"objectType": object_type}, body=body,
            parse=lambda answer: answers.search_total(answer, ep.SEARCH_OBJECTS.name),
        )

    def count_marketing_contacts(self, *, created_before: datetime | None = None) -> int:
        """The portal's marketing contacts (what its contact tier counts): contacts whose
        ``hs_marketable_status`` is true; those created before ``created_before``, when given."""
        return self.count_objects("contacts", equals={"hs_marketable_status": "true"}, created_before=created_before)

    def batch_read(self, object_type: str, ids: Sequence[str], properties: Sequence[str]) -> list[CrmRecord]:
        """Read records by id, any number (100 per call). Ids HubSpot doesn't know are left out
        of the answer."""
        def read(chunk: list[str]) -> list[CrmRecord]:
            body = {"inputs": [{"id": i} for i in chunk], "properties": list(properties), "propertiesWithHistory": []}
            return self._call(
                ep.BATCH_READ_OBJECTS, {"objectType": object_type}, body=body,
                parse=lambda answer: answers.batch_records(answer, ep.BATCH_READ_OBJECTS.name, chunk),
            )

        return [record for found in self.each(read, batches([str(i) for i in ids], MAX_BATCH)) for record in found]

    def batch_associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, tuple[Associated, ...]]:
        """Associations (with their labels) of any number of records, 1,000 per call; follows
        per-record paging.

        Association labels live only in the v4 API. Changing an association does not move either
        record's last-modified date, which is why the sync re-reads them instead of trusting an
        incremental search to notice.
        """
        found: dict[str, list[Associated]] = {str(i): [] for i in ids}
        pending: list[dict[str, str]] = [{"id": str(i)} for i in ids]

        def read(chunk: list[dict[str, str]]) -> tuple[dict[str, list[Associated]], dict[str, str]]:
            asked = [item["id"] for item in chunk]
            return self._call(
                ep.BATCH_READ_ASSOCIATIONS, {"fromObjectType": from_type, "toObjectType": to_type}, body={"inputs": chunk},
                parse=lambda answer: answers.associations(answer, ep.BATCH_READ_ASSOCIATIONS.name, asked),
            )

        while pending:
            following: list[dict[str, str]] = []
            for linked, more in self.each(read, batches(pending, MAX_ASSOCIATION_BATCH)):
                for from_id, items in linked.items():
                    found.setdefault(from_id, []).extend(items)
                following.extend({"id": from_id, "after": after} for from_id, after in more.items())
            pending = following
        return {key: tuple(value) for key, value in found.items()}

    def list_owners(self, *, after: str | None = None, archived: bool = False, limit: int = 100) -> OwnerPage:
        query: list[tuple[str, Any]] = [("limit", limit), ("archived", str(archived).lower())]
        if after:
            query.append(("after", after))
        found, next_after = self._call(
            ep.LIST_OWNERS, {}, query=query, parse=lambda body: answers.owners(body, ep.LIST_OWNERS.name)
        )
        return OwnerPage(tuple(found), next_after)


    def marketing_emails_sent(self, start: datetime, end: datetime) -> int:
        """Marketing emails the portal sent between ``start`` and ``end`` (ISO 8601 timestamps)."""
        query = [("startTimestamp", _iso(start)), ("endTimestamp", _iso(end))]
        return self._call(ep.EMAIL_STATISTICS, {}, query=query, parse=lambda answer: answers.emails_sent(answer, ep.EMAIL_STATISTICS.name))

    def account_details(self) -> AccountDetails:
        """The portal's id and app domain (HubSpot's record links are built from them)."""
        return self._call(ep.ACCOUNT_DETAILS, {}, parse=lambda answer: answers.account_details(answer, ep.ACCOUNT_DETAILS.name))

    # -- what a token may do (check-access)

    def property_types(self, object_type: str) -> dict[str, str]:
        """The object type's properties: name → HubSpot type (string, number, date, …)."""
        return self._call(
            ep.LIST_PROPERTIES, {"objectType": object_type},
            parse=lambda answer: answers.property_types(answer, ep.LIST_PROPERTIES.name),
        )

    def property_definitions(self, object_type: str) -> list[PropertyDefinition]:
        """The object type's properties with their labels, descriptions and options (``init``)."""
        return self._call(
            ep.LIST_PROPERTIES, {"objectType": object_type},
            parse=lambda answer: answers.property_definitions(answer, ep.LIST_PROPERTIES.name),
        )

    def custom_object_types(self) -> list[CustomObjectType]:
        """The portal's custom objects (schemas API; ``init`` looks among them for renewals)."""
        return self._call(ep.LIST_SCHEMAS, {}, parse=lambda answer: answers.custom_object_types(answer, ep.LIST_SCHEMAS.name))

    def association_labels(self, from_type: str, to_type: str) -> list[AssociationLabel]:
        """The association types between two object types, with their labels."""
        return self._call(
            ep.ASSOCIATION_LABELS, {"fromObjectType": from_type, "toObjectType": to_type},
            parse=lambda answer: answers.association_specs(answer, ep.ASSOCIATION_LABELS.name),
        )


def modified_property(object_type: str) -> str:
    """Contacts keep their last-modified date in ``lastmodifieddate``; other objects in
    ``hs_lastmodifieddate``."""
    return "lastmodifieddate" if object_type in {"contacts", "0-1"} else "hs_lastmodifieddate"


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

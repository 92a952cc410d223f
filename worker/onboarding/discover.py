"""What ``renewal-worker init`` learns of a portal, read-only: which object types the token can
read, how many records each holds, whether they are tied to companies, their property
definitions and a few sample values; the custom objects (schemas API) and the association
labels between companies and contacts.

I/O only, through the gateway; what it all means is decided in ``choose.py`` (pure).
A few calls per object type: a count (a search for one record), the definitions, one page of
records with their companies inline, and a batch read of those records' properties (POSTed:
asking a list call for every property by name is a 414 on a real portal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from integrations.hubspot.errors import Forbidden, NotFound
from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.types import AssociationLabel, PropertyDefinition

# HubSpot's objects that may carry renewals, as the config names them, with what people call them.
STANDARD_CANDIDATES = {
    "deals": "Deals",
    "subscriptions": "Commerce subscriptions",
    "services": "Services",
    "partner_services": "Partner services",
    "partner_clients": "Partner clients",
}
SAMPLE_RECORDS = 20
SAMPLE_VALUES = 3


@dataclass(frozen=True)
class ObjectFindings:
    """One object type as the token sees it."""

    object_type: str  # as the config file names it: deals, partner_services, 2-9201
    label: str  # for people: "Deals", a custom object's plural
    problem: str = ""  # why it cannot be used ("" when readable)
    count: int = 0
    sampled: int = 0
    with_company: int = 0  # of the sampled records, those tied to a company
    definitions: tuple[PropertyDefinition, ...] = ()
    samples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # property → a few distinct values

    @property
    def readable(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class Discovery:
    objects: tuple[ObjectFindings, ...]
    contact_labels: tuple[AssociationLabel, ...] = ()  # company → contact association types
    notes: tuple[str, ...] = ()  # what could not be looked at, for people

    @property
    def readable(self) -> tuple[ObjectFindings, ...]:
        return tuple(found for found in self.objects if found.readable)


def discover(gateway: HubSpotGateway) -> Discovery:
    """Look at every candidate object type; a type the token may not read is a finding, never a
    failure. Errors other than a missing scope or an unknown type (401, an outage) propagate:
    nothing can be learnt from this portal now."""
    notes: list[str] = []
    candidates = dict(STANDARD_CANDIDATES)
    try:
        for custom in gateway.custom_object_types():
            candidates[custom.type_id] = f"{custom.plural} (custom object {custom.name})"
    except Forbidden as exc:
        notes.append(f"custom objects not listed: {_missing_scope(exc)}")
    except NotFound:
        pass
    objects = tuple(_look_at(gateway, object_type, label) for object_type, label in candidates.items())
    contact_labels: tuple[AssociationLabel, ...] = ()
    try:
        contact_labels = tuple(gateway.association_labels("companies", "contacts"))
    except (Forbidden, NotFound) as exc:
        notes.append(f"company–contact association labels not read: {_missing_scope(exc) if isinstance(exc, Forbidden) else 'not found'}")
    return Discovery(objects, contact_labels, tuple(notes))


def _look_at(gateway: HubSpotGateway, object_type: str, label: str) -> ObjectFindings:
    try:
        count = gateway.count_objects(object_type)
        if count == 0:
            return ObjectFindings(object_type, label, count=0)
        definitions = tuple(gateway.property_definitions(object_type))
        page = gateway.list_objects(object_type, [], limit=SAMPLE_RECORDS, associations=["companies"])
        ids = [record.id for record in page.records]
        names = [definition.name for definition in definitions]
        records = gateway.batch_read(object_type, ids, names) if ids and names else []
    except Forbidden as exc:
        return ObjectFindings(object_type, label, problem=_missing_scope(exc))
    except NotFound:
        return ObjectFindings(object_type, label, problem="not in this portal")
    with_company = sum(1 for record in page.records if record.associations.get("companies"))
    samples: dict[str, list[str]] = {}
    for record in records:
        for name, value in record.properties.items():
            shown = samples.setdefault(name, [])
            if value not in (None, "") and value not in shown and len(shown) < SAMPLE_VALUES:
                shown.append(value)
    return ObjectFindings(
        object_type, label, count=count, sampled=len(page.records), with_company=with_company,
        definitions=definitions, samples={name: tuple(values) for name, values in samples.items()},
    )


def _missing_scope(exc: Forbidden) -> str:
    scopes = exc.missing_scopes
    return f"missing scope {', '.join(scopes)}" if scopes else "not allowed for this token (a missing scope)"

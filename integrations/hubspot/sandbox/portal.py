"""The state of a sandbox portal (objects, associations, owners); ``generator.py`` fills it.

Association type ids are HubSpot-defined ones (developers.hubspot.com, "Associations v4 —
association type ids"): company→contact Primary 2 / unlabelled 280, contact→company Primary 1 /
unlabelled 279, deal→company Primary 5 / unlabelled 341, company→deal Primary 6 / unlabelled 342.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

# "services" (0-162): HubSpot's services object, served at /crm/objects/{version}/services like
# any other (developers.hubspot.com/docs/api-reference/latest/crm/objects/services/guide); a
# portal must activate it first.
OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-69": "subscriptions", "0-162": "services"}
# HubSpot's objects made for Solutions Partners (HubSpot-public-api-spec-collection,
# PublicApiSpecs/CRM/Partner Clients and Partner Services, 2026-09): read and update only (no
# create, no archive in the spec), their properties undocumented (discovered from the properties
# API); served by name like the services object.
PARTNER_TYPES = frozenset({"partner_clients", "partner_services"})
# HubSpot's own object types; any other type must exist in the portal (a custom object).
STANDARD_TYPES = frozenset({"contacts", "companies", "deals", "tasks", "subscriptions", "services", "tickets", "line_items", "products", "quotes"}) | PARTNER_TYPES

# Which property carries the last-modified date, per object type (contacts differ from the rest).
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate"}
DEFAULT_MODIFIED_PROPERTY = "hs_lastmodifieddate"

# (from, to) -> (primary type id, unlabelled type id, inverse pair's ids)
_HUBSPOT_DEFINED = {
    ("companies", "contacts"): (2, 280),
    ("contacts", "companies"): (1, 279),
    ("deals", "companies"): (5, 341),
    ("companies", "deals"): (6, 342),
    # Tasks (SDK ``hubspot.crm.AssociationType``: TASK_TO_COMPANY 192, COMPANY_TO_TASK 191, ...).
    ("tasks", "companies"): (None, 192),
    ("companies", "tasks"): (None, 191),
    ("tasks", "contacts"): (None, 204),
    ("contacts", "tasks"): (None, 203),
    ("tasks", "deals"): (None, 216),
    ("deals", "tasks"): (None, 215),
}
# Task ↔ any other of HubSpot's object types (commerce subscriptions, services): ids this sandbox
# assigns; a real portal has its own, which is why the worker asks the labels API for them.
_OTHER_TASK_TYPE_START = 900
_USER_DEFINED_TYPE_START = 100
# A custom object's type id is "2-" and a number (developers.hubspot.com, "Custom objects": the
# schema's objectTypeId). Its associations are the portal's own: the labels API lists the default
# (unlabelled) one as USER_DEFINED, e.g. tasks → 2-9100 {"category": "USER_DEFINED", "typeId":
# 9003, "label": null}, and a write must name that category (HUBSPOT_DEFINED is refused).
_CUSTOM_TYPE_START = 9001


def is_custom_type(object_type: str) -> bool:
    kind, _, number = object_type.partition("-")
    return kind == "2" and number.isdigit()


def canonical_type(object_type: str) -> str:
    return OBJECT_TYPE_IDS.get(object_type, object_type.lower())


def modified_property(object_type: str) -> str:
    return MODIFIED_PROPERTY.get(canonical_type(object_type), DEFAULT_MODIFIED_PROPERTY)


def iso_ms(moment: datetime) -> str:
    """HubSpot's timestamp format: ISO 8601, UTC, milliseconds, 'Z'."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class PropertySpec:
    """A property as the portal defines it (its type, and what the properties API says of it):
    for objects whose names and labels are the portal's own, such as a partner object."""

    type: str
    label: str
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (value, label)


@dataclass
class SandboxObject:
    id: int
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None


@dataclass(frozen=True)
class AssocType:
    category: str
    type_id: int
    label: str | None


@dataclass(frozen=True)
class RequiredProperty:
    """A portal rule on new tasks (HubSpot applies a portal's rules to API writes since the
    2026-09 API version: developers.hubspot.com/changelog, "CRM API write validation
    enforcement"): ``name`` must be set, always or when every property in ``when`` has that value
    (a conditionally required property)."""

    name: str
    when: tuple[tuple[str, str], ...] = ()

    def broken_by(self, properties: dict) -> bool:
        applies = all(properties.get(key) == value for key, value in self.when)
        return applies and not properties.get(self.name)


@dataclass
class SandboxOwner:
    id: int
    email: str
    first_name: str
    last_name: str
    user_id: int
    archived: bool = False
    teams: list[tuple[str, str, bool]] = field(default_factory=list)  # (id, name, primary)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


class SandboxPortal:
    """A stateful, thread-safe in-memory HubSpot portal."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict[int, SandboxObject]] = {}
        # (from_type, to_type) -> from_id -> to_id -> [AssocType]
        self.associations: dict[tuple[str, str], dict[int, dict[int, list[AssocType]]]] = {}
        self.owners: dict[int, SandboxOwner] = {}
        self.user_labels: dict[tuple[str, str, str], int] = {}
        # Default association types involving a custom object, per (from, to), in the order seen.
        self.custom_pairs: dict[tuple[str, str], int] = {}
        # A custom object whose property definitions are those of a standard one (the sandbox's
        # service contracts in a custom object have the services object's properties).
        self.defined_like: dict[str, str] = {}
        # Property definitions of the portal's own making, per object type (they win over the
        # sandbox's standard ones), and the custom objects' schemas: type id → (name, singular, plural).
        self.property_specs: dict[str, dict[str, PropertySpec]] = {}
        self.schemas: dict[str, tuple[str, str, str]] = {}
        # Marketing emails the portal sent: (when, how many), for the email statistics API.
        self.marketing_sends: list[tuple[datetime, int]] = []
        # The portal's own rules on new tasks (see RequiredProperty).
        self.task_rules: list[RequiredProperty] = []
        self._next_id = 1000

    # -- ids and clock

    portal_id = 4_242_424  # the sandbox portal's HubSpot account id

    def account_details(self) -> dict:
        """GET /account-info/…/details, shaped as HubSpot's API reference shows it."""
        return {
            "portalId": self.portal_id, "accountType": "STANDARD", "timeZone": "Europe/Madrid", "companyCurrency": "EUR",
            "additionalCurrencies": ["USD", "CLP"], "utcOffset": "+01:00", "utcOffsetMilliseconds": 3_600_000,
            "uiDomain": "app-eu1.hubspot.com", "dataHostingLocation": "eu1",
        }

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    # -- objects

    def knows_type(self, object_type: str) -> bool:
        """HubSpot answers 404 for an object type it cannot infer (a typo in a config)."""
        kind = canonical_type(object_type)
        return kind in STANDARD_TYPES or kind in self.objects

    def define_object(self, object_type: str, properties: dict[str, PropertySpec], *, name: str = "", singular: str = "", plural: str = "") -> None:
        """Give an object type its own property definitions; a custom one ("2-…") also its schema."""
        with self.lock:
            self.property_specs[canonical_type(object_type)] = dict(properties)
            if is_custom_type(object_type):
                self.schemas[object_type] = (name or f"object_{object_type[2:]}", singular or name, plural or name)
                self.table(object_type)

    def table(self, object_type: str) -> dict[int, SandboxObject]:
        return self.objects.setdefault(canonical_type(object_type), {})

    def create(
        self,
        object_type: str,
        properties: dict[str, str | None],
        *,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        object_id: int | None = None,
    ) -> SandboxObject:
        with self.lock:
            object_id = object_id if object_id is not None else self.new_id()
            created_at = created_at or self.now()
            updated_at = updated_at or created_at
            props = dict(properties)
            props["hs_object_id"] = str(object_id)
            props["createdate"] = iso_ms(created_at)
            props[modified_property(object_type)] = iso_ms(updated_at)
            obj = SandboxObject(object_id, props, created_at, updated_at)
            self.table(object_type)[object_id] = obj
            return obj

    def update(self, object_type: str, object_id: int, properties: dict[str, str | None], *, at: datetime | None = None) -> None:
        with self.lock:
            obj = self.table(object_type)[int(object_id)]
            obj.properties.update(properties)
            self.touch(object_type, object_id, at=at)

    def touch(self, object_type: str, object_id: int, *, at: datetime | None = None) -> None:
        with self.lock:
            obj = self.table(object_type)[int(object_id)]
            obj.updated_at = at or self.now()
            obj.properties[modified_property(object_type)] = iso_ms(obj.updated_at)

    def age(self, delta: timedelta) -> None:
        """Every record's last change moves ``delta`` into the past: "nothing changed for a
        while", without waiting (tests and the benchmark's quiet run)."""
        with self.lock:
            for object_type, rows in self.objects.items():
                for obj in rows.values():
                    self.touch(object_type, obj.id, at=obj.updated_at - delta)

    def archive(self, object_type: str, object_id: int) -> None:
        with self.lock:
            obj = self.table(object_type)[int(object_id)]
            obj.archived = True
            obj.archived_at = self.now()

    def purge(self, object_type: str, object_id: int) -> None:
        """A GDPR-style permanent delete: gone from both the active and the archived lists."""
        with self.lock:
            self.table(object_type).pop(int(object_id), None)
            kind = canonical_type(object_type)
            for (from_type, to_type), links in self.associations.items():
                if from_type == kind:
                    links.pop(int(object_id), None)
                elif to_type == kind:
                    for linked in links.values():
                        linked.pop(int(object_id), None)

    # -- what people do to tasks in HubSpot's UI (the tests' and the control plane's hands)

    PERSON_ACTIONS = ("complete", "delete", "archive", "edit")

    def person_works_task(self, task_id: int, action: str, properties: dict[str, str | None] | None = None) -> None:
        """``complete`` (status COMPLETED), ``delete`` (gone for good), ``archive`` (the recycle
        bin: no longer answered for), ``edit`` (set properties: reassign, re-date, re-prioritise,
        re-word, write a note in the body)."""
        if action == "complete":
            self.update("tasks", task_id, {"hs_task_status": "COMPLETED", **(properties or {})})
        elif action == "delete":
            self.purge("tasks", task_id)
        elif action == "archive":
            self.archive("tasks", task_id)
        elif action == "edit":
            self.update("tasks", task_id, dict(properties or {}))
        else:
            raise ValueError(f"unknown action {action!r}; one of {self.PERSON_ACTIONS}")

    def tasks_as_shown(self) -> list[tuple[str, str, str, str, str]]:
        """Every task as HubSpot's task list shows it, soonest due first: (id, due day, priority,
        owner's name, subject). What ``make demo`` prints."""
        with self.lock:
            owners = {str(o.id): f"{o.first_name} {o.last_name}" for o in self.owners.values()}
            tasks = sorted(self.table("tasks").values(), key=lambda t: (int(t.properties.get("hs_timestamp") or 0), t.id))
            return [
                (
                    str(t.id), _day(t.properties.get("hs_timestamp")), t.properties.get("hs_task_priority") or "",
                    owners.get(t.properties.get("hubspot_owner_id") or "", "—"), t.properties.get("hs_task_subject") or "",
                )
                for t in tasks
            ]

    # -- associations

    def label_type(self, from_type: str, to_type: str, label: str | None, *, primary: bool = False) -> AssocType:
        from_type, to_type = canonical_type(from_type), canonical_type(to_type)
        if label is None and not primary and (is_custom_type(from_type) or is_custom_type(to_type)):
            with self.lock:
                type_id = self.custom_pairs.setdefault((from_type, to_type), _CUSTOM_TYPE_START + 2 * len(self.custom_pairs))
            return AssocType("USER_DEFINED", type_id, None)
        ids = _HUBSPOT_DEFINED.get((from_type, to_type))
        if ids is None and "tasks" in (from_type, to_type):
            other = sorted({from_type, to_type} - {"tasks"})[0]
            ids = (None, _OTHER_TASK_TYPE_START + 2 * (sum(map(ord, other)) % 40) + (from_type == "tasks"))
        ids = ids or (None, 1)
        if primary:
            return AssocType("HUBSPOT_DEFINED", ids[0] or 1, "Primary")
        if label is None:
            return AssocType("HUBSPOT_DEFINED", ids[1], None)
        with self.lock:
            key = (from_type, to_type, label)
            if key not in self.user_labels:
                self.user_labels[key] = _USER_DEFINED_TYPE_START + len(self.user_labels)
            return AssocType("USER_DEFINED", self.user_labels[key], label)

    def has_primary_label(self, from_type: str, to_type: str) -> bool:
        """Whether HubSpot defines a "Primary" association for this pair (companies and
        contacts, deals and companies)."""
        return (_HUBSPOT_DEFINED.get((canonical_type(from_type), canonical_type(to_type))) or (None,))[0] is not None

    def associate(self, from_type: str, from_id: int, to_type: str, to_id: int, *, primary: bool = False, label: str | None = None) -> None:
        """Associate both ways, unlabelled plus the label, as HubSpot stores it. Doesn't touch
        either record's modified date: HubSpot doesn't either."""
        from_type, to_type = canonical_type(from_type), canonical_type(to_type)
        with self.lock:
            for a_type, a_id, b_type, b_id in ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id)):
                types = self.associations.setdefault((a_type, b_type), {}).setdefault(int(a_id), {}).setdefault(int(b_id), [])
                wanted = [self.label_type(a_type, b_type, None)]
                if primary:
                    wanted.append(self.label_type(a_type, b_type, None, primary=True))
                if label:
                    wanted.append(self.label_type(a_type, b_type, label))
                for item in wanted:
                    if item not in types:
                        types.append(item)

    def dissociate(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        from_type, to_type = canonical_type(from_type), canonical_type(to_type)
        with self.lock:
            self.associations.get((from_type, to_type), {}).get(int(from_id), {}).pop(int(to_id), None)
            self.associations.get((to_type, from_type), {}).get(int(to_id), {}).pop(int(from_id), None)

    def associated(self, from_type: str, from_id: int, to_type: str) -> dict[int, list[AssocType]]:
        key = (canonical_type(from_type), canonical_type(to_type))
        return dict(self.associations.get(key, {}).get(int(from_id), {}))

    def type_of(self, object_id: int) -> str | None:
        """Ids are unique across the portal's tables (one counter), as HubSpot's are in practice."""
        for name, rows in self.objects.items():
            if int(object_id) in rows:
                return name
        return None

    # -- owners

    def add_owner(self, first_name: str, last_name: str, *, archived: bool = False, at: datetime | None = None) -> SandboxOwner:
        with self.lock:
            owner_id = self.new_id()
            email = f"{first_name}.{last_name}@partner.example".lower()
            at = at or self.now()
            owner = SandboxOwner(owner_id, email, first_name, last_name, user_id=owner_id + 7_000_000, archived=archived, created_at=at, updated_at=at)
            self.owners[owner_id] = owner
            return owner


def _day(epoch_ms: str | None) -> str:
    if not epoch_ms or not epoch_ms.isdigit():
        return ""
    return datetime.fromtimestamp(int(epoch_ms) / 1000, tz=timezone.utc).strftime("%Y-%m-%d")

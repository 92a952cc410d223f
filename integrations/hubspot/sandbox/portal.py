"""The state of a sandbox portal, and a seeded generator of realistic partner portals.

Association type ids are HubSpot-defined ones (developers.hubspot.com, "Associations v4 —
association type ids"): company→contact Primary 2 / unlabelled 280, contact→company Primary 1 /
unlabelled 279, deal→company Primary 5 / unlabelled 341, company→deal Primary 6 / unlabelled 342.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-69": "subscriptions"}

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
# Task ↔ any other object type (commerce subscriptions, custom objects): ids this sandbox assigns;
# a real portal has its own, which is why the worker asks the labels API for them.
_OTHER_TASK_TYPE_START = 900
_USER_DEFINED_TYPE_START = 100


def canonical_type(object_type: str) -> str:
    return OBJECT_TYPE_IDS.get(object_type, object_type.lower())


def modified_property(object_type: str) -> str:
    return MODIFIED_PROPERTY.get(canonical_type(object_type), DEFAULT_MODIFIED_PROPERTY)


def iso_ms(moment: datetime) -> str:
    """HubSpot's timestamp format: ISO 8601, UTC, milliseconds, 'Z'."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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


@dataclass
class SandboxOwner:
    id: int
    email: str
    first_name: str
    last_name: str
    user_id: int
    archived: bool = False
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
        self._next_id = 1000

    # -- ids and clock

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    # -- objects

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

    # -- associations

    def label_type(self, from_type: str, to_type: str, label: str | None, *, primary: bool = False) -> AssocType:
        from_type, to_type = canonical_type(from_type), canonical_type(to_type)
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


# --------------------------------------------------------------------------- generator

_FIRST = ["Ana", "Luis", "María", "Jorge", "Lucía", "Carlos", "Sofía", "Diego", "Elena", "Pablo", "Laura", "Javier", "Emma", "Noah", "Olivia", "Liam"]
_LAST = ["García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Díaz", "Romero", "Smith", "Jones", "Müller", "Rossi"]
_COMPANY_WORDS = ["Andes", "Pacífico", "Norte", "Solar", "Delta", "Atlas", "Nova", "Cobre", "Ríos", "Puerto", "Sierra", "Faro", "Luna", "Vértice"]
_SUFFIX = ["S.A.", "SpA", "S.L.", "Ltda.", "Inc.", "GmbH", "S.A.S."]
_PRODUCTS = ["Marketing Hub Professional", "Sales Hub Professional", "Service Hub Starter", "Content Hub Professional", "Operations Hub Starter", "Marketing Hub Enterprise"]
_TIERS = [1000, 2000, 5000, 10000, 25000]


@dataclass(frozen=True)
class PortalSpec:
    companies: int = 40
    seed: int = 7
    today: date | None = None
    subscriptions_per_company: tuple[int, int] = (1, 2)
    subscription_type: str = "deals"
    primary_label: str | None = None  # None: HubSpot's built-in "Primary"; else a user-defined label
    bad_data: bool = True
    owners: int = 10
    deactivated_owners: int = 2
    now: datetime | None = None  # fixed: two portals from one spec are identical, timestamps included


def generate_portal(spec: PortalSpec = PortalSpec(), portal: SandboxPortal | None = None) -> SandboxPortal:
    """A partner portal: owners, client companies, primary contacts, renewable subscriptions.

    With ``bad_data`` a few records carry the defects real portals have: empty or impossible
    dates, European decimal commas, negative prices, non-numeric tiers, unknown enum values,
    very long and non-Latin text, bounced and opted-out contacts, companies with no primary
    contact and companies with two.
    """
    rng = random.Random(spec.seed)
    portal = portal or SandboxPortal()
    now = spec.now or datetime.now(timezone.utc)
    today = spec.today or now.date()

    active = [portal.add_owner(rng.choice(_FIRST), rng.choice(_LAST) + str(i), at=now) for i in range(spec.owners)]
    inactive = [portal.add_owner(rng.choice(_FIRST), rng.choice(_LAST) + f"x{i}", archived=True, at=now) for i in range(spec.deactivated_owners)]
    all_owners = active + inactive

    def owner_id() -> str | None:
        roll = rng.random()
        if spec.bad_data and roll < 0.02:
            return None
        pool = all_owners if spec.bad_data and roll < 0.06 else active
        return str(rng.choice(pool).id)

    def bad(p: float) -> bool:
        return spec.bad_data and rng.random() < p

    for n in range(spec.companies):
        created = now - timedelta(days=rng.randint(200, 1500), seconds=rng.randint(0, 86_400))
        updated = now - timedelta(days=rng.randint(1, 120), seconds=rng.randint(0, 86_400))
        name = f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_WORDS)} {rng.choice(_SUFFIX)}"
        if bad(0.02):
            name = rng.choice(["株式会社サンプル", "ООО «Пример»", "شركة المثال", "Ελληνική Εταιρεία"])
        company = portal.create(
            "companies",
            {"name": name, "domain": f"client{n}.example", "hubspot_owner_id": owner_id()},
            created_at=created,
            updated_at=updated,
        )

        primaries = 0 if bad(0.03) else (2 if bad(0.02) else 1)
        for k in range(primaries):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            email: str | None = f"{first}.{last}{n}{k}@client{n}.example".lower()
            props: dict[str, str | None] = {"firstname": first, "lastname": last, "email": email}
            if bad(0.03):
                props["email"] = rng.choice([None, "", f"{first}.{last}@", "no-email", f"{first} {last}@client.example"])
            if bad(0.03):
                props["hs_email_hard_bounce_reason_enum"] = "MAILBOX_FULL" if rng.random() < 0.3 else "UNKNOWN_USER"
            if bad(0.02):
                props["hs_email_optout"] = "true"
            if bad(0.02):
                props["firstname"], props["lastname"] = "", None
            contact = portal.create(
                "contacts",
                props,
                created_at=created + timedelta(minutes=k + 1),
                updated_at=updated,
            )
            if spec.primary_label:
                portal.associate("companies", company.id, "contacts", contact.id, label=spec.primary_label)
            else:
                portal.associate("companies", company.id, "contacts", contact.id, primary=True)
        if rng.random() < 0.3:  # an ordinary, unlabelled colleague: never the primary contact
            colleague = portal.create("contacts", {"firstname": rng.choice(_FIRST), "lastname": rng.choice(_LAST), "email": f"team{n}@client{n}.example"}, created_at=created, updated_at=updated)
            portal.associate("companies", company.id, "contacts", colleague.id)

        low, high = spec.subscriptions_per_company
        for _ in range(rng.randint(low, high)):
            portal_subscription(portal, rng, spec, company.id, today, owner_id(), now, bad)
    return portal


def portal_subscription(portal, rng, spec, company_id, today, owner, now, bad) -> SandboxObject:
    tier = rng.choice(_TIERS)
    price = rng.choice([800, 1200, 1780, 3200, 3600, 4500, 890])
    renewal_price = price if rng.random() < 0.6 else round(price * rng.choice([1.05, 1.1, 1.2, 0.9]), 2)
    renewal = today + timedelta(days=rng.randint(-30, 400))
    props: dict[str, str | None] = {
        "dealname": f"Renewal {rng.choice(_PRODUCTS)}",
        "renewal_date": renewal.isoformat(),
        "renewal_deadline": (renewal - timedelta(days=60)).isoformat() if rng.random() < 0.2 else None,
        "renewal_products": "; ".join(rng.sample(_PRODUCTS, rng.randint(1, 2))),
        "current_monthly_price": f"{price:.2f}",
        "renewal_monthly_price": f"{renewal_price:.2f}",
        "deal_currency_code": rng.choice(["USD", "EUR", "CLP"]),
        "renewal_communication_owner": rng.choice(["hubspot", "hubspot", "partner", None]),
        "contact_tier": str(tier),
        "contacts_used": str(int(tier * rng.uniform(0.4, 1.15))),
        "marketing_emails_sent_month": str(int(tier * rng.uniform(1, 11))),
        "dealstage": "closedlost" if rng.random() < 0.05 else "renewal_open",
        "hubspot_owner_id": owner,
    }
    if bad(0.02):
        props["renewal_date"] = rng.choice(["", "2026-02-30", "31/12/2026", "soon"])
    if bad(0.02):
        props["current_monthly_price"] = "1.234,50"
    if bad(0.01):
        props["renewal_monthly_price"] = "-120.00"
    if bad(0.02):
        props["contact_tier"] = rng.choice(["lots", "10k", "2.5"])
    if bad(0.02):
        props["renewal_communication_owner"] = "agency"
    if bad(0.01):
        props["renewal_products"] = "Marketing Hub Professional, " * 300
    created = now - timedelta(days=rng.randint(30, 900))
    sub = portal.create(spec.subscription_type, props, created_at=created, updated_at=now - timedelta(days=rng.randint(0, 60)))
    portal.associate(spec.subscription_type, sub.id, "companies", company_id, primary=True)
    return sub



def mutate_portal(portal: SandboxPortal, rng: random.Random, count: int) -> list[str]:
    """``count`` random edits of the kind partners make all day (for soak tests): renewal dates
    moved, prices changed or reverted, emails broken and fixed, subscriptions cancelled, owners
    deactivated and reactivated. Returns what was done."""
    done = []
    with portal.lock:
        deals = [d for d in portal.table("deals").values() if not d.archived]
        contacts = [c for c in portal.table("contacts").values() if not c.archived]
        owners = list(portal.owners.values())
        for _ in range(count):
            roll = rng.random()
            if roll < 0.25 and deals:
                deal = rng.choice(deals)
                current = deal.properties.get("renewal_date") or ""
                try:
                    moved = date.fromisoformat(current) + timedelta(days=rng.choice([-20, -7, 7, 30]))
                except ValueError:
                    moved = datetime.now(timezone.utc).date() + timedelta(days=rng.randint(1, 120))
                portal.update("deals", deal.id, {"renewal_date": moved.isoformat()})
                done.append(f"deal {deal.id}: renewal date → {moved}")
            elif roll < 0.5 and deals:
                deal = rng.choice(deals)
                current = deal.properties.get("current_monthly_price") or ""
                try:
                    base = float(current)
                except ValueError:  # the sample bad data ("1.234,50"): leave that one alone
                    continue
                new = current if rng.random() < 0.5 else f"{base * rng.choice([1.05, 1.2]):.2f}"
                portal.update("deals", deal.id, {"renewal_monthly_price": new})
                done.append(f"deal {deal.id}: renewal price → {new}")
            elif roll < 0.7 and contacts:
                contact = rng.choice(contacts)
                broken = rng.random() < 0.5
                portal.update("contacts", contact.id, {"hs_email_hard_bounce_reason_enum": "UNKNOWN_USER" if broken else None})
                done.append(f"contact {contact.id}: {'bounced' if broken else 'fixed'}")
            elif roll < 0.8 and deals:
                deal = rng.choice(deals)
                stage = "closedlost" if deal.properties.get("dealstage") != "closedlost" else "renewal_open"
                portal.update("deals", deal.id, {"dealstage": stage})
                done.append(f"deal {deal.id}: stage → {stage}")
            elif roll < 0.9 and deals:
                deal = rng.choice(deals)
                owner = rng.choice(["hubspot", "partner", None])
                portal.update("deals", deal.id, {"renewal_communication_owner": owner})
                done.append(f"deal {deal.id}: communication owner → {owner}")
            elif owners:
                owner = rng.choice(owners)
                owner.archived = not owner.archived
                owner.updated_at = portal.now()
                done.append(f"owner {owner.id}: {'deactivated' if owner.archived else 'reactivated'}")
    return done

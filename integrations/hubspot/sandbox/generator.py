"""Seeded realistic partner portals for the sandbox, and the edits partners make to them.

Association type ids and object shapes: see ``portal.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from integrations.hubspot.sandbox.portal import PARTNER_TYPES, PropertySpec, SandboxObject, SandboxPortal, is_custom_type


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
    # Put every hostile value on some record for sure (the demo, the soak): with a few dozen
    # companies, the random draws alone may miss them.
    hostile_showcase: bool = False
    # The partner's own service contracts (HubSpot's services object), on two clients in three.
    # Drawn from a random stream of their own: the rest of the portal is the same either way.
    service_contracts: bool = False
    # Where they live: HubSpot's services object, a custom object ("2-9100") as many partners
    # keep them, whose associations are the portal's own (USER_DEFINED), or deals in a pipeline
    # of their own (SERVICE_PIPELINE) beside the subscriptions' default one.
    service_object_type: str = "services"
    # A partner's own portal as `init` meets it: the service contracts' properties under Spanish
    # names and labels of the portal's making (PARTNER_STYLE_PROPERTIES), beside decoys (a
    # projects object with dates and amounts, partner client records) that are not renewals.
    partner_style: bool = False


# Values a hostile or broken portal holds, and what must come of each (README, "Bad data"):
# markup and mentions for Slack and HTML, terminal control codes, a NUL byte (PostgreSQL refuses
# it), an RTL override, a spreadsheet formula.
HOSTILE_COMPANY_NAMES = (
    "Slack <!channel> <https://evil.example|Click to renew> *Co*",
    "Nul\x00Byte GmbH",
    "\x1b]0;pwned\x07\x1b[2JTerm Co",
    '=HYPERLINK("https://evil.example","Renew")',
    "Evil \u202eoC LLC",
    "<script>alert(1)</script> S.A.",
)
# Dates outside what a date type holds once read in UTC, and full-width digits.
IMPOSSIBLE_DATES = ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "２０２６-１２-０１")
# Counts beyond any integer column (SQLite's 64 bits, PostgreSQL's 32).
OUT_OF_RANGE_COUNTS = ("1" + "0" * 30, "3000000000")


def generate_portal(spec: PortalSpec = PortalSpec(), portal: SandboxPortal | None = None) -> SandboxPortal:
    """A partner portal: owners, client companies, primary contacts, renewable subscriptions.

    With ``bad_data`` a few records carry the defects real portals have: empty or impossible
    dates, European decimal commas, negative prices, non-numeric tiers, unknown enum values,
    very long and non-Latin text, bounced and opted-out contacts, companies with no primary
    contact and companies with two; and the hostile ones above (markup, control codes, NUL,
    formulas, out-of-range numbers and dates).
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
            name = rng.choice(["株式会社サンプル", "ООО «Пример»", "شركة المثال", "Ελληνική Εταιρεία", *HOSTILE_COMPANY_NAMES])
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
    add_people(portal, spec)
    if spec.service_contracts:
        add_service_contracts(portal, spec, today, now, [str(o.id) for o in active])
    if spec.hostile_showcase:
        add_hostile_showcase(portal, spec.subscription_type, today)
    if spec.partner_style:
        add_partner_decoys(portal, spec, today, now)
    return portal


_SERVICES = ("Inbound marketing retainer", "HubSpot support plan", "CRM onboarding and training", "Monthly reporting and analytics", "Website care plan")
# The services object's own properties (hs_name, hs_pipeline_stage, hubspot_owner_id) plus the
# renewal fields a partner adds, named as the subscriptions' ones (ServiceProperties' defaults),
# and the currency the demo maps.
SERVICE_CURRENCY_PROPERTY = "service_currency_code"
# Service contracts kept as deals: a pipeline of their own, deals' own name, stage and currency.
SERVICE_PIPELINE = "services"
_AS_DEAL = {"hs_name": "dealname", "hs_pipeline_stage": "dealstage", SERVICE_CURRENCY_PROPERTY: "deal_currency_code"}


# The service contracts' properties as a Spanish partner names them on its own object: standard
# name → (the portal's name, its definition). `init` has never seen these names.
PARTNER_STYLE_PROPERTIES = {
    "hs_name": ("servicio_contratado", PropertySpec("string", "Servicio contratado")),
    "renewal_date": ("prox_renovacion", PropertySpec("date", "Próxima renovación", "Fecha en que se renueva el servicio")),
    "renewal_deadline": ("aviso_limite", PropertySpec("date", "Fecha límite de preaviso", "Último día para cancelar sin renovar")),
    "current_monthly_price": ("cuota_mes_vigente", PropertySpec("number", "Cuota mensual vigente")),
    "renewal_monthly_price": ("cuota_mes_renovada", PropertySpec("number", "Cuota mensual tras la renovación")),
    SERVICE_CURRENCY_PROPERTY: ("divisa_servicio", PropertySpec("enumeration", "Divisa", options=(("EUR", "Euro"), ("USD", "Dólar")))),
    "hs_pipeline_stage": ("estado_servicio", PropertySpec("enumeration", "Estado del servicio", options=(("active", "Activo"), ("cancelled", "Cancelado")))),
    "hubspot_owner_id": ("hubspot_owner_id", PropertySpec("enumeration", "Propietario del servicio")),
    "renewal_discount_percent": ("dto_pct", PropertySpec("number", "Descuento (%)")),
    "renewal_discount_end_date": ("dto_hasta", PropertySpec("date", "Descuento válido hasta")),
}
# Dates and numbers on the same object that are not the renewal's.
PARTNER_STYLE_DECOYS = {
    "fecha_alta": PropertySpec("date", "Fecha de alta", "Día en que empezó el servicio"),
    "horas_incluidas": PropertySpec("number", "Horas incluidas al mes"),
}
PROJECTS_TYPE = "2-9201"  # the partner's projects: a custom object with dates and amounts, never renewals


def add_service_contracts(portal: SandboxPortal, spec: PortalSpec, today: date, now: datetime, owners: list[str]) -> None:
    rng = random.Random(spec.seed * 7919 + 1)
    if spec.partner_style:
        portal.define_object(spec.service_object_type, {name: definition for name, definition in PARTNER_STYLE_PROPERTIES.values()} | PARTNER_STYLE_DECOYS)
    elif is_custom_type(spec.service_object_type) or spec.service_object_type in PARTNER_TYPES:
        # The sandbox defines them with the services object's properties (a real portal's must be
        # discovered: `check-access` and the properties API name what it has).
        portal.defined_like[spec.service_object_type] = "services"
    for company_id in sorted(portal.table("companies")):
        if company_id % 3 == 1:
            continue
        price = rng.choice([450, 900, 1500, 2400, 3000])
        renewal = today + timedelta(days=rng.randint(-20, 300))
        props: dict[str, str | None] = {
            "hs_name": rng.choice(_SERVICES),
            "renewal_date": renewal.isoformat(),
            "renewal_deadline": (renewal - timedelta(days=90)).isoformat() if company_id % 5 == 0 else None,
            "current_monthly_price": f"{price:.2f}",
            "renewal_monthly_price": f"{price * (1.08 if company_id % 4 == 0 else 1):.2f}",
            SERVICE_CURRENCY_PROPERTY: "EUR",
            "hs_pipeline_stage": "cancelled" if rng.random() < 0.08 else "active",
            "hubspot_owner_id": rng.choice(owners) if owners else None,
        }
        if company_id % 6 == 0:
            props["renewal_discount_percent"] = "10"
            props["renewal_discount_end_date"] = (renewal - timedelta(days=45)).isoformat()
        if spec.bad_data and company_id % 23 == 0:
            props["renewal_date"] = "next spring"
        if spec.bad_data and company_id % 29 == 0:
            props["renewal_discount_percent"] = "150"
        if spec.service_object_type == "deals":
            props = {_AS_DEAL.get(name, name): value for name, value in props.items()} | {"pipeline": SERVICE_PIPELINE}
        if spec.partner_style:
            props = {PARTNER_STYLE_PROPERTIES[name][0]: value for name, value in props.items()}
            props["fecha_alta"] = (renewal - timedelta(days=365 * rng.randint(1, 3))).isoformat()
            props["horas_incluidas"] = str(rng.choice([4, 8, 16, 40]))
        created = now - timedelta(days=rng.randint(60, 700))
        service = portal.create(spec.service_object_type, props, created_at=created, updated_at=now - timedelta(days=rng.randint(0, 60), hours=1))
        portal.associate(spec.service_object_type, service.id, "companies", company_id)


TEAMS = (("41", "Customer Success"), ("42", "Renewals desk"), ("43", "Onboarding"))


def add_people(portal: SandboxPortal, spec: PortalSpec) -> None:
    """The partner's people on each client: owners in teams, a team on the company, and on some
    companies a second owner (HubSpot's hs_all_owner_ids holds every owner property's value).
    A random stream of its own: the rest of the portal is the same with or without it."""
    rng = random.Random(spec.seed * 15_485_863 + 11)
    owners = sorted(portal.owners.values(), key=lambda o: o.id)
    for n, owner in enumerate(owners):
        team_id, name = TEAMS[n % len(TEAMS)]
        owner.teams = [(team_id, name, True)] + ([(TEAMS[1][0], TEAMS[1][1], False)] if n % 4 == 3 and team_id != TEAMS[1][0] else [])
    active = [str(o.id) for o in owners if not o.archived]
    for company in portal.table("companies").values():
        owner_id = company.properties.get("hubspot_owner_id")
        if not owner_id:
            continue
        others = [o for o in active if o != owner_id]
        everyone = [owner_id] + ([rng.choice(others)] if others and rng.random() < 0.4 else [])
        company.properties["hs_all_owner_ids"] = ";".join(everyone)
        company.properties["hubspot_team_id"] = rng.choice(TEAMS)[0]


def add_partner_decoys(portal: SandboxPortal, spec: PortalSpec, today: date, now: datetime) -> None:
    """What else a partner's portal holds that has dates and amounts but is no renewal: a projects
    custom object and HubSpot's partner client records, both tied to the companies."""
    rng = random.Random(spec.seed * 104_729 + 3)
    portal.define_object(PROJECTS_TYPE, {
        "nombre_proyecto": PropertySpec("string", "Nombre del proyecto"),
        "fecha_entrega": PropertySpec("date", "Fecha de entrega"),
        "presupuesto": PropertySpec("number", "Presupuesto (EUR)"),
        "fase": PropertySpec("enumeration", "Fase", options=(("discovery", "Descubrimiento"), ("build", "Construcción"), ("done", "Entregado"))),
    }, name="proyectos", singular="Proyecto", plural="Proyectos")
    portal.define_object("partner_clients", {
        "nombre_cliente": PropertySpec("string", "Cliente"),
        "inicio_relacion": PropertySpec("date", "Inicio de la relación"),
        "tipo_relacion": PropertySpec("enumeration", "Tipo de relación", options=(("sold", "Vendido"), ("managed", "Gestionado"))),
    })
    for company_id, company in sorted(portal.table("companies").items()):
        created = now - timedelta(days=rng.randint(30, 900))
        client = portal.create("partner_clients", {
            "nombre_cliente": company.properties.get("name"), "inicio_relacion": (today - timedelta(days=rng.randint(30, 1500))).isoformat(),
            "tipo_relacion": rng.choice(["sold", "managed"]),
        }, created_at=created, updated_at=created)
        portal.associate("partner_clients", client.id, "companies", company_id)
        if company_id % 2:
            continue
        project = portal.create(PROJECTS_TYPE, {
            "nombre_proyecto": f"Proyecto {company_id}", "fecha_entrega": (today + timedelta(days=rng.randint(-60, 200))).isoformat(),
            "presupuesto": str(rng.choice([3000, 7500, 12000])), "fase": rng.choice(["discovery", "build", "done"]),
        }, created_at=created, updated_at=created)
        portal.associate(PROJECTS_TYPE, project.id, "companies", company_id)


def add_hostile_showcase(portal: SandboxPortal, subscription_type: str, today: date) -> None:
    """Every hostile value on a record, without another random draw: company names on clients
    renewing within 120 days (so the renewals table shows them), impossible numbers and dates on
    subscriptions of other clients."""
    deals = sorted(portal.table(subscription_type).values(), key=lambda d: d.id)

    def renews_soon(deal: SandboxObject) -> bool:
        try:
            return 0 <= (date.fromisoformat(deal.properties.get("renewal_date") or "") - today).days <= 120
        except ValueError:
            return False

    # The latest renewals of the window, so that a table sorted by renewal date opens on the
    # portal's ordinary clients and the hostile names come further down.
    soon = sorted(
        (d for d in deals if renews_soon(d) and d.properties.get("dealstage") != "closedlost"),
        key=lambda d: (d.properties.get("renewal_date") or "", d.id), reverse=True,
    )
    companies = list(dict.fromkeys(cid for d in soon for cid in portal.associated(subscription_type, d.id, "companies")))
    for company_id, name in zip(companies, HOSTILE_COMPANY_NAMES):
        portal.update("companies", company_id, {"name": name})
    others = [d for d in deals if not renews_soon(d)]
    values = [("renewal_date", v) for v in IMPOSSIBLE_DATES] + [("contact_tier", v) for v in OUT_OF_RANGE_COUNTS]
    values += [("current_monthly_price", "-0"), ("current_monthly_price", "１２００.００"), ("renewal_products", "Sales Hub\x00 Pro")]
    for deal, (name, value) in zip(others, values):
        portal.update(subscription_type, deal.id, {name: value})


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
    if spec.subscription_type == "deals":
        props["pipeline"] = "default"  # HubSpot's default deal pipeline's id
    # What the partner negotiates with, by id (no extra draw: the rest of the portal stays as it
    # was): a discount ending at the renewal or before it, HubSpot's renewal manager, the link to
    # the client's renewal options.
    if company_id % 4 == 0:
        props["renewal_discount_percent"] = ("20", "15", "10")[company_id % 3]
        props["renewal_discount_end_date"] = (renewal - timedelta(days=(0, 40)[company_id % 2])).isoformat()
    props["hubspot_renewal_manager"] = ("Marta Ruiz", "Tom Baker", None)[company_id % 3]
    if company_id % 2 == 0:
        props["renewal_options_url"] = f"https://app.hubspot.com/renewal-options/{company_id}"
    if bad(0.02):
        props["renewal_date"] = rng.choice(["", "2026-02-30", "31/12/2026", "soon", *IMPOSSIBLE_DATES])
    if bad(0.02):
        # By id, not by another draw: adding a case must not reshuffle every generated portal.
        props["current_monthly_price"] = ("1.234,50", "-0", "１２００.００")[company_id % 3]
    if bad(0.01):
        props["renewal_monthly_price"] = "-120.00"
    if bad(0.02):
        props["contact_tier"] = rng.choice(["lots", "10k", "2.5", *OUT_OF_RANGE_COUNTS])
    if bad(0.02):
        props["renewal_communication_owner"] = "agency"
    if bad(0.01):
        props["renewal_products"] = "Marketing Hub Professional, " * 300
    created = now - timedelta(days=rng.randint(30, 900))
    # Modified at least an hour ago: a freshly generated portal has not just changed.
    sub = portal.create(spec.subscription_type, props, created_at=created, updated_at=now - timedelta(days=rng.randint(0, 60), hours=1))
    portal.associate(spec.subscription_type, sub.id, "companies", company_id, primary=True)
    return sub



def mutate_portal(portal: SandboxPortal, rng: random.Random, count: int) -> list[str]:
    """``count`` random edits of the kind partners make all day (for soak tests): renewal dates
    moved, prices changed or reverted, emails broken and fixed, subscriptions cancelled, owners
    deactivated and reactivated; and, where the portal has service contracts (HubSpot's services
    object), the same to them. Returns what was done."""
    done = []
    with portal.lock:
        deals = [d for d in portal.table("deals").values() if not d.archived and d.properties.get("pipeline") != SERVICE_PIPELINE]
        services = [s for s in portal.objects.get("services", {}).values() if not s.archived]
        contacts = [c for c in portal.table("contacts").values() if not c.archived]
        owners = list(portal.owners.values())
        for _ in range(count):
            roll = rng.random()
            if services and rng.random() < 0.25:
                done.append(_edit_service_contract(portal, rng, rng.choice(services)))
            elif roll < 0.25 and deals:
                deal = rng.choice(deals)
                moved = _moved_date(deal.properties.get("renewal_date"), rng)
                portal.update("deals", deal.id, {"renewal_date": moved.isoformat()})
                done.append(f"deal {deal.id}: renewal date → {moved}")
            elif roll < 0.5 and deals:
                deal = rng.choice(deals)
                new = _new_price(deal.properties.get("current_monthly_price"), rng)
                if new is None:  # the sample bad data ("1.234,50"): leave that one alone
                    continue
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


def _edit_service_contract(portal: SandboxPortal, rng: random.Random, service: SandboxObject) -> str:
    """One edit of a service contract: its renewal date moved, its price changed or reverted, or
    it is cancelled or taken up again."""
    roll = rng.random()
    if roll < 0.4:
        moved = _moved_date(service.properties.get("renewal_date"), rng)
        portal.update("services", service.id, {"renewal_date": moved.isoformat()})
        return f"service {service.id}: renewal date → {moved}"
    if roll < 0.8:
        new = _new_price(service.properties.get("current_monthly_price"), rng)
        if new is not None:
            portal.update("services", service.id, {"renewal_monthly_price": new})
            return f"service {service.id}: renewal price → {new}"
    stage = "cancelled" if service.properties.get("hs_pipeline_stage") != "cancelled" else "active"
    portal.update("services", service.id, {"hs_pipeline_stage": stage})
    return f"service {service.id}: stage → {stage}"


def _moved_date(current: str | None, rng: random.Random) -> date:
    try:
        return date.fromisoformat(current or "") + timedelta(days=rng.choice([-20, -7, 7, 30]))
    except ValueError:
        return datetime.now(timezone.utc).date() + timedelta(days=rng.randint(1, 120))


def _new_price(current: str | None, rng: random.Random) -> str | None:
    """The current price again or raised; None for a price that doesn't read as one."""
    try:
        base = float(current or "")
    except ValueError:
        return None
    return current if rng.random() < 0.5 else f"{base * rng.choice([1.05, 1.2]):.2f}"


@dataclass(frozen=True)
class ClientPortalSpec:
    """A client's own HubSpot portal, as the partner reads it for tier usage: its account id, its
    marketing contacts now and how fast they grew (the newest arrived over the last six months),
    the other (non-marketing) contacts, and the marketing emails sent this calendar month."""

    portal_id: int
    marketing_contacts: int
    growth_per_month: int = 0
    other_contacts: int = 50
    emails_this_month: int = 0


def generate_client_portal(spec: ClientPortalSpec, now: datetime | None = None) -> SandboxPortal:
    now = now or datetime.now(timezone.utc)
    portal = SandboxPortal()
    portal.portal_id = spec.portal_id
    recent = min(spec.growth_per_month * 6, spec.marketing_contacts)
    older = spec.marketing_contacts - recent
    for n in range(spec.marketing_contacts):
        if n < older:
            created = now - timedelta(days=400 + n % 300)
        else:  # evenly over the last 180 days: a steady pace of growth_per_month
            created = now - timedelta(days=180 * (1 - (n - older + 1) / recent))
        portal.create("contacts", {"email": f"m{n}@client.example", "hs_marketable_status": "true"}, created_at=created)
    for n in range(spec.other_contacts):
        portal.create("contacts", {"email": f"o{n}@client.example", "hs_marketable_status": "false"}, created_at=now - timedelta(days=30 + n))
    if spec.emails_this_month:
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        portal.marketing_sends.append((max(month_start, now - timedelta(hours=1)), spec.emails_this_month))
    return portal

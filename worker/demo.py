"""``--demo``: the built-in sandbox HubSpot with a generated partner portal. No token, no network.

Each ``--demo --sync-now`` starts a freshly generated portal, so it also starts from a fresh demo
cache: a ledger of tasks created in an earlier, vanished sandbox would mean nothing.
"""

from __future__ import annotations

import dataclasses
import tempfile
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

from pydantic import SecretStr

from integrations.hubspot.sandbox import DEMO_TOKEN, PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.generator import (
    HOSTILE_COMPANY_NAMES,
    PARTNER_STYLE_PROPERTIES,
    SERVICE_CURRENCY_PROPERTY,
    ClientPortalSpec,
    generate_client_portal,
)
from integrations.hubspot.sandbox.server import ALL_SCOPES
from worker.config_sections import ClientPortalSettings, ServiceProperties, ServiceSettings
from worker.settings import Settings

DEMO_DATABASE_URL = "sqlite:///renewal-worker-demo.db"
# The partner's service contracts live in HubSpot's Partner Services object under Spanish names of
# the portal's own (what `--demo init` has to find), beside decoy objects that are no renewals.
DEMO_SPEC = PortalSpec(companies=40, seed=7, hostile_showcase=True, service_contracts=True, service_object_type="partner_services", partner_style=True)
DEMO_FALLBACK_OWNER_ID = "1001"  # the generated portal's first (active) owner: the ops desk


def demo_settings(settings: Settings, base_url: str, *, client_tokens_dir: str | None = None) -> Settings:
    """The user's settings pointed at the sandbox; the cache goes to a demo file unless the config
    names a database explicitly. The demo's clients' own portals are read with the keys in
    ``client_tokens_dir`` (written by ``demo_portal``)."""
    database = settings.database
    if database.url == type(database)().url:
        database = database.model_copy(update={"url": DEMO_DATABASE_URL})
    reminders = settings.reminders
    if reminders.fallback_owner_id is None:
        reminders = reminders.model_copy(update={"fallback_owner_id": DEMO_FALLBACK_OWNER_ID})
    subscriptions = settings.subscriptions
    properties = subscriptions.properties
    if not any((properties.discount_percent, properties.discount_end_date, properties.renewal_manager, properties.renewal_options_url)):
        # The demo portal records discounts, renewal managers and renewal options: show them.
        properties = properties.model_copy(update=DEMO_OPTIONAL_PROPERTIES)
        subscriptions = subscriptions.model_copy(update={"properties": properties})
    # The demo portal holds the partner's own service contracts too (HubSpot's partner services).
    services = settings.services or ServiceSettings(object_type="partner_services", properties=ServiceProperties(**DEMO_PARTNER_SERVICE_PROPERTIES))
    client_portals = settings.client_portals or ClientPortalSettings(tokens_dir=client_tokens_dir or DEMO_CLIENT_TOKENS_DIR)
    client_portals = client_portals.model_copy(update={"base_url": base_url, **({"tokens_dir": client_tokens_dir} if client_tokens_dir else {})})
    return dataclasses.replace(
        settings,
        client_portals=client_portals,
        hubspot=settings.hubspot.model_copy(update={"base_url": base_url}),
        database=database,
        reminders=reminders,
        subscriptions=subscriptions,
        services=services,
        access_token=SecretStr(DEMO_TOKEN),
    )


# The demo portal's names for the optional subscription properties.
DEMO_OPTIONAL_PROPERTIES = {
    "discount_percent": "renewal_discount_percent", "discount_end_date": "renewal_discount_end_date",
    "renewal_manager": "hubspot_renewal_manager", "renewal_options_url": "renewal_options_url",
}


# The demo portal's service contracts: the defaults, plus their currency and discount.
DEMO_SERVICE_PROPERTIES = {
    "currency": SERVICE_CURRENCY_PROPERTY,
    "discount_percent": "renewal_discount_percent", "discount_end_date": "renewal_discount_end_date",
}


# The demo's service contracts: the partner services object's own names for each role.
DEMO_PARTNER_SERVICE_PROPERTIES = {
    role: PARTNER_STYLE_PROPERTIES[name][0]
    for role, name in {
        "renewal_date": "renewal_date", "deadline": "renewal_deadline", "products": "hs_name",
        "current_price": "current_monthly_price", "renewal_price": "renewal_monthly_price", "currency": SERVICE_CURRENCY_PROPERTY,
        "status": "hs_pipeline_stage", "owner": "hubspot_owner_id",
        "discount_percent": "renewal_discount_percent", "discount_end_date": "renewal_discount_end_date",
    }.items()
}


def fresh_demo_database(settings: Settings) -> None:
    if settings.database.url != DEMO_DATABASE_URL:
        return
    path = Path(DEMO_DATABASE_URL.split("///", 1)[1])
    for suffix in ("", "-wal", "-shm", ".emission.lock", ".migrate.lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def demo_portal() -> Iterator[SandboxHubSpot]:
    """The demo portal, and three of its clients' own portals: one near its contact tier, one
    growing towards it before its renewal, one whose key was revoked. Their keys go to a private
    temporary folder (``sandbox.client_tokens_dir``), gone with the sandbox."""
    with tempfile.TemporaryDirectory(prefix="renewal-worker-demo-keys-") as keys, SandboxHubSpot(generate_portal(DEMO_SPEC)) as sandbox:
        add_demo_client_portals(sandbox, Path(keys))
        sandbox.client_tokens_dir = keys
        yield sandbox


DEMO_CLIENT_TOKENS_DIR = "renewal-worker-demo-keys"  # named in settings only; the demo writes its keys elsewhere
DEMO_PORTAL_ID_PROPERTY = "hubspot_portal_id"


def add_demo_client_portals(sandbox: SandboxHubSpot, keys: Path) -> None:
    portal = sandbox.portal
    today = datetime.now(timezone.utc).date()
    chosen: dict[int, tuple[int, int]] = {}  # company id → (tier, days to its renewal)
    with portal.lock:
        for deal in sorted(portal.table("deals").values(), key=lambda d: d.id):
            props = deal.properties
            try:
                tier, renewal = int(props.get("contact_tier") or ""), date.fromisoformat(props.get("renewal_date") or "")
            except ValueError:
                continue
            days = (renewal - today).days
            companies = [c for c in portal.associated("deals", deal.id, "companies") if portal.table("companies")[c].properties.get("name") not in HOSTILE_COMPANY_NAMES]
            if 50 <= days <= 110 and tier <= 10_000 and props.get("dealstage") != "closedlost" and companies and companies[0] not in chosen:
                chosen[companies[0]] = (tier, days)
            if len(chosen) == 2:
                break
        # The third client's key was revoked: any other ordinary client will do.
        spare = next(
            (c for c, company in sorted(portal.table("companies").items()) if c not in chosen and company.properties.get("name") not in HOSTILE_COMPANY_NAMES),
            None,
        )
        if spare is not None:
            chosen[spare] = (1000, 0)
    for n, (company_id, (tier, days)) in enumerate(chosen.items()):
        portal_id = 48_000_001 + n
        portal.update("companies", company_id, {DEMO_PORTAL_ID_PROPERTY: str(portal_id)})
        token = f"demo-client-key-{portal_id}"
        if n == 0:  # near its tier now
            spec = ClientPortalSpec(portal_id, round(tier * 0.96), growth_per_month=max(1, tier // 100), emails_this_month=tier * 4)
        else:  # growing: the tier is reached about three weeks before the renewal
            start = round(tier * 0.8)
            spec = ClientPortalSpec(portal_id, start, growth_per_month=max(1, round((tier - start) * 30.44 / max(days - 21, 1))), emails_this_month=tier)
        sandbox.client_portals[token] = generate_client_portal(spec)
        if n < 2:
            sandbox.tokens[token] = ALL_SCOPES
        (keys / f"{portal_id}.token").write_text(token + "\n", encoding="utf-8")
        (keys / f"{portal_id}.token").chmod(0o600)


def print_demo_outcome(settings: Settings, sandbox: SandboxHubSpot) -> None:
    """The renewals table from the cache, then the tasks as the demo portal now holds them."""
    from worker import reports
    from worker.cache.db import Cache
    from worker.rules.calendar import local_date
    from worker.sync.passes import utcnow

    cache = Cache(settings.database.url)
    try:
        with cache.transaction() as session:
            data = reports.renewals_data(session, settings, local_date(utcnow(), settings.tz), settings.reminders.horizon_days)
    finally:
        cache.close()
    print()
    print(reports.render_renewals(data, settings.reminders.language))
    rows = [list(task) for task in sandbox.portal.tasks_as_shown()]
    print()
    print(f"Tasks now in the demo HubSpot portal: {len(rows)}")
    print(reports.table(["Task", "Due", "Priority", "Owner", "Subject"], rows, wrap={4: 90}))
    print()
    print("The same renewals as a web page: .venv/bin/renewal-worker --demo panel  (then open http://127.0.0.1:8765/)")

"""What the partner negotiates with, end to end on the sandbox (SQLite and PostgreSQL): a
discount ending before the renewal is its own task until the new price is recorded, then the
price-change task names it; bad values in the new properties are findings."""

from __future__ import annotations

from datetime import timedelta

from tests import clock
from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from tests.conftest import make_settings
from tests.emission_helpers import ledger_rows, portal_tasks
from worker.cache.db import Cache
from worker.cache.models import Finding
from worker.config_sections import SubscriptionProperties
from worker.cycle import run_cycle
from worker.demo import DEMO_OPTIONAL_PROPERTIES
from worker.words import day


def test_a_discount_ending_before_the_renewal_then_the_new_price(db_url):
    portal = generate_portal(PortalSpec(companies=12, seed=8, bad_data=False))
    deal_id, deal = next((i, d) for i, d in portal.table("deals").items() if d.properties["dealstage"] != "closedlost")
    renewal = clock.local_today() + timedelta(days=80)
    ends = renewal - timedelta(days=40)
    portal.update("deals", deal_id, {
        "renewal_date": renewal.isoformat(), "current_monthly_price": "1000.00", "renewal_monthly_price": "1000.00",
        "renewal_discount_percent": "25", "renewal_discount_end_date": ends.isoformat(),
        "hubspot_renewal_manager": "Marta Ruiz", "renewal_options_url": "https://app.hubspot.com/renewal-options/1",
    })
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url, subscriptions={"properties": SubscriptionProperties(**DEMO_OPTIONAL_PROPERTIES)})
        cache = Cache(db_url)
        try:
            assert run_cycle(settings, cache=cache).ok
            key = f"renewal.discount_ends:subscription:{deal_id}:{ends.isoformat()}"
            ledger = {r.key: r for r in ledger_rows(cache)}
            assert ledger[key].state == "open"
            body = portal.table("tasks")[int(ledger[key].task_id)].properties["hs_task_body"]
            assert "25% discount" in body and "HubSpot renewal manager: Marta Ruiz." in body
            assert run_cycle(settings, cache=cache).ok  # exactly once
            assert sum(1 for marker in portal_tasks(portal) if marker) == len([r for r in ledger_rows(cache) if r.task_id])

            portal.update("deals", deal_id, {"renewal_monthly_price": "1333.33"})  # the new price is recorded
            assert run_cycle(settings, cache=cache).ok
            ledger = {r.key: r for r in ledger_rows(cache)}
            assert ledger[key].state == "closed" and ledger[key].close_reason.startswith("the discount no longer ends before the renewal")
            price = next(r for k, r in ledger.items() if k.startswith(f"renewal.price_change:subscription:{deal_id}:"))
            body = portal.table("tasks")[int(price.task_id)].properties["hs_task_body"]
            assert body.startswith(f"The 25% discount ends on {day(ends, 'en')}: from $1,000.00 to $1,333.33.")

            portal.update("deals", deal_id, {"renewal_discount_percent": "lots", "renewal_options_url": "javascript:alert(1)"})
            assert run_cycle(settings, cache=cache).ok
            with cache.transaction() as session:
                from sqlalchemy import select

                open_findings = {(f.field, f.value) for (f,) in session.execute(select(Finding).where(Finding.object_id == str(deal_id), Finding.resolved_at.is_(None)))}
            assert {("discount_percent", "lots"), ("renewal_options_url", "javascript:alert(1)")} <= open_findings
        finally:
            cache.close()

"""Hostile and impossible HubSpot values: each is stored typed, or kept raw (cleaned where the
database cannot store it) with a finding naming the record, the property and the value. None
fails a page, a run or the next run, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlmodel import select

from integrations.hubspot.sandbox import SandboxHubSpot, SandboxPortal
from tests.conftest import make_settings
from tests.clock import days_from_today
from worker.cache.db import Cache
from worker.cache.models import Company, Finding, Subscription
from worker.cycle import run_cycle

# (deal property, hostile value, finding rule, what the finding says)
DEAL_VALUES = [
    ("contact_tier", "1" + "0" * 30, "data.malformed_value", "out of range"),
    ("contact_tier", "3000000000", "data.malformed_value", "out of range"),
    ("contacts_used", "１２００", "data.malformed_value", "not a whole number"),
    ("renewal_date", "0001-01-01T00:00:00+05:00", "data.malformed_value", "out of range"),
    ("renewal_date", "9999-12-31T23:00:00-05:00", "data.malformed_value", "out of range"),
    ("renewal_date", "２０２６-１２-０１", "data.malformed_value", "not a valid date"),
    ("renewal_deadline", "0001-01-01T00:00:00+05:00", "data.malformed_value", "out of range"),
    ("current_monthly_price", "-0", "data.malformed_value", "a negative price"),
    ("current_monthly_price", "１２００.００", "data.malformed_value", "not a plain number"),
    ("renewal_monthly_price", "9" * 40, "data.malformed_value", "out of range"),
    ("renewal_products", "Marketing\x00Hub", "data.unstorable_value", "NUL"),
]
FIELD = {"contact_tier": "contact_tier", "contacts_used": "contacts_used", "renewal_date": "renewal_date",
         "renewal_deadline": "deadline", "current_monthly_price": "current_price",
         "renewal_monthly_price": "renewal_price", "renewal_products": "products"}


def hostile_portal() -> tuple[SandboxPortal, dict]:
    portal = SandboxPortal()
    owner = portal.add_owner("Laura", "Pérez")
    made = {}
    for n, (prop, value, _rule, _why) in enumerate(DEAL_VALUES):
        name = "Nul\x00Byte GmbH" if n == 0 else f"Client {n}"
        company = portal.create("companies", {"name": name, "hubspot_owner_id": str(owner.id)})
        contact = portal.create("contacts", {"firstname": "Ana\x00", "lastname": "García", "email": f"ana{n}@client.example"})
        portal.associate("companies", company.id, "contacts", contact.id, primary=True)
        deal = portal.create("deals", {
            "renewal_date": days_from_today(60), "current_monthly_price": "100.00", "renewal_monthly_price": "100.00",
            "contact_tier": "1000", "contacts_used": "10", "dealstage": "renewal_open", "hubspot_owner_id": str(owner.id),
            prop: value,
        })
        portal.associate("deals", deal.id, "companies", company.id, primary=True)
        made[(prop, value)] = str(deal.id)
    made["nul_company"] = str(min(portal.table("companies")))
    return portal, made


def test_every_hostile_value_becomes_a_finding_and_no_run_fails(db_url):
    portal, made = hostile_portal()
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url)
        cache = Cache(db_url)
        try:
            for mode in ("auto", "auto", "full"):  # the first run, an incremental rerun, a reconcile
                result = run_cycle(settings, cache=cache, mode=mode)
                assert result.ok, result.error
            with cache.transaction() as session:
                findings = {(f.rule, f.object_id, f.field): f for f in session.exec(select(Finding).where(Finding.resolved_at.is_(None))).all()}
                subscriptions = {s.id: s for s in session.exec(select(Subscription)).all()}
                company = session.get(Company, made["nul_company"])
        finally:
            cache.close()
    assert len(subscriptions) == len(DEAL_VALUES)  # none dropped
    for prop, value, rule, why in DEAL_VALUES:
        deal_id = made[(prop, value)]
        field = prop if rule == "data.unstorable_value" else FIELD[prop]
        finding = findings.get((rule, deal_id, field))
        assert finding is not None, (prop, value)
        assert why in finding.message and prop in finding.message
        assert finding.value is not None and "\x00" not in finding.value
        assert getattr(subscriptions[deal_id], FIELD[prop]) in (None, "MarketingHub")
    assert company.name == "NulByte GmbH"
    assert ("data.unstorable_value", made["nul_company"], "name") in findings

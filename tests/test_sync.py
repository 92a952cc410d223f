"""Full and incremental sync against the sandbox, through the real SDK over real HTTP, on SQLite
and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from tests import clock
from integrations.hubspot.sandbox import Fault, SandboxHubSpot
from tests.conftest import make_gateway, make_settings
from worker.cache.db import Cache
from worker.cache.models import Company, Contact, Finding, Owner, PrimaryContact, ServiceContract, Subscription
from worker.cycle import run_cycle
from worker.sync.passes import Syncer

VOLATILE = {"synced_at", "checked_at", "first_seen_at", "last_seen_at", "resolved_at", "seen_generation"}


def snapshot(cache: Cache) -> dict[str, list[dict]]:
    """The cache's content without bookkeeping timestamps: equal snapshots mean equal caches."""
    tables = {}
    with cache.transaction() as session:
        for model in (Company, Contact, PrimaryContact, Owner, Subscription, ServiceContract):
            rows = [
                {k: v for k, v in row.model_dump().items() if k not in VOLATILE}
                for row in session.exec(select(model)).all()
            ]
            tables[model.__tablename__] = sorted(rows, key=lambda r: str(r.get("id", r.get("company_id"))))
        findings = [
            (f.rule, f.object_type, f.object_id, f.field, f.value, f.resolved_at is None)
            for f in session.exec(select(Finding)).all()
        ]
        tables["findings"] = sorted(findings, key=str)
    return tables


def sync(settings, cache, mode="auto"):
    gateway = make_gateway(settings)
    try:
        return Syncer(gateway, cache, settings).run(mode), gateway
    finally:
        gateway.close()


def open_findings(cache, **where):
    with cache.transaction() as session:
        query = select(Finding).where(Finding.resolved_at.is_(None))
        for key, value in where.items():
            query = query.where(getattr(Finding, key) == value)
        return session.exec(query).all()


def test_full_sync_mirrors_the_portal(settings, cache, portal):
    report, gateway = sync(settings, cache)
    assert report.mode == "full"
    with cache.transaction() as session:
        companies = {c.id: c for c in session.exec(select(Company)).all()}
        subscriptions = session.exec(select(Subscription)).all()
        owners = {o.id: o for o in session.exec(select(Owner)).all()}
        links = {link.company_id: link for link in session.exec(select(PrimaryContact)).all()}

    assert set(companies) == {str(i) for i in portal.table("companies")}
    assert {s.id for s in subscriptions} == {str(i) for i in portal.table("deals")}
    assert {o.id for o in owners.values() if not o.active} == {str(o.id) for o in portal.owners.values() if o.archived}
    # Each company's primary contact is the labelled one, the earliest created when several are.
    for company_id in portal.table("companies"):
        labelled = [
            cid for cid, types in portal.associated("companies", company_id, "contacts").items()
            if any(t.label == "Primary" for t in types)
        ]
        expected = min(labelled, key=lambda cid: portal.table("contacts")[cid].created_at) if labelled else None
        assert links[str(company_id)].contact_id == (str(expected) if expected else None)
    # Subscriptions know their company; typed columns parsed.
    sample = next(s for s in subscriptions if s.renewal_date and s.current_price is not None)
    raw = portal.table("deals")[int(sample.id)].properties
    assert sample.renewal_date.isoformat() == raw["renewal_date"]
    assert str(sample.current_price) == raw["current_monthly_price"]
    assert all(s.company_id in companies for s in subscriptions)
    # Never more than the floor: one list page per 100, one association batch per page, etc.
    assert gateway.stats.rate_limited == 0


def test_ambiguous_primary_contact_is_a_finding(settings, cache, portal):
    company = portal.create("companies", {"name": "Dos Primarios S.A."})
    first = portal.create("contacts", {"email": "a@x.example"}, created_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    second = portal.create("contacts", {"email": "b@x.example"}, created_at=datetime(2019, 1, 1, tzinfo=timezone.utc))
    portal.associate("companies", company.id, "contacts", first.id, primary=True)
    portal.associate("companies", company.id, "contacts", second.id, primary=True)
    sync(settings, cache)
    with cache.transaction() as session:
        link = session.get(PrimaryContact, str(company.id))
    assert link.contact_id == str(second.id)  # earliest created, not lowest id
    assert link.candidate_ids == [str(second.id), str(first.id)]
    found = open_findings(cache, object_id=str(company.id), rule="data.primary_contact_ambiguous")
    assert len(found) == 1 and str(second.id) in found[0].message


def test_user_defined_label_picks_the_primary(sandbox, db_url):
    portal = sandbox.portal
    company = portal.create("companies", {"name": "Etiqueta Ltda."})
    plain, renewal = (portal.create("contacts", {"email": f"{n}@e.example"}) for n in ("plain", "renewal"))
    portal.associate("companies", company.id, "contacts", plain.id, primary=True)
    portal.associate("companies", company.id, "contacts", renewal.id, label="Renewal contact")
    settings = make_settings(sandbox.url, db_url, primary_contact={"association_label": "Renewal contact"})
    cache = Cache(db_url)
    sync(settings, cache)
    with cache.transaction() as session:
        assert session.get(PrimaryContact, str(company.id)).contact_id == str(renewal.id)


def test_malformed_values_become_findings_and_resolve_when_fixed(settings, cache, portal):
    company = portal.create("companies", {"name": "Datos Malos SpA"})
    deal = portal.create(
        "deals",
        {
            "renewal_date": "2026-02-30",
            "current_monthly_price": "1.234,50",
            "renewal_monthly_price": "-5",
            "contact_tier": "lots",
            "renewal_communication_owner": "agency",
            "renewal_products": "Ωmega 製品 " * 2000,
        },
    )
    portal.associate("deals", deal.id, "companies", company.id, primary=True)
    report, _ = sync(settings, cache)  # must not raise
    with cache.transaction() as session:
        row = session.get(Subscription, str(deal.id))
    assert row.renewal_date is None and row.current_price is None and row.contact_tier is None
    assert row.properties["current_monthly_price"] == "1.234,50"  # kept as it came
    assert row.products.startswith("Ωmega 製品")
    fields = {(f.rule, f.field) for f in open_findings(cache, object_id=str(deal.id))}
    assert fields == {
        ("data.malformed_value", "renewal_date"),
        ("data.malformed_value", "current_price"),
        ("data.malformed_value", "renewal_price"),
        ("data.malformed_value", "contact_tier"),
        ("data.unknown_value", "communication_owner"),
    }

    portal.update("deals", deal.id, {"renewal_date": "2027-02-28", "current_monthly_price": "1234.50", "renewal_monthly_price": "1300", "contact_tier": "5000", "renewal_communication_owner": "partner"})
    sync(settings, cache)
    assert open_findings(cache, object_id=str(deal.id)) == []
    with cache.transaction() as session:
        row = session.get(Subscription, str(deal.id))
    assert str(row.current_price) == "1234.50" and row.communication_owner == "partner"


def test_incremental_sees_changes_and_association_moves(settings, cache, portal):
    sync(settings, cache)
    company_id = next(iter(portal.table("companies")))
    portal.update("companies", company_id, {"name": "Renombrada S.A."})
    # A new primary contact: the association changes, no record's modified date does.
    deal_id, deal = next((i, d) for i, d in portal.table("deals").items() if d.properties["dealstage"] != "closedlost")
    soon = (clock.now() + timedelta(days=30)).date().isoformat()
    portal.update("deals", deal_id, {"renewal_date": soon})
    owner_company = int(next(iter(portal.associated("deals", deal_id, "companies"))))
    newcomer = portal.create("contacts", {"email": "nueva@cliente.example", "firstname": "Nueva"}, created_at=datetime(2000, 1, 1, tzinfo=timezone.utc))
    portal.associate("companies", owner_company, "contacts", newcomer.id, primary=True)
    for old in [c for c, t in portal.associated("companies", owner_company, "contacts").items() if c != newcomer.id]:
        portal.dissociate("companies", owner_company, "contacts", old)
    before = portal.table("companies")[owner_company].updated_at

    report, _ = sync(settings, cache)
    assert report.mode == "incremental"
    assert portal.table("companies")[owner_company].updated_at == before
    with cache.transaction() as session:
        assert session.get(Company, str(company_id)).name == "Renombrada S.A."
        assert session.get(Subscription, str(deal_id)).renewal_date.isoformat() == soon
        assert session.get(PrimaryContact, str(owner_company)).contact_id == str(newcomer.id)
        assert session.get(Contact, str(newcomer.id)).email == "nueva@cliente.example"


def test_reconcile_marks_archived_and_deleted(settings, cache, portal):
    sync(settings, cache)
    companies = list(portal.table("companies"))
    deals = list(portal.table("deals"))
    portal.archive("companies", companies[0])
    portal.purge("companies", companies[1])
    portal.archive("deals", deals[0])
    portal.purge("deals", deals[1])
    report, _ = sync(settings, cache, mode="full")
    with cache.transaction() as session:
        archived = session.get(Company, str(companies[0]))
        purged = session.get(Company, str(companies[1]))
        assert archived.archived and archived.archived_at and archived.deleted_at is None
        assert purged.archived and purged.deleted_at is not None
        assert session.get(Subscription, str(deals[0])).archived
        assert session.get(Subscription, str(deals[1])).deleted_at is not None
        assert session.get(Company, str(companies[2])).archived is False
    assert report.counts["companies_deleted"] == 1 and report.counts["subscriptions_deleted"] == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=429, retry_after="0", match="GET /crm/(?:v3/)?objects/(?:2026-[0-9][0-9]/)?companies", skip=1, times=2),
        Fault("status", status=429, match="batch/read", skip=1, times=2),  # no Retry-After: backoff
        Fault("status", status=503, match="associations", times=3),
        Fault("status", status=500, match="deals", skip=1, times=2),
        Fault("reset", match="POST /crm/(?:v3/)?objects/(?:2026-[0-9][0-9]/)?contacts/batch/read", times=2),
        Fault("truncate", match="GET /crm/(?:v3/)?objects/(?:2026-[0-9][0-9]/)?deals", skip=1, times=2),
        Fault("slow", delay_s=0.3, match="owners", times=1),
    ],
    ids=["429-retry-after", "429-backoff", "503", "500", "reset", "truncated", "slow"],
)
def test_faults_leave_the_same_cache_as_a_clean_run(fault, sandbox, tmp_path):
    pages = {"hubspot": {"page_size": 25}}  # several pages per list, each stream in its thread
    clean = Cache(f"sqlite:///{tmp_path / 'clean.db'}")
    sync(make_settings(sandbox.url, clean.url, **pages), clean)
    faulty = Cache(f"sqlite:///{tmp_path / 'faulty.db'}")
    expected_faults = fault.times
    sandbox.add_fault(fault)
    report, gateway = sync(make_settings(sandbox.url, faulty.url, **pages), faulty)
    assert sandbox.stats.faults_applied == expected_faults
    assert snapshot(faulty) == snapshot(clean)
    if fault.kind != "slow":
        assert gateway.stats.retries >= expected_faults


def test_interrupted_full_pass_resumes_where_it_stopped(sandbox, tmp_path):
    clean = Cache(f"sqlite:///{tmp_path / 'clean.db'}")
    sync(make_settings(sandbox.url, clean.url), clean)
    resumed = Cache(f"sqlite:///{tmp_path / 'resumed.db'}")
    settings = make_settings(sandbox.url, resumed.url, hubspot={"max_attempts": 2, "page_size": 10})
    # The fourth page of deals fails for good this run.
    sandbox.add_fault(Fault("status", status=503, match="GET /crm/(?:v3/)?objects/(?:2026-[0-9][0-9]/)?deals", skip=3, times=2))
    result = run_cycle(settings, gateway=make_gateway(settings), cache=resumed, steps=("sync",))
    assert not result.ok and "unavailable" in result.error.lower()
    sandbox.reset_stats()
    result = run_cycle(settings, gateway=make_gateway(settings), cache=resumed, steps=("sync",))
    assert result.ok and result.mode == "full"
    # It continued from the fourth deals page: companies were not listed again.
    assert sandbox.stats.calls["list_objects:companies"] == 0
    assert sandbox.stats.calls["list_objects:deals"] >= 1
    assert snapshot(resumed) == snapshot(clean)


def test_incremental_pages_past_the_search_cap_when_many_records_share_a_modified_time(sandbox, sqlite_url):
    portal = sandbox.portal
    settings = make_settings(sandbox.url, sqlite_url)
    cache = Cache(sqlite_url)
    sync(settings, cache)
    moment = clock.now().replace(microsecond=0)
    created = [portal.create("companies", {"name": f"Import {n}"}, updated_at=moment).id for n in range(10_050)]
    sandbox.reset_stats()
    report, _ = sync(settings, cache)
    assert report.mode == "incremental"
    with cache.transaction() as session:
        cached = set(session.exec(select(Company.id)).all())
    assert {str(i) for i in created} <= cached
    searches = sandbox.stats.calls["search_objects:companies"]
    assert searches == -(-10_050 // 200)  # each page fresh, none past the cap, none repeated
    assert sandbox.stats.statuses.get(400, 0) == 0


def test_a_throttled_run_sees_no_429(portal, sqlite_url):
    """HubSpot's own limits, shrunk so that the run must wait: the limiter keeps it under them."""
    with SandboxHubSpot(portal, requests_per_10s=15, search_requests_per_s=2) as server:
        settings = make_settings(server.url, sqlite_url, hubspot={"requests_per_10s": 15, "search_requests_per_s": 2, "page_size": 10})
        cache = Cache(sqlite_url)
        _, full = sync(settings, cache)
        _, incremental = sync(settings, cache)
    assert full.stats.total_calls > 15 and full.stats.throttle_wait_s > 0
    assert server.stats.rate_limited == 0
    assert full.stats.rate_limited == incremental.stats.rate_limited == 0


def test_incremental_with_more_changed_subscriptions_than_one_association_batch(sqlite_url):
    """A search page holds 200 records, an association batch 100 (found by the soak test)."""
    from decimal import Decimal

    from integrations.hubspot.sandbox import PortalSpec, generate_portal

    portal = generate_portal(PortalSpec(companies=140, seed=2, bad_data=False))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url)
        cache = Cache(sqlite_url)
        sync(settings, cache)
        deals = list(portal.table("deals"))[:180]
        assert len(deals) == 180
        for deal_id in deals:
            portal.update("deals", deal_id, {"renewal_monthly_price": "999.00"})
        report, _ = sync(settings, cache)
        assert report.mode == "incremental" and report.counts["subscriptions_changed"] >= 180
        with cache.transaction() as session:
            rows = [session.get(Subscription, str(deal_id)) for deal_id in deals]
        assert all(row.renewal_price == Decimal("999.00") and row.company_id for row in rows)
        cache.close()

"""The sync's API calls against their floor, through the real SDK over real HTTP (issue 11).

Floor of a first full sync: the portal's account details once, ⌈companies/100⌉ list pages + ⌈companies/1,000⌉ company → contact
association reads + ⌈primary contacts/100⌉ contact reads + ⌈subscriptions/100⌉ list pages (each
subscription's company inline) + the owners' two lists. An incremental run with nothing changed:
one owners call, three searches, one association re-check call per kind.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlmodel import select

from tests import clock
from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.routes import INLINE_ASSOCIATIONS_MAX
from tests.conftest import make_gateway, make_settings
from worker.cache.db import Cache
from worker.cache.models import Owner, PrimaryContact, Subscription
from worker.sync.passes import Syncer


def _sync(settings, cache, mode="auto", **kw):
    gateway = make_gateway(settings)
    try:
        return Syncer(gateway, cache, settings, **kw).run(mode)
    finally:
        gateway.close()


def _primary_contacts(portal) -> int:
    return len({
        contact_id
        for company_id in portal.table("companies")
        for contact_id, types in portal.associated("companies", company_id, "contacts").items()
        if any(t.label == "Primary" for t in types)
    })


def test_a_first_full_sync_makes_exactly_the_floor_of_calls(sqlite_url):
    portal = generate_portal(PortalSpec(companies=250, seed=5))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        cache = Cache(sqlite_url)
        report = _sync(make_settings(server.url, sqlite_url), cache)
        cache.close()
    companies = sum(1 for c in portal.table("companies").values() if not c.archived)
    deals = sum(1 for d in portal.table("deals").values() if not d.archived)
    assert report.mode == "full"
    assert dict(server.stats.calls) == {
        "account_details:account": 1,  # the portal's id, once per cache (the panel's record links)
        "list_owners:owners": 2,  # active and archived, one page each
        "list_objects:companies": math.ceil(companies / 100),  # no archived list: nothing to reconcile yet
        "batch_read_associations:companies": math.ceil(companies / 1000),
        "batch_read_objects:contacts": math.ceil(_primary_contacts(portal) / 100),
        "list_objects:deals": math.ceil(deals / 100),  # companies inline: no deal association call
    }


def test_a_later_full_sync_reads_the_archived_list_only_when_the_cache_holds_what_the_active_list_did_not_show(sqlite_url):
    portal = generate_portal(PortalSpec(companies=60, seed=5))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url)
        cache = Cache(sqlite_url)
        _sync(settings, cache)
        server.reset_stats()
        _sync(settings, cache, "full")
        assert server.stats.calls["list_objects:companies"] == 1  # every cached company listed again
        archived = next(iter(portal.table("companies")))
        portal.archive("companies", archived)
        server.reset_stats()
        _sync(settings, cache, "full")
        assert server.stats.calls["list_objects:companies"] == 2  # active, then archived
        with cache.transaction() as session:
            from worker.cache.models import Company

            row = session.get(Company, str(archived))
            assert row.archived and row.deleted_at is None  # archived, not deleted
        cache.close()


def test_nothing_changed_costs_six_calls(sqlite_url):
    portal = generate_portal(PortalSpec(companies=120, seed=5))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url)
        cache = Cache(sqlite_url)
        _sync(settings, cache)
        server.reset_stats()
        report = _sync(settings, cache)
        cache.close()
    assert report.mode == "incremental"
    assert dict(server.stats.calls) == {
        "list_owners:owners": 1,  # the active list: an owner it no longer shows is deactivated
        "search_objects:companies": 1,
        "search_objects:contacts": 1,
        "search_objects:deals": 1,
        "batch_read_associations:companies": 1,  # the re-check, one turn per kind
        "batch_read_associations:deals": 1,
    }


def test_service_contracts_cost_their_list_pages_then_one_search_and_one_recheck(sqlite_url):
    """With [services] on, a first full sync adds ⌈service contracts/100⌉ list pages (each one's
    company inline) and nothing else; a quiet run adds one search and one re-check call."""
    portal = generate_portal(PortalSpec(companies=250, seed=5, service_contracts=True))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url, services={})
        cache = Cache(sqlite_url)
        _sync(settings, cache)
        first = dict(server.stats.calls)
        server.reset_stats()
        _sync(settings, cache)
        quiet = dict(server.stats.calls)
        cache.close()
    services = len(portal.table("services"))
    assert services > 100 and first["list_objects:services"] == math.ceil(services / 100)
    assert "batch_read_associations:services" not in first
    assert quiet["search_objects:services"] == 1 and quiet["batch_read_associations:services"] == 1
    assert sum(quiet.values()) == 8


def test_an_owner_missing_from_the_active_list_is_deactivated_by_an_incremental_run(sqlite_url):
    portal = generate_portal(PortalSpec(companies=40, seed=5))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url)
        cache = Cache(sqlite_url)
        _sync(settings, cache)
        leaving = next(o for o in portal.owners.values() if not o.archived)
        leaving.archived = True
        server.reset_stats()
        report = _sync(settings, cache)
        assert server.stats.calls["list_owners:owners"] == 1
        assert report.counts["owners_deactivated"] == 1
        with cache.transaction() as session:
            row = session.get(Owner, str(leaving.id))
            assert row.active is False and row.deleted_at is None
            still = session.exec(select(Owner).where(Owner.active.is_(True))).all()
        assert {o.id for o in still} == {str(o.id) for o in portal.owners.values() if not o.archived}
        leaving.archived = False  # reactivated: listed again, usable again
        _sync(settings, cache)
        with cache.transaction() as session:
            assert session.get(Owner, str(leaving.id)).active is True
        cache.close()


def test_the_association_recheck_takes_turns_and_reaches_every_renewal(sqlite_url):
    """With more renewals in the horizon than one call takes, each run re-reads the next turn's
    worth: a new primary contact is found within ⌈renewals/turn⌉ runs, one call per kind a run."""
    portal = generate_portal(PortalSpec(companies=80, seed=5, bad_data=False))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url)
        cache = Cache(sqlite_url)
        _sync(settings, cache)
        horizon = clock.local_today() + timedelta(days=settings.sync.association_recheck_horizon_days)
        with cache.transaction() as session:
            renewing = sorted({
                s.company_id for s in session.exec(select(Subscription)).all()
                if s.company_id and s.renewal_date and clock.local_today() <= s.renewal_date <= horizon and not s.archived
            })
        assert len(renewing) > 20
        company = int(renewing[-1])  # the last in turn order: found on the last run of a round
        newcomer = portal.create("contacts", {"email": "nueva@cliente.example", "firstname": "Nueva"})
        for old in list(portal.associated("companies", company, "contacts")):
            portal.dissociate("companies", company, "contacts", old)
        portal.associate("companies", company, "contacts", newcomer.id, primary=True)
        turn, runs = 10, math.ceil(len(renewing) / 10)
        for run in range(1, runs + 1):
            server.reset_stats()
            _sync(settings, cache, recheck_turn=turn)
            assert server.stats.calls["batch_read_associations:companies"] == 1
            with cache.transaction() as session:
                found = session.get(PrimaryContact, str(company)).contact_id == str(newcomer.id)
            assert found == (run == runs), f"run {run} of {runs}"
        cache.close()


def test_a_subscription_with_more_companies_than_the_list_carries_is_read_whole(sqlite_url):
    portal = generate_portal(PortalSpec(companies=INLINE_ASSOCIATIONS_MAX + 20, seed=5, bad_data=False))
    deal_id = next(iter(portal.table("deals")))
    for company in list(portal.associated("deals", deal_id, "companies")):
        portal.dissociate("deals", deal_id, "companies", company)
    companies = sorted(portal.table("companies"))
    for company in companies[: INLINE_ASSOCIATIONS_MAX + 5]:
        portal.associate("deals", deal_id, "companies", company)
    primary = companies[INLINE_ASSOCIATIONS_MAX + 2]  # beyond what the list page carries inline
    portal.associate("deals", deal_id, "companies", primary, primary=True)
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        cache = Cache(sqlite_url)
        _sync(make_settings(server.url, sqlite_url), cache)
        assert server.stats.calls["batch_read_associations:deals"] == 1  # that deal alone
        with cache.transaction() as session:
            assert session.get(Subscription, str(deal_id)).company_id == str(primary)
        cache.close()


def test_a_first_sync_stopped_while_reading_the_primary_contacts_resumes_there(tmp_path):
    """The companies are listed, then their contacts read 1,000 companies a step: a run that
    fails in that phase leaves the listing done, and the next run only reads the links."""
    from integrations.hubspot.sandbox import Fault
    from tests.test_sync import snapshot
    from worker.cycle import run_cycle

    portal = generate_portal(PortalSpec(companies=80, seed=5))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        clean = Cache(f"sqlite:///{tmp_path / 'clean.db'}")
        _sync(make_settings(server.url, clean.url), clean)
        resumed = Cache(f"sqlite:///{tmp_path / 'resumed.db'}")
        settings = make_settings(server.url, resumed.url, hubspot={"max_attempts": 2, "page_size": 20})
        server.add_fault(Fault("status", status=503, match="associations/(?:2026-[0-9][0-9]/)?companies/contacts/batch/read", times=2))
        failed = run_cycle(settings, cache=resumed, steps=("sync",))
        assert not failed.ok and "batch_read_associations" in failed.error
        server.reset_stats()
        again = run_cycle(settings, cache=resumed, steps=("sync",))
        assert again.ok and again.mode == "full"
        assert server.stats.calls["list_objects:companies"] == 0  # the listing was done
        assert server.stats.calls["batch_read_associations:companies"] == 1
        assert snapshot(resumed) == snapshot(clean)
        clean.close()
        resumed.close()

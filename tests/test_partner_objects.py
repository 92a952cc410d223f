"""HubSpot's objects made for partners as sources (issue 22, item 5): ``partner_services`` carries the
partner's service contracts like HubSpot's services object does, read with its own scope
(``crm.objects.partner-services.read``, from HubSpot-public-api-spec-collection, PublicApiSpecs/CRM/
Partner Services/Rollouts/424/2026-09); the objects are read and update only: nothing of the
worker's ever creates one."""

from __future__ import annotations

from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.server import ALL_SCOPES
from tests.conftest import make_settings
from tests.emission_helpers import assert_exactly_once, ledger_rows
from tests.test_access import check_access
from tests.test_cli import TOKEN, live_sandbox  # noqa: F401 - the fixture
from tests.test_services import SERVICE_PROPERTIES
from worker.cache.db import Cache
from worker.cycle import run_cycle

PARTNER_SERVICES_SCOPE = "crm.objects.partner-services.read"


def test_service_contracts_read_from_partner_services_get_their_tasks(db_url):
    portal = generate_portal(PortalSpec(companies=30, seed=6, bad_data=False, service_contracts=True, service_object_type="partner_services"))
    assert portal.table("partner_services") and not portal.table("services")
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url, services={"object_type": "partner_services", "properties": SERVICE_PROPERTIES})
        cache = Cache(db_url)
        try:
            result = run_cycle(settings, cache=cache)
            assert result.ok, result.error
            assert result.counts["services"] == len(portal.table("partner_services"))
            service_tasks = [r for r in ledger_rows(cache) if r.object_type == "service" and r.state == "open"]
            assert len(service_tasks) >= 5
            for row in service_tasks:
                assert list(portal.associated("tasks", int(row.task_id), "partner_services")) == [int(row.object_id)]
            assert_exactly_once(portal, cache)
            assert run_cycle(settings, cache=cache).counts["tasks_created"] == 0
        finally:
            cache.close()


def test_check_access_names_the_partner_services_scope(live_sandbox, tmp_path):
    extra = '[services]\nobject_type = "partner_services"\n[services.properties]\nrenewal_date = "renewal_date"\n'
    live_sandbox.tokens[TOKEN] = ALL_SCOPES - {PARTNER_SERVICES_SCOPE}
    done, lines = check_access(live_sandbox, tmp_path, extra)
    assert done.returncode == 1, lines
    assert lines["read services (partner_services)"] == f"missing scope read services (partner_services): {PARTNER_SERVICES_SCOPE}"


def test_a_partner_client_record_carrying_its_renewal_is_read_as_the_clients_subscription(db_url):
    """Where a portal keeps each client's renewal on its Partner Clients record (tied to its
    company), that object is the subscriptions' source: synced, judged and tasked like deals."""
    portal = generate_portal(PortalSpec(companies=20, seed=9, bad_data=False, subscription_type="partner_clients", subscriptions_per_company=(1, 1)))
    assert portal.table("partner_clients") and not portal.table("deals")
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url, subscriptions={"object_type": "partner_clients"})
        cache = Cache(db_url)
        try:
            result = run_cycle(settings, cache=cache)
            assert result.ok, result.error
            assert result.counts["subscriptions"] == 20
            open_tasks = [r for r in ledger_rows(cache) if r.object_type == "subscription" and r.state == "open"]
            assert open_tasks
            for row in open_tasks:
                assert list(portal.associated("tasks", int(row.task_id), "partner_clients")) == [int(row.object_id)]
            assert_exactly_once(portal, cache)
        finally:
            cache.close()

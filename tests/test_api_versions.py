"""HubSpot's date-versioned API (2026-09 by default, 2026-03) and the legacy v3/v4 paths: the
same cycle on each, through the real SDK over real HTTP against the sandbox."""

from __future__ import annotations

import pytest

from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.transport import RetryPolicy
from integrations.hubspot.limiter import RequestLimiter
from integrations.hubspot.sandbox import DEMO_TOKEN, PortalSpec, SandboxHubSpot, generate_portal
from tests.conftest import make_settings
from tests.emission_helpers import assert_exactly_once
from tests.test_cli import run_cli
from worker.cache.db import Cache
from worker.cycle import run_cycle

PATH_OF = {
    "2026-09": "/crm/objects/2026-09/companies",
    "2026-03": "/crm/objects/2026-03/companies",
    "legacy": "/crm/v3/objects/companies",
}


@pytest.mark.parametrize("version", ["2026-03", "legacy"])
def test_a_full_cycle_on_each_other_version(db_url, version):
    portal = generate_portal(PortalSpec(companies=40, seed=13))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        seen: list[str] = []
        original = server._take_fault
        server._take_fault = lambda line: (seen.append(line), original(line))[1]  # type: ignore[method-assign]
        settings = make_settings(server.url, db_url, hubspot={"api_version": version})
        cache = Cache(db_url)
        try:
            first = run_cycle(settings, cache=cache)
            assert first.ok and first.counts["tasks_created"] > 0, first.error
            again = run_cycle(settings, cache=cache)
            assert again.ok and again.counts.get("tasks_created", 0) == 0
            assert_exactly_once(portal, cache)
        finally:
            cache.close()
    assert any(PATH_OF[version] in line for line in seen)
    assert not any(PATH_OF[other] in line for other in PATH_OF if other != version for line in seen)


def test_the_default_version_is_2026_09(sandbox, sqlite_url):
    settings = make_settings(sandbox.url, sqlite_url)
    assert settings.hubspot.api_version == "2026-09"


@pytest.mark.parametrize("version, status", [("2026-09", 200), ("2026-03", 207), ("legacy", 207)])
def test_a_batch_with_failures_answers_207_before_2026_09_and_200_with_errors_from_it(sandbox, portal, version, status):
    """HubSpot's 2026-09 no longer answers 207: partial failures come as 200 with errors. The
    answer check reads both the same way."""
    gateway = HubSpotGateway(base_url=sandbox.url, access_token=DEMO_TOKEN, limiter=RequestLimiter(10_000, 1_000), retry=RetryPolicy(backoff_initial_s=0.01), api_version=version)
    known = str(next(iter(portal.table("contacts"))))
    records = gateway.batch_read("contacts", [known, "999999999"], ["email"])
    assert [r.id for r in records] == [known]
    assert sandbox.stats.statuses[status] >= 1


def test_an_unknown_api_version_is_a_configuration_error(tmp_path):
    done = run_cli(tmp_path, "--sync-now", config='[hubspot]\napi_version = "v5"\n')
    assert done.returncode == 2 and "hubspot.api_version" in done.stderr

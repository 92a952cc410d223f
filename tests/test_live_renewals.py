"""The panel's renewals kept between runs (``LiveRenewals`` over a ``LivePortfolio``): after every
kind of change a run brings, the rows it keeps are the rows the cache gives when read whole
(``renewals --json``), and a quiet run rebuilds none of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from tests import clock
from tests.conftest import make_settings
from worker.cache.db import Cache
from worker.cache.models import Company
from worker.config_sections import ServiceProperties
from worker.cycle import run_cycle
from worker.demo import DEMO_SERVICE_PROPERTIES
from worker.reports.panel.live import LiveRenewals
from worker.rules import RuleConfig
from worker.reports import renewals_data

EVERY = 3650


@pytest.fixture
def portal_and_settings(tmp_path):
    portal = generate_portal(PortalSpec(companies=40, seed=23, service_contracts=True))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, f"sqlite:///{tmp_path / 'cache.db'}", services={"properties": ServiceProperties(**DEMO_SERVICE_PROPERTIES)})
        assert run_cycle(settings).ok
        cache = Cache.existing(settings.database.url)
        yield portal, settings, cache
        cache.close()


def _whole(settings, cache, as_of):
    with cache.transaction() as session:
        return renewals_data(session, settings, as_of, EVERY)["renewals"]


def _kept(live, cache, as_of):
    with cache.transaction() as session:
        return live.rows(session, as_of, EVERY)


def _some(portal, object_type):
    return sorted(portal.table(object_type))


def test_after_each_kind_of_change_the_kept_rows_are_the_rows_read_whole(portal_and_settings):
    portal, settings, cache = portal_and_settings
    today = clock.local_today(settings.tz)
    live = LiveRenewals(settings, RuleConfig.from_settings(settings))
    first = _kept(live, cache, today)
    assert first == _whole(settings, cache, today) and len(first) > 10
    assert live.rebuilt == len(first)  # the first look reads everything

    # A run with nothing changed: nothing rebuilt, the same rows.
    assert run_cycle(settings).ok
    assert _kept(live, cache, today) == first and live.rebuilt == 0

    row = first[3]
    deal = int(row["subscription_id"]) if row["kind"] == "subscription" else None
    company = int(first[5]["company_id"])
    contact_company = int(first[7]["company_id"])
    contact = next(iter(portal.associated("companies", contact_company, "contacts")), None)
    owner = portal.owners[int(first[9]["owner"]["id"])] if first[9]["owner"]["id"] else None
    gone = next(r for r in first[11:] if r["kind"] == "subscription")  # its renewal moves into the past
    changes = [
        lambda: portal.update("companies", company, {"name": "Renamed Client S.L."}),
        lambda: portal.update("deals", deal, {"renewal_monthly_price": "1234.50"}) if deal else None,
        lambda: portal.update("contacts", contact, {"email": "new.person@client.example"}) if contact else None,
        lambda: portal.update("deals", int(gone["subscription_id"]), {"renewal_date": clock.days_from_today(-3, settings.tz)}),
    ]
    for change in changes:
        change()
    if owner is not None:
        owner.first_name, owner.updated_at = "Renamed", portal.now()
    assert run_cycle(settings).ok
    kept = _kept(live, cache, today)
    assert kept == _whole(settings, cache, today)
    assert 0 < live.rebuilt < len(first)  # only what the changes touched
    assert all(r["subscription_id"] != gone["subscription_id"] or r["kind"] != "subscription" for r in kept)
    assert any(r["client"] == "Renamed Client S.L." for r in kept)

    # A new day: every row's days left moves, all rebuilt, still the same as read whole.
    tomorrow = today + timedelta(days=1)
    assert _kept(live, cache, tomorrow) == _whole(settings, cache, tomorrow)
    assert live.rebuilt == len(_whole(settings, cache, tomorrow))


def test_a_row_changed_without_its_stamp_is_read_at_the_next_whole_load(portal_and_settings):
    """A writer whose clock runs behind (another host) stamps its rows in the past: the hourly
    whole load brings them in; a row added or removed is seen at once (the counts differ)."""
    portal, settings, cache = portal_and_settings
    today = clock.local_today(settings.tz)
    ticks = [0.0]
    live = LiveRenewals(settings, RuleConfig.from_settings(settings))
    live.portfolio.reload_every_s, live.portfolio._monotonic = 3600.0, lambda: ticks[0]
    rows = _kept(live, cache, today)
    company_id = rows[0]["company_id"]
    with cache.transaction() as session:
        session.execute(update(Company).where(Company.id == company_id).values(name="Quietly Renamed"))
    assert run_cycle(settings).ok  # a run: the live rows are looked at again
    assert _kept(live, cache, today)[0]["client"] != "Quietly Renamed"  # no stamp: not seen yet
    ticks[0] = 3600.0
    assert run_cycle(settings).ok
    assert _kept(live, cache, today)[0]["client"] == "Quietly Renamed"
    assert _kept(live, cache, today) == _whole(settings, cache, today)


def test_an_update_cut_short_is_not_left_half_done(portal_and_settings, monkeypatch):
    """A database error half-way through bringing the rows up to date: the next look reads
    everything again instead of trusting what the failed one had read."""
    import worker.reports.panel.live as live_module

    portal, settings, cache = portal_and_settings
    today = clock.local_today(settings.tz)
    live = LiveRenewals(settings, RuleConfig.from_settings(settings))
    first = _kept(live, cache, today)
    company = int(first[0]["company_id"])
    portal.update("companies", company, {"name": "Renamed While Failing"})
    assert run_cycle(settings).ok
    real = live_module.open_findings
    monkeypatch.setattr(live_module, "open_findings", lambda session: (_ for _ in ()).throw(RuntimeError("database went away")))
    with pytest.raises(RuntimeError):
        _kept(live, cache, today)  # the portfolio read the new name; the rows were not rebuilt
    monkeypatch.setattr(live_module, "open_findings", real)
    assert _kept(live, cache, today) == _whole(settings, cache, today)
    assert any(r["client"] == "Renamed While Failing" for r in _kept(live, cache, today))

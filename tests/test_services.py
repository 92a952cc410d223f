"""Service contracts, the second kind of renewal (DOMAIN.md 0): the partner's own contracts with
each client. Pure rule tests first (what applies, what doesn't, how the tasks read), then end to
end on the sandbox with both sources on SQLite and PostgreSQL: synced with the same care,
exactly once across both kinds, bad values as findings, the reports' kind column."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import clock
from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.generator import SERVICE_CURRENCY_PROPERTY, SERVICE_PIPELINE
from tests.conftest import make_settings
from tests.emission_helpers import assert_exactly_once, ledger_rows
from tests.rules_helpers import CONFIG, portfolio, sub
from worker import reports
from worker.cache.db import Cache
from worker.cache.models import Finding, ServiceContract, Subscription
from worker.config_sections import ServiceProperties
from worker.cycle import run_cycle
from worker.rules import evaluate, why_gone
from worker.rules.calendar import working_day
from worker.rules.model import SERVICE, SUBSCRIPTION
from worker.settings import ConfigError, load_settings
from worker.tasks.texts import render
from worker.words import day

AS_OF = date(2026, 12, 1)


def service(**changes):
    """A service contract: no communication owner, no tier (HubSpot's only)."""
    base = dict(
        id="901", kind=SERVICE, products="Inbound marketing retainer", communication_owner=None, contact_tier=None,
        contacts_used=None, emails_sent=None, currency="EUR", status="active",
    )
    return sub(**{**base, **changes})


def keys(plan) -> set[str]:
    return {r.key for r in plan.reminders}


# --------------------------------------------------------------------------- rules (pure)


def test_a_service_contract_gets_milestones_and_its_own_keys():
    renewal = AS_OF + timedelta(days=90)
    plan = evaluate(portfolio(service(renewal_date=renewal)), AS_OF, CONFIG)
    milestone = next(r for r in plan.reminders if r.rule == "renewal.milestone" and r.create)
    assert milestone.key == f"renewal.milestone:service:901:{renewal.isoformat()}:90"
    assert milestone.object_type == SERVICE and milestone.subscription_id == "901"
    subject, body = render(milestone.rule, milestone.facts, milestone.due, language="en", key=milestone.key, task_marker="rw1-0000000000000000")
    assert subject == "Service contract renewal in 90 days: Andes Nova S.A."
    assert "The service contract with Andes Nova S.A. (Inbound marketing retainer) renews on" in body
    subject_es, _ = render(milestone.rule, milestone.facts, milestone.due, language="es", key=milestone.key, task_marker="rw1-0000000000000000")
    assert subject_es.startswith("Renovación del contrato de servicios")


def test_hubspot_only_rules_never_look_at_a_service_contract():
    """No communication owner task or finding, no partner meeting, no contact tier, whatever the
    record holds in those columns."""
    renewal = AS_OF + timedelta(days=60)
    odd = service(renewal_date=renewal, communication_owner="partner", contact_tier=100, contacts_used=500)
    plan = evaluate(portfolio(odd), AS_OF, CONFIG)
    rules = {r.rule for r in plan.reminders}
    assert not rules & {"renewal.partner_meeting", "renewal.no_communication_owner", "renewal.contact_tier"}
    assert not [f for f in plan.findings if f.rule == "renewal.no_communication_owner"]
    # The same record as a HubSpot subscription gets all three.
    as_subscription = evaluate(portfolio(replace(odd, kind=SUBSCRIPTION)), AS_OF, CONFIG)
    assert {"renewal.partner_meeting", "renewal.contact_tier"} <= {r.rule for r in as_subscription.reminders}


def test_a_service_price_change_is_due_a_month_before_the_notice_deadline():
    renewal = AS_OF + timedelta(days=100)
    deadline = renewal - timedelta(days=45)
    plan = evaluate(portfolio(service(renewal_date=renewal, renewal_price=Decimal("1320.00"))), AS_OF, CONFIG)
    price = next(r for r in plan.reminders if r.rule == "renewal.price_change")
    assert price.step == working_day(deadline - timedelta(days=30), not_before=date.min, skip_weekends=True) and "emails_start" not in price.facts
    assert price.facts["tell_by"] == deadline.isoformat()
    subject, body = render(price.rule, price.facts, price.due, language="en", key=price.key, task_marker="rw1-0000000000000000")
    assert subject == "Service contract price change: Andes Nova S.A., €1,200.00 → €1,320.00 (+10%)"
    assert f"explain the change to the client before {day(deadline, 'en')}, the last day they can cancel or renegotiate" in body
    assert "HubSpot" not in body


def test_a_late_service_price_change_says_the_deadline_passed():
    renewal = AS_OF + timedelta(days=20)  # the notice deadline was 25 days ago
    plan = evaluate(portfolio(service(renewal_date=renewal, renewal_price=Decimal("1320.00"))), AS_OF, CONFIG)
    price = next(r for r in plan.reminders if r.rule == "renewal.price_change")
    _, body = render(price.rule, price.facts, price.due, language="en", key=price.key, task_marker="rw1-0000000000000000")
    assert "The last day to cancel or renegotiate was" in body and "the contract renews at the new price" in body
    assert "before invoicing it" in body and "can still" not in body


def test_a_service_deadline_is_the_contracts_own_or_the_default():
    renewal = AS_OF + timedelta(days=60)
    plan = evaluate(portfolio(service(renewal_date=renewal)), AS_OF + timedelta(days=1), CONFIG)
    deadline = next(r for r in plan.reminders if r.rule == "renewal.deadline")
    assert deadline.key.startswith("renewal.deadline:service:901:")
    _, body = render(deadline.rule, deadline.facts, deadline.due, language="en", key=deadline.key, task_marker="rw1-0000000000000000")
    assert "cancel or renegotiate its service contract" in body and "the default notice period, 45 days before the renewal" in body


def test_a_service_discount_ending_before_the_renewal_is_its_own_reminder():
    renewal = AS_OF + timedelta(days=90)
    ends = AS_OF + timedelta(days=20)
    plan = evaluate(portfolio(service(renewal_date=renewal, discount_percent=Decimal("10"), discount_end_date=ends)), AS_OF, CONFIG)
    discount = next(r for r in plan.reminders if r.rule == "renewal.discount_ends")
    assert discount.key == f"renewal.discount_ends:service:901:{ends.isoformat()}"
    subject, body = render(discount.rule, discount.facts, discount.due, language="en", key=discount.key, task_marker="rw1-0000000000000000")
    assert subject.startswith("Service contract discount ends in 20 days") and "on the service contract (Inbound marketing retainer)" in body


def test_a_subscription_and_a_service_with_the_same_id_stay_apart():
    renewal = AS_OF + timedelta(days=90)
    both = portfolio(sub(id="777", renewal_date=renewal), service(id="777", renewal_date=renewal))
    plan = evaluate(both, AS_OF, CONFIG)
    assert {f"renewal.milestone:subscription:777:{renewal}:90", f"renewal.milestone:service:777:{renewal}:90"} <= keys(plan)
    assert both.subscription("777", SERVICE).kind == SERVICE and both.subscription("777").kind == SUBSCRIPTION


def test_service_contracts_are_cancelled_by_their_own_statuses():
    config = replace(CONFIG, service_cancelled_statuses=frozenset({"ended"}))
    renewal = AS_OF + timedelta(days=90)
    assert not evaluate(portfolio(service(renewal_date=renewal, status="Ended")), AS_OF, config).reminders
    # "closedlost" cancels a subscription, not a service contract under this config.
    assert evaluate(portfolio(service(renewal_date=renewal, status="closedlost")), AS_OF, config).reminders
    reason = why_gone("renewal.milestone", SERVICE, "901", renewal, portfolio(service(renewal_date=renewal, status="ended")), AS_OF, config)
    assert reason == "the service contract was cancelled (status ended)"
    off = replace(CONFIG, reads_services=False)
    assert why_gone("renewal.milestone", SERVICE, "901", renewal, portfolio(sub()), AS_OF, off).startswith("service contracts are no longer read")


def test_the_contact_task_prefers_a_subscription_and_falls_back_to_a_service():
    from tests.rules_helpers import contact

    broken = contact(email=None, email_problem="missing")
    soon, later = AS_OF + timedelta(days=30), AS_OF + timedelta(days=100)
    mixed = evaluate(portfolio(service(renewal_date=soon), sub(renewal_date=later), primary=broken), AS_OF, CONFIG)
    task = next(r for r in mixed.reminders if r.rule == "contact.data")
    assert task.subscription_id == "501" and task.facts["renewal_date"] == later.isoformat()
    only_service = evaluate(portfolio(service(renewal_date=soon), primary=broken), AS_OF, CONFIG)
    task = next(r for r in only_service.reminders if r.rule == "contact.data")
    # Linked to the company and the contact; a HubSpot subscription id would name another object type.
    assert task.subscription_id is None and task.company_id == "101" and task.facts["renewal_date"] == soon.isoformat()


def test_an_owner_problem_on_a_service_contract_is_its_finding():
    plan = evaluate(portfolio(service(renewal_date=AS_OF + timedelta(days=90), owner_id="404")), AS_OF, CONFIG)
    finding = next(f for f in plan.findings if f.rule == "owner.deactivated")
    assert finding.object_type == SERVICE and finding.object_id == "901"


# --------------------------------------------------------------------------- settings


def test_services_on_the_subscriptions_object_type_is_refused(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('[subscriptions]\nobject_type = "deals"\n[services]\nobject_type = "0-3"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings(config, {"HUBSPOT_ACCESS_TOKEN": "x"})
    assert [p.key for p in refused.value.problems] == ["services.object_type"]
    config.write_text('[services.properties]\nrenewal_date = ""\n')
    with pytest.raises(ConfigError) as refused:
        load_settings(config, {"HUBSPOT_ACCESS_TOKEN": "x"})
    assert [p.key for p in refused.value.problems] == ["services.properties.renewal_date"]


def test_one_deals_object_holds_both_kinds_when_each_names_its_pipeline(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('[subscriptions]\npipeline = "default"\n[services]\nobject_type = "deals"\npipeline = "services"\n')
    settings = load_settings(config, {"HUBSPOT_ACCESS_TOKEN": "x"})
    assert settings.services is not None and settings.services.pipeline == "services"
    # Deals carry their currency: service contracts kept as deals read it unless told otherwise.
    assert settings.services.properties.currency == "deal_currency_code"
    config.write_text('[subscriptions]\npipeline = "default"\n[services]\nobject_type = "deals"\npipeline = "default"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings(config, {"HUBSPOT_ACCESS_TOKEN": "x"})
    assert [p.key for p in refused.value.problems] == ["services.pipeline"]
    config.write_text('[services]\nobject_type = "deals"\npipeline = "services"\n')  # the subscriptions name none
    with pytest.raises(ConfigError) as refused:
        load_settings(config, {"HUBSPOT_ACCESS_TOKEN": "x"})
    assert [p.key for p in refused.value.problems] == ["services.object_type"] and "pipeline" in refused.value.problems[0].reason


def test_services_are_off_without_the_section_and_on_with_it(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text("[subscriptions]\nobject_type = \"deals\"\n")
    settings = load_settings(config, {"HUBSPOT_ACCESS_TOKEN": "x"})
    assert settings.services is None and [s.kind for s in settings.renewal_sources] == [SUBSCRIPTION]
    config.write_text("[services]\n")
    settings = load_settings(config, {"HUBSPOT_ACCESS_TOKEN": "x"})
    assert settings.services is not None and settings.services.object_type == "services"
    assert [s.kind for s in settings.renewal_sources] == [SUBSCRIPTION, SERVICE]


# --------------------------------------------------------------------------- end to end


SERVICE_PROPERTIES = ServiceProperties(
    currency=SERVICE_CURRENCY_PROPERTY, discount_percent="renewal_discount_percent", discount_end_date="renewal_discount_end_date",
)


def _open_findings(cache: Cache, object_type: str) -> set[tuple[str, str, str | None]]:
    with cache.transaction() as session:
        rows = session.execute(select(Finding).where(Finding.object_type == object_type, Finding.resolved_at.is_(None))).scalars()
        return {(f.object_id, f.field, f.value) for f in rows}


def test_both_kinds_end_to_end_exactly_once(db_url):
    portal = generate_portal(PortalSpec(companies=48, seed=12, service_contracts=True))
    services = portal.table("services")
    service_id, _ = next((i, s) for i, s in sorted(services.items()) if s.properties["hs_pipeline_stage"] == "active")
    renewal = clock.local_today() + timedelta(days=60)
    portal.update("services", service_id, {"renewal_date": renewal.isoformat(), "current_monthly_price": "900.00", "renewal_monthly_price": "990.00"})
    bad_date, bad_discount = sorted(i for i in services if i != service_id)[:2]
    portal.update("services", bad_date, {"renewal_date": "next spring"})
    portal.update("services", bad_discount, {"renewal_discount_percent": "150"})
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url, services={"properties": SERVICE_PROPERTIES})
        cache = Cache(db_url)
        try:
            assert run_cycle(settings, cache=cache).ok
            with cache.transaction() as session:
                cached = {row.id: row for row in session.execute(select(ServiceContract)).scalars()}
                assert session.execute(select(Subscription).where(Subscription.id.in_(list(cached)))).first() is None
            assert set(cached) == {str(i) for i in services}
            ours = cached[str(service_id)]
            assert ours.renewal_price == Decimal("990.00") and ours.currency == "EUR" and ours.company_id is not None
            assert ours.object_type == "services" and ours.products == services[service_id].properties["hs_name"]

            # Bad values are findings of the service contract, never a failed run.
            found = _open_findings(cache, "service")
            assert (str(bad_date), "renewal_date", "next spring") in found
            assert (str(bad_discount), "discount_percent", "150") in found

            # Tasks for the service contract, associated with the service record.
            ledger = {r.key: r for r in ledger_rows(cache)}
            price_key = f"renewal.price_change:service:{service_id}:{renewal.isoformat()}"
            assert ledger[price_key].state == "open" and ledger[price_key].object_type == "service"
            task_id = int(ledger[price_key].task_id)
            task = portal.table("tasks")[task_id]
            assert task.properties["hs_task_subject"].startswith("Service contract price change:")
            assert service_id in portal.associated("tasks", task_id, "services")
            assert any(k.startswith("renewal.milestone:subscription:") for k in ledger)

            # Exactly once across both kinds: a second run creates nothing.
            tasks_before = len(portal.table("tasks"))
            assert run_cycle(settings, cache=cache).ok
            assert len(portal.table("tasks")) == tasks_before
            assert_exactly_once(portal, cache)

            # The service contract is cancelled: its tasks close, saying why.
            portal.update("services", service_id, {"hs_pipeline_stage": "cancelled"})
            assert run_cycle(settings, cache=cache).ok
            closed = {r.key: r for r in ledger_rows(cache)}[price_key]
            assert closed.state == "closed" and closed.close_reason == "the service contract was cancelled (status cancelled)"
            assert portal.table("tasks")[task_id].properties["hs_task_status"] == "COMPLETED"

            # The reports: kind in JSON and CSV.
            with cache.transaction() as session:
                data = reports.renewals_data(session, settings, clock.local_today(), 400)
            kinds = {row["kind"] for row in data["renewals"]}
            assert kinds == {"subscription", "service"}
            as_json = json.loads(json.dumps(data, default=str))
            assert all(row["communication_owner"] is None for row in as_json["renewals"] if row["kind"] == "service")
            csv_lines = reports.renewals_csv(data).splitlines()
            # kind, then the five measured-usage columns (empty here: no [client_portals]).
            assert csv_lines[0].endswith(",kind,measured_marketing_contacts,measured_contacts,measured_emails_sent_month,measured_on,projected_tier_reached_on")
            assert sum(line.endswith(",service,,,,,") for line in csv_lines) == sum(r["kind"] == "service" for r in data["renewals"])
        finally:
            cache.close()


def test_a_service_contract_gone_from_hubspot_is_reconciled_and_a_moved_one_followed(sqlite_url):
    portal = generate_portal(PortalSpec(companies=30, seed=4, bad_data=False, service_contracts=True))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, sqlite_url, services={"properties": SERVICE_PROPERTIES})
        cache = Cache(sqlite_url)
        try:
            assert run_cycle(settings, cache=cache).ok
            gone, moved = sorted(portal.table("services"))[:2]
            old_company = next(iter(portal.associated("services", moved, "companies")))
            new_company = next(c for c in sorted(portal.table("companies")) if c != old_company)
            portal.purge("services", gone)
            portal.dissociate("services", moved, "companies", old_company)
            portal.associate("services", moved, "companies", new_company)
            # An association change moves no modified date: the re-check finds it on an incremental run.
            assert run_cycle(settings, cache=cache).ok
            with cache.transaction() as session:
                assert session.get(ServiceContract, str(moved)).company_id == str(new_company)
            assert run_cycle(settings, cache=cache, mode="full").ok
            with cache.transaction() as session:
                assert session.get(ServiceContract, str(gone)).deleted_at is not None
                assert session.get(ServiceContract, str(moved)).deleted_at is None
        finally:
            cache.close()


def test_without_services_the_cached_service_contracts_are_not_looked_at(sqlite_url):
    portal = generate_portal(PortalSpec(companies=20, seed=6, bad_data=False, service_contracts=True))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        on = make_settings(server.url, sqlite_url, services={"properties": SERVICE_PROPERTIES})
        off = make_settings(server.url, sqlite_url)
        cache = Cache(sqlite_url)
        try:
            assert run_cycle(on, cache=cache).ok
            opened = [r for r in ledger_rows(cache) if r.object_type == "service" and r.state == "open"]
            assert opened
            assert run_cycle(off, cache=cache).ok
            after = {r.key: r for r in ledger_rows(cache)}
            assert all(after[r.key].state == "closed" for r in opened)
            assert after[opened[0].key].close_reason == "service contracts are no longer read ([services] is not configured)"
            with cache.transaction() as session:
                assert {row["kind"] for row in reports.renewals_data(session, off, clock.local_today(), 400)["renewals"]} == {"subscription"}
        finally:
            cache.close()


def test_service_contracts_on_a_custom_object_get_their_tasks_with_the_portals_association_type(db_url):
    # A custom object's associations are the portal's own: HubSpot's labels API lists the task's
    # default one as USER_DEFINED, and refuses a task that names it HUBSPOT_DEFINED (every service
    # task stayed pending, and every run exited 1).
    custom = "2-9100"
    portal = generate_portal(PortalSpec(companies=30, seed=4, bad_data=False, service_contracts=True, service_object_type=custom))
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(server.url, db_url, services={"object_type": custom, "properties": SERVICE_PROPERTIES})
        cache = Cache(db_url)
        try:
            result = run_cycle(settings, cache=cache)
            assert result.ok, result.error
            assert result.counts["tasks_pending"] == 0
            service_tasks = [r for r in ledger_rows(cache) if r.object_type == "service" and r.state == "open"]
            assert len(service_tasks) >= 5
            wanted = portal.label_type("tasks", custom, None)
            assert wanted.category == "USER_DEFINED"
            for row in service_tasks:
                [(service_id, types)] = portal.associated("tasks", int(row.task_id), custom).items()
                assert str(service_id) == row.object_id and wanted in types
            assert_exactly_once(portal, cache)

            # A service contract moved to another client: its tasks follow it (the move writes
            # the task's associations again), and HubSpot accepts every write.
            moved = service_tasks[0]
            old_company = next(iter(portal.associated(custom, int(moved.object_id), "companies")))
            new_company = next(c for c in sorted(portal.table("companies")) if c != old_company)
            portal.dissociate(custom, int(moved.object_id), "companies", old_company)
            portal.associate(custom, int(moved.object_id), "companies", new_company)
            again = run_cycle(settings, cache=cache, mode="full")
            assert again.ok, again.error
            assert again.counts["tasks_moved"] >= 1
            assert list(portal.associated("tasks", int(moved.task_id), "companies")) == [new_company]
        finally:
            cache.close()


DEAL_SERVICE_PROPERTIES = ServiceProperties(
    products="dealname", status="dealstage", currency="deal_currency_code",
    discount_percent="renewal_discount_percent", discount_end_date="renewal_discount_end_date",
)


def test_both_kinds_in_one_deals_object_told_apart_by_pipeline(db_url):
    portal = generate_portal(PortalSpec(companies=36, seed=12, bad_data=False, service_contracts=True, service_object_type="deals"))
    deals = portal.table("deals")
    services = {i for i, d in deals.items() if d.properties.get("pipeline") == SERVICE_PIPELINE}
    subscriptions = {i for i, d in deals.items() if d.properties.get("pipeline") == "default"}
    assert services and subscriptions and not services & subscriptions
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = make_settings(
            server.url, db_url, subscriptions={"pipeline": "default"},
            services={"object_type": "deals", "pipeline": SERVICE_PIPELINE, "properties": DEAL_SERVICE_PROPERTIES},
        )
        cache = Cache(db_url)
        try:
            result = run_cycle(settings, cache=cache)
            assert result.ok, result.error
            with cache.transaction() as session:
                cached_services = {row.id: row for row in session.execute(select(ServiceContract)).scalars()}
                cached_subs = {row.id for row in session.execute(select(Subscription)).scalars()}
            assert set(cached_services) == {str(i) for i in services} and cached_subs == {str(i) for i in subscriptions}
            assert {row.currency for row in cached_services.values()} == {"EUR"}
            service_tasks = [r for r in ledger_rows(cache) if r.object_type == "service" and r.state == "open"]
            assert service_tasks and all(int(r.object_id) in services for r in service_tasks)
            assert_exactly_once(portal, cache)

            # A deal moved out of the services pipeline stops being a service contract: its
            # tasks close, and it is not taken for a subscription either.
            moved = service_tasks[0]
            portal.update("deals", int(moved.object_id), {"pipeline": "partnerships"})
            again = run_cycle(settings, cache=cache)
            assert again.ok, again.error
            with cache.transaction() as session:
                assert session.get(ServiceContract, moved.object_id).deleted_at is not None
                assert session.get(Subscription, moved.object_id) is None
            assert {r.key: r for r in ledger_rows(cache)}[moved.key].state == "closed"

            # A full pass reconciles by each kind's own count (HubSpot counts the pipeline's deals).
            full = run_cycle(settings, cache=cache, mode="full")
            assert full.ok, full.error
            assert_exactly_once(portal, cache)
        finally:
            cache.close()

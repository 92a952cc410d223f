"""The cycle's usage step ([client_portals]): which clients to read today, reading them, and what
the cache keeps of it (the day's points, the findings, the history pruned to ``keep_days``).

A client is read at most once a day (a revoked token is not retried every quarter of an hour),
except on ``--sync-now`` (``force``), where a person asked for fresh figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import select
from sqlmodel import Session
from sqlmodel import select as model_select

from integrations.hubspot.gateway import HubSpotGateway
from worker.batching import chunks
from worker.cache import repo, usage
from worker.cache.db import Cache
from worker.cache.models import Company, Finding
from worker.rules.calendar import local_date
from worker.settings import Settings
from worker.usage.measure import BAD_PORTAL_ID, FINDING_PREFIX, Client, bad_portal_id, client_gateway, measure, portal_id_of


def measure_step(settings: Settings, cache: Cache, gateway: HubSpotGateway, now: datetime, *, force: bool,
                 gateway_for: Callable[..., HubSpotGateway] = client_gateway) -> dict[str, int]:
    portals = settings.client_portals
    if portals is None:
        return {}
    today = local_date(now, settings.tz)
    prop = portals.portal_id_property
    with cache.transaction() as session:
        companies = _active_companies(session)
    lacking = [cid for cid, props in companies.items() if prop not in props]
    if lacking:
        _fill_portal_ids(gateway, cache, prop, lacking)
        with cache.transaction() as session:
            companies = _active_companies(session)
    clients, bad = [], []
    for company_id, props in companies.items():
        value = props.get(prop)
        if value in (None, ""):
            continue
        portal_id = portal_id_of(value)
        if portal_id is None:
            bad.append(bad_portal_id(company_id, value, prop))
        else:
            clients.append(Client(company_id, portal_id))
    with cache.transaction() as session:
        due = clients if force else _not_read_today(session, clients, today, now)
        known = usage.known_clients(session) if due else set()
    report = measure(portals, due, first_time={c.company_id for c in due} - known, now=now, tz=settings.tz, gateway_for=gateway_for)
    with cache.transaction() as session:
        for reading in report.readings:
            if reading.points:
                usage.record(session, reading.client.company_id, reading.client.portal_id, reading.points, now)
        usage.prune(session, today - timedelta(days=portals.keep_days))
        attempted = [reading.client.company_id for reading in report.readings]
        findings = [reading.finding for reading in report.readings if reading.finding is not None]
        repo.replace_findings_of(session, findings, prefix=FINDING_PREFIX, object_ids=attempted, now=now, keep=BAD_PORTAL_ID)
        repo.replace_rule_findings(session, bad, prefixes=(BAD_PORTAL_ID,), now=now)
    return {
        "usage_measured": report.measured, "usage_not_read": len(findings), "usage_api_calls": sum(r.calls for r in report.readings),
        "usage_without_token": report.without_token, "usage_skipped_today": len(clients) - len(due),
    }


def _active_companies(session: Session) -> dict[str, dict[str, Any]]:
    c = Company.__table__.c  # type: ignore[attr-defined]
    query = select(c.id, c.properties).where(c.archived.is_(False), c.deleted_at.is_(None))
    return {row.id: dict(row.properties or {}) for row in session.execute(query)}


def _fill_portal_ids(gateway: HubSpotGateway, cache: Cache, prop: str, company_ids: list[str]) -> None:
    """Companies cached before [client_portals] was set lack the property: read it once for them
    (100 per call), then the sync keeps it like the others."""
    found = {record.id: record.properties.get(prop) for record in gateway.batch_read("companies", company_ids, [prop])}
    with cache.transaction() as session:
        for chunk in chunks(company_ids, 500):
            for company in session.exec(model_select(Company).where(Company.id.in_(chunk))):  # type: ignore[attr-defined]
                company.properties = {**(company.properties or {}), prop: found.get(company.id)}
                session.add(company)


def _not_read_today(session: Session, clients: list[Client], today, now: datetime) -> list[Client]:
    """Clients with no reading today and no failed attempt today."""
    ids = [client.company_id for client in clients]
    done = usage.measured_on(session, today, ids)
    f = Finding.__table__.c  # type: ignore[attr-defined]
    start_of_day = now - timedelta(hours=24)
    for chunk in chunks(ids, 500):
        query = select(f.object_id, f.last_seen_at).where(
            f.rule.startswith(FINDING_PREFIX), f.rule != BAD_PORTAL_ID, f.resolved_at.is_(None), f.object_id.in_(chunk)
        )
        done.update(row.object_id for row in session.execute(query) if row.last_seen_at is not None and row.last_seen_at > start_of_day)
    return [client for client in clients if client.company_id not in done]

"""Writing one page of a stream to the cache: companies (with their primary-contact links),
contacts the cache already knows, and renewal records of either kind. Each page is written in
one transaction by the pass that read it (``passes``), with the findings its values raise."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from worker.cache import repo
from worker.cache.db import upsert
from worker.cache.models import Company, Contact, RenewalRecord
from worker.sync.links import Links, store_cleaned
from worker.sync.normalize import company_row, contact_row, in_pipeline, storable, subscription_row


def write_companies(session, records, prepared, *, generation, report, linker: Links, clock: Callable[[], datetime]) -> None:
    """A page of companies, with the primary-contact links read for the new ones (``prepared``)."""
    links, contacts = prepared
    now = clock()
    records = store_cleaned(session, "company", records, now)
    rows = [{**company_row(r), "seen_generation": generation, "synced_at": now} for r in records]
    upsert(session, Company, rows)
    linker.write(session, [r.id for r in records if not r.archived and r.id in links], links, contacts, generation=generation)
    archived_ids = [r.id for r in records if r.archived]
    repo.record_findings(session, object_type="company", object_ids=archived_ids, problems=[], rule_prefix="data.", now=now)
    report.counts["companies"] += len(records)
    report.counts["contacts"] += len(contacts)


def write_known_contacts(session, records, prepared, *, generation, report, clock: Callable[[], datetime]) -> None:
    """Only contacts the cache already holds (someone's primary contact) are kept; a contact
    newly given the label arrives through the association re-check."""
    known = repo.known_contact_ids(session, [r.id for r in records])
    now = clock()
    records = store_cleaned(session, "contact", [r for r in records if r.id in known], now)
    rows = [{**contact_row(r), "synced_at": now} for r in records]
    upsert(session, Contact, rows)
    report.counts["contacts"] += len(rows)


def write_renewals(
    session, records, prepared, *, generation, report, source, model: type[RenewalRecord], counted: str, clock: Callable[[], datetime],
) -> None:
    """A page of one kind of renewal: rows, their companies (``prepared``) and their findings."""
    now = clock()
    rows, problems = [], []
    # Records of the object type in another pipeline are not this kind of renewal; one that
    # was (it moved to another pipeline) leaves this kind's table as a record gone would.
    ours = [r for r in records if in_pipeline(r, source)]
    if len(ours) < len(records):
        kept = {r.id for r in ours}
        left = repo.known_ids(session, model, [r.id for r in records if r.id not in kept])
        repo.mark_deleted(session, model, sorted(left), now)
        report.counts[f"{counted}_deleted"] += len(left)
        records = ours
    for record in records:
        company_id = None if prepared is None else prepared.get(record.id)
        record, unstorable = storable(record)
        row, found = subscription_row(record, company_id, source)
        found = unstorable + found
        rows.append({**row, "seen_generation": generation, "synced_at": now})
        if not record.archived:
            problems.extend((record.id, problem) for problem in found)
    if prepared is None:
        # Archived pages: HubSpot no longer answers for their associations; keep the last known.
        upsert(session, model, rows, update=[k for k in rows[0] if k not in {"id", "company_id"}] if rows else None)
    else:
        upsert(session, model, rows)
    repo.record_findings(
        session, object_type=source.kind, object_ids=[r.id for r in records], problems=problems,
        rule_prefix="data.", now=now,
    )
    report.counts[counted] += len(records)
    report.counts["data_problems"] += len(problems)

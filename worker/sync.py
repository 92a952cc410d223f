"""HubSpot → cache: full passes (which also reconcile deletions), incremental passes, and the
association re-check.

Every page is fetched, then written in one transaction together with the stream's cursor, so a
run killed at any point resumes where it stopped and never leaves half a page behind. Nothing
holds more than a page of records in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

import structlog
from sqlmodel import select

from integrations.hubspot.gateway import MAX_BATCH, HubSpotGateway
from integrations.hubspot.types import Associated, CrmRecord, RecordPage
from worker.batching import chunks
from worker.cache import repo
from worker.cache.db import Cache, upsert
from worker.cache.models import Company, Contact, Owner, PrimaryContact, Subscription
from worker.normalize import (
    COMPANY_PROPERTIES,
    CONTACT_PROPERTIES,
    DataProblem,
    company_row,
    contact_row,
    owner_row,
    primary_contact_choice,
    storable,
    subscription_properties,
    subscription_row,
)
from worker.reconcile_guard import counts_agree, exceeds_share
from worker.settings import Settings

log = structlog.get_logger(__name__)

Progress = Callable[[str, int], None]

COMPANIES, CONTACTS, SUBSCRIPTIONS, OWNERS = "companies", "contacts", "subscriptions", "owners"


class ReconcileRefused(Exception):
    """A full pass would have removed more than the configured share of the cache while its own
    count disagrees with HubSpot's: nothing was removed, the run fails (exit 1)."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SyncReport:
    mode: str
    counts: Counter = field(default_factory=Counter)


def modified_property(object_type: str) -> str:
    """Contacts keep their last-modified date in ``lastmodifieddate``; other objects in
    ``hs_lastmodifieddate``."""
    return "lastmodifieddate" if object_type in {"contacts", "0-1"} else "hs_lastmodifieddate"


@dataclass(frozen=True)
class Stream:
    """One kind of record to sync: what to list or search, the network work a page needs before
    its transaction (``prepare``), and how the page is written (``write``)."""

    name: str
    object_type: str
    properties: Sequence[str]
    prepare: Callable[..., Any]
    write: Callable[..., None]


class Syncer:
    def __init__(
        self,
        gateway: HubSpotGateway,
        cache: Cache,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        progress: Progress | None = None,
    ):
        self.gateway = gateway
        self.cache = cache
        self.settings = settings
        self.clock = clock
        self.progress = progress or (lambda stream, done: None)
        self.sub_type = settings.subscriptions.object_type
        self.sub_properties = subscription_properties(settings.subscriptions)
        self.label = settings.primary_contact.association_label
        self.companies = Stream(COMPANIES, "companies", COMPANY_PROPERTIES, self._prepare_companies, self._write_companies)
        self.contacts = Stream(CONTACTS, "contacts", CONTACT_PROPERTIES, lambda records, archived: None, self._write_known_contacts)
        self.subscriptions = Stream(
            SUBSCRIPTIONS, self.sub_type, self.sub_properties, self._prepare_subscriptions, self._write_subscriptions
        )

    # ------------------------------------------------------------------ entry point

    def run(self, mode: str = "auto") -> SyncReport:
        """``full`` lists everything and reconciles deletions; ``incremental`` searches changes
        since the watermark; ``auto`` decides per stream: a full pass where none has completed
        yet or one was interrupted (it resumes where it stopped), else incremental."""
        full = {
            stream.name: mode == "full" or (mode == "auto" and self._needs_full(stream.name))
            for stream in (self.companies, self.subscriptions)
        }
        report = SyncReport("full" if any(full.values()) else "incremental")
        self._sync_owners(report)
        for stream in (self.companies, self.subscriptions):
            if full[stream.name]:
                self._full_pass(stream, report)
            else:
                self._incremental(stream, report)
        if full[COMPANIES]:
            with self.cache.transaction() as session:
                # A full companies pass re-read every primary contact: the contacts stream's
                # watermark moves with it.
                state = repo.load_state(session, COMPANIES)
                repo.save_state(session, CONTACTS, self.clock(), watermark=state.watermark, generation=state.generation)
        else:
            self._incremental(self.contacts, report)
        if not all(full.values()):
            self._recheck_associations(report)
        return report

    def _needs_full(self, stream: str) -> bool:
        with self.cache.transaction() as session:
            state = repo.load_state(session, stream)
            return state.full_completed_at is None or state.phase in {"active", "archived"}

    # ------------------------------------------------------------------ owners

    def _sync_owners(self, report: SyncReport) -> None:
        """Owners are few (one per partner employee): list them all, active and deactivated.

        An owner in neither list is gone. When that would be more than ``[sync]
        max_delete_share`` of the cached owners, both lists are read once more and an owner seen
        in either reading stays: the owners API has no count to check against, and one early
        well-formed end of a list must not hand every owner's tasks to the fallback owner.
        """
        rows = self._list_all_owners()
        with self.cache.transaction() as session:
            cached = set(session.exec(select(Owner.id).where(Owner.deleted_at.is_(None))))  # type: ignore[union-attr]
        if exceeds_share(len(cached - set(rows)), len(cached), self.settings.sync.max_delete_share):
            for owner_id, row in self._list_all_owners().items():
                rows.setdefault(owner_id, row)
        now = self.clock()
        with self.cache.transaction() as session:
            state = repo.load_state(session, OWNERS)
            generation = state.generation + 1
            stamped = [{**row, "seen_generation": generation, "synced_at": now} for row in rows.values()]
            upsert(session, Owner, stamped)
            gone = repo.mark_unseen_deleted(session, Owner, generation, now)
            repo.save_state(session, OWNERS, now, generation=generation, watermark=now, full_completed_at=now)
        report.counts["owners"] += len(rows)
        report.counts["owners_deleted"] += len(gone)
        self.progress(OWNERS, len(rows))

    def _list_all_owners(self) -> dict[str, dict]:
        rows: dict[str, dict] = {}
        for archived in (False, True):
            after = None
            while True:
                page = self.gateway.list_owners(after=after, archived=archived)
                for owner in page.owners:
                    rows.setdefault(owner.id, owner_row(owner))
                after = page.next_after
                if not after:
                    break
        return rows

    # ------------------------------------------------------------------ full pass

    def _full_pass(self, stream: Stream, report: SyncReport) -> None:
        with self.cache.transaction() as session:
            state = repo.load_state(session, stream.name)
            if state.phase not in {"active", "archived"}:
                repo.save_state(
                    session, stream.name, self.clock(),
                    phase="active", cursor=None, generation=state.generation + 1, pass_started_at=self.clock(),
                )
            state = repo.load_state(session, stream.name)
            phase, cursor, generation, started = state.phase, state.cursor, state.generation, state.pass_started_at
        done = 0
        while phase in {"active", "archived"}:
            archived = phase == "archived"
            page = self.gateway.list_objects(
                stream.object_type, stream.properties, after=cursor, archived=archived, limit=self.settings.hubspot.page_size
            )
            prepared = stream.prepare(page.records, archived=archived)
            next_phase, next_cursor = (phase, page.next_after) if page.next_after else (
                ("archived", None) if phase == "active" else ("sweep", None)
            )
            with self.cache.transaction() as session:
                stream.write(session, page.records, prepared, generation=generation, report=report)
                repo.save_state(session, stream.name, self.clock(), phase=next_phase, cursor=next_cursor)
            phase, cursor = next_phase, next_cursor
            done += len(page.records)
            self.progress(stream.name, done)
        model = Company if stream.name == COMPANIES else Subscription
        self._guard_reconcile(stream, model, generation)
        with self.cache.transaction() as session:
            now = self.clock()
            gone = repo.mark_unseen_deleted(session, model, generation, now)
            if stream.name == COMPANIES:
                gone_contacts = repo.mark_unseen_deleted(session, Contact, generation, now)
                report.counts["contacts_deleted"] += len(gone_contacts)
            repo.record_findings(
                session, object_type=_finding_type(stream.name), object_ids=gone, problems=[], rule_prefix="data.", now=now
            )
            repo.record_findings(session, object_type="sync", object_ids=[stream.name], problems=[], rule_prefix="sync.", now=now)
            repo.save_state(session, stream.name, now, phase=None, cursor=None, watermark=started, full_completed_at=now)
        report.counts[f"{stream.name}_deleted"] += len(gone)

    def _guard_reconcile(self, stream: Stream, model: type, generation: int) -> None:
        """Before a reconcile marks many records deleted, ask HubSpot how many it holds.

        A pass can end early without any call failing: a proxy's well-formed ``{"results": []}``
        reads as the last page. Marking the rest deleted would complete their tasks under the
        owners' eyes, so above ``[sync] max_delete_share`` the pass's own count of active records
        must agree with HubSpot's (a search's ``total``); otherwise nothing is removed, a finding
        says why and the run fails.
        """
        with self.cache.transaction() as session:
            would_remove = len(repo.unseen_ids(session, model, generation))
            held = repo.held_count(session, model)
            listed = repo.seen_active_count(session, model, generation)
        if not exceeds_share(would_remove, held, self.settings.sync.max_delete_share):
            return
        counted = self.gateway.count_objects(stream.object_type)
        if counts_agree(listed, counted):
            log.warning("sync.reconcile_many_deleted", stream=stream.name, deleted=would_remove, held=held, hubspot_count=counted)
            return
        message = (
            f"the {stream.name} reconcile would mark {would_remove} of {held} cached records deleted, but it listed "
            f"{listed} active records where HubSpot counts {counted}: nothing was removed. If HubSpot's answers were "
            f"incomplete the next full sync sets it right; if the records really are gone, raise [sync] max_delete_share"
        )
        now = self.clock()
        with self.cache.transaction() as session:
            problem = DataProblem("sync.reconcile_refused", "deleted", f"{would_remove} of {held}", message)
            repo.record_findings(session, object_type="sync", object_ids=[stream.name], problems=[(stream.name, problem)], rule_prefix="sync.", now=now)
            # The pass is over either way; the next full pass starts a new one.
            repo.save_state(session, stream.name, now, phase=None, cursor=None)
        raise ReconcileRefused(message)

    # ------------------------------------------------------------------ incremental pass

    def _incremental(self, stream: Stream, report: SyncReport) -> None:
        overlap = timedelta(seconds=self.settings.sync.incremental_overlap_s)
        with self.cache.transaction() as session:
            state = repo.load_state(session, stream.name)
            if state.phase == "search":  # resume an interrupted pass with its own bounds
                since, started, after_id = state.search_since, state.pass_started_at, int(state.cursor or 0)
            else:
                started = self.clock()
                since = (state.watermark or started - timedelta(days=3650)) - overlap
                after_id = 0
            generation = state.generation
        done = 0
        while True:
            page: RecordPage = self.gateway.search_modified_since(
                stream.object_type,
                modified_property=modified_property(stream.object_type),
                since=since,
                after_id=after_id,
                properties=stream.properties,
                limit=self.settings.hubspot.search_page_size,
            )
            prepared = stream.prepare(page.records, archived=False)
            with self.cache.transaction() as session:
                stream.write(session, page.records, prepared, generation=generation, report=report)
                if page.next_after:
                    repo.save_state(
                        session, stream.name, self.clock(),
                        phase="search", cursor=page.next_after, search_since=since, pass_started_at=started,
                    )
                else:
                    # The next pass reaches back from when this one started, minus the overlap:
                    # a change made while we paged, or indexed late, is found next time.
                    repo.save_state(session, stream.name, self.clock(), phase=None, cursor=None, search_since=None, watermark=started)
            done += len(page.records)
            self.progress(stream.name, done)
            if not page.next_after:
                break
            after_id = int(page.next_after)
        report.counts[f"{stream.name}_changed"] += done

    # ------------------------------------------------------------------ association re-check

    def _recheck_associations(self, report: SyncReport) -> None:
        """Association changes (a new primary contact, a subscription moved to another company)
        don't move any modified date, so no search sees them: re-read them for every renewal
        within the horizon."""
        today = self.clock().date()
        end = today + timedelta(days=self.settings.sync.association_recheck_horizon_days)
        with self.cache.transaction() as session:
            company_ids = repo.companies_with_renewals_between(session, today, end)
            subscription_ids = repo.subscriptions_with_renewals_between(session, today, end)
        for chunk in chunks(company_ids, MAX_BATCH):
            links, contacts = self._primary_links(chunk, only_unknown=True)
            with self.cache.transaction() as session:
                self._write_links(session, chunk, links, contacts, generation=None)
        for chunk in chunks(subscription_ids, MAX_BATCH):
            companies = self._subscription_companies(chunk)
            with self.cache.transaction() as session:
                rows = [{"id": sub_id, "company_id": companies.get(sub_id)} for sub_id in chunk]
                for row in rows:
                    session.exec(  # type: ignore[call-overload]
                        Subscription.__table__.update()  # type: ignore[attr-defined]
                        .where(Subscription.id == row["id"])
                        .values(company_id=row["company_id"])
                    )
        report.counts["associations_rechecked"] += len(company_ids) + len(subscription_ids)

    # ------------------------------------------------------------------ companies + primary contacts

    def _primary_links(
        self, company_ids: Sequence[str], *, only_unknown: bool = False
    ) -> tuple[dict[str, list[str]], list[CrmRecord]]:
        """Contacts carrying the primary label, per company, and those contacts' records."""
        associations: dict[str, tuple[Associated, ...]] = {}
        for chunk in chunks(list(company_ids), MAX_BATCH):
            associations.update(self.gateway.batch_associations("companies", "contacts", chunk))
        links = {
            company_id: [a.to_id for a in associations.get(company_id, ()) if a.has_label(self.label)]
            for company_id in company_ids
        }
        wanted = list(dict.fromkeys(contact_id for ids in links.values() for contact_id in ids))
        if only_unknown:
            with self.cache.transaction() as session:
                known = repo.known_contact_ids(session, wanted)
            wanted = [contact_id for contact_id in wanted if contact_id not in known]
        contacts: list[CrmRecord] = []
        for chunk in chunks(wanted, MAX_BATCH):
            contacts.extend(self.gateway.batch_read("contacts", chunk, CONTACT_PROPERTIES))
        return links, contacts

    def _prepare_companies(self, records: Sequence[CrmRecord], *, archived: bool):
        active_ids = [r.id for r in records if not r.archived]
        if archived or not active_ids:
            return {}, []
        return self._primary_links(active_ids)

    def _write_companies(self, session, records, prepared, *, generation, report) -> None:
        links, contacts = prepared
        now = self.clock()
        records = self._storable(session, "company", records, now)
        rows = [{**company_row(r), "seen_generation": generation, "synced_at": now} for r in records]
        upsert(session, Company, rows)
        self._write_links(session, [r.id for r in records if not r.archived and r.id in links], links, contacts, generation=generation)
        archived_ids = [r.id for r in records if r.archived]
        repo.record_findings(session, object_type="company", object_ids=archived_ids, problems=[], rule_prefix="data.", now=now)
        report.counts["companies"] += len(records)
        report.counts["contacts"] += len(contacts)

    def _write_links(self, session, company_ids, links, contacts: list[CrmRecord], *, generation: int | None) -> None:
        now = self.clock()
        contacts = self._storable(session, "contact", contacts, now)
        if contacts:
            contact_rows = [{**contact_row(c), "synced_at": now} for c in contacts]
            if generation is not None:
                contact_rows = [{**row, "seen_generation": generation} for row in contact_rows]
            upsert(session, Contact, contact_rows)
        created = {c.id: c.created_at for c in contacts}
        if any(cid not in created for ids in links.values() for cid in ids):
            # Contacts read on an earlier run: their creation dates come from the cache.
            for contact in session.exec(Contact.__table__.select().where(Contact.id.in_([cid for ids in links.values() for cid in ids]))):  # type: ignore[attr-defined, call-overload]
                created.setdefault(contact.id, contact.hs_created_at)
        link_rows, problems = [], []
        for company_id in company_ids:
            existing = [(cid, created[cid]) for cid in links.get(company_id, []) if cid in created]
            chosen, ordered = primary_contact_choice(existing)
            link_rows.append({"company_id": company_id, "contact_id": chosen, "candidate_ids": ordered, "label": self.label, "checked_at": now})
            if len(ordered) > 1:
                problems.append((
                    company_id,
                    DataProblem(
                        "data.primary_contact_ambiguous", "primary_contact", ", ".join(ordered),
                        f"{len(ordered)} contacts carry the {self.label!r} label; using the earliest created ({chosen})",
                    ),
                ))
        upsert(session, PrimaryContact, link_rows)
        repo.record_findings(
            session, object_type="company", object_ids=list(company_ids), problems=problems,
            rule_prefix="data.primary_contact", now=now,
        )

    def _storable(self, session, object_type: str, records: Sequence[CrmRecord], now: datetime) -> list[CrmRecord]:
        """Records cleaned of values the database cannot store, each cleaning a finding."""
        cleaned, problems = [], []
        for record in records:
            record, found = storable(record)
            cleaned.append(record)
            problems.extend((record.id, problem) for problem in found)
        repo.record_findings(
            session, object_type=object_type, object_ids=[r.id for r in records], problems=problems,
            rule_prefix="data.unstorable", now=now,
        )
        return cleaned

    # ------------------------------------------------------------------ contacts (incremental)

    def _write_known_contacts(self, session, records, prepared, *, generation, report) -> None:
        """Only contacts the cache already holds (someone's primary contact) are kept; a contact
        newly given the label arrives through the association re-check."""
        known = repo.known_contact_ids(session, [r.id for r in records])
        now = self.clock()
        records = self._storable(session, "contact", [r for r in records if r.id in known], now)
        rows = [{**contact_row(r), "synced_at": now} for r in records]
        upsert(session, Contact, rows)
        report.counts["contacts"] += len(rows)

    # ------------------------------------------------------------------ subscriptions

    def _subscription_companies(self, ids: Sequence[str]) -> dict[str, str]:
        # A search page holds up to 200 records; association batches take 100.
        found: dict[str, tuple[Associated, ...]] = {}
        for chunk in chunks(list(ids), MAX_BATCH):
            found.update(self.gateway.batch_associations(self.sub_type, "companies", chunk))
        chosen = {}
        for sub_id, associated in found.items():
            if not associated:
                continue
            # The primary company if one is labelled so, else the lowest id: stable across runs.
            primary = [a.to_id for a in associated if a.has_label("Primary")]
            pool = primary or [a.to_id for a in associated]
            chosen[sub_id] = min(pool, key=lambda value: (len(value), value))
        return chosen

    def _prepare_subscriptions(self, records: Sequence[CrmRecord], *, archived: bool):
        if archived:
            return None
        return self._subscription_companies([r.id for r in records if not r.archived])

    def _write_subscriptions(self, session, records, prepared, *, generation, report) -> None:
        now = self.clock()
        rows, problems = [], []
        for record in records:
            company_id = None if prepared is None else prepared.get(record.id)
            record, unstorable = storable(record)
            row, found = subscription_row(record, company_id, self.settings.subscriptions)
            found = unstorable + found
            rows.append({**row, "seen_generation": generation, "synced_at": now})
            if not record.archived:
                problems.extend((record.id, problem) for problem in found)
        if prepared is None:
            # Archived pages: HubSpot no longer answers for their associations; keep the last known.
            upsert(session, Subscription, rows, update=[k for k in rows[0] if k not in {"id", "company_id"}] if rows else None)
        else:
            upsert(session, Subscription, rows)
        repo.record_findings(
            session, object_type="subscription", object_ids=[r.id for r in records], problems=problems,
            rule_prefix="data.", now=now,
        )
        report.counts["subscriptions"] += len(records)
        report.counts["data_problems"] += len(problems)


def _finding_type(stream: str) -> str:
    return {COMPANIES: "company", SUBSCRIPTIONS: "subscription"}[stream]

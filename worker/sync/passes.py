"""HubSpot → cache: full passes (which also reconcile deletions), incremental passes, and the
association re-check.

Every page is fetched, then written in one transaction together with the stream's cursor, so a
run killed at any point resumes where it stopped and never leaves half a page behind. Nothing
holds more than a page of records (or one association batch of ids) in memory.

Fewest calls: a subscription's company comes inline with its list page; the companies' primary
contacts are read after the companies are listed, 1,000 companies per associations call; the
archived lists are read only when the cache holds records the active list did not show. The
streams (owners, companies, subscriptions) run side by side, since at HubSpot's ~150 ms per
request one stream alone cannot use the rate limit; each keeps its own cursor.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

import structlog

from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.limits import MAX_ASSOCIATION_BATCH
from integrations.hubspot.pipelines import pipeline_property
from integrations.hubspot.types import CrmRecord, RecordPage
from worker.cache import repo
from worker.cache.db import Cache, upsert
from worker.cache.models import Company, Contact, HubSpotAccount, RenewalRecord, ServiceContract, Subscription
from worker.sync.normalize import (
    COMPANY_PROPERTIES,
    CONTACT_PROPERTIES,
    DataProblem,
    in_pipeline,
    subscription_properties,
)
from worker.parallel import run_together
from worker.sync.guard import ReconcileRefused, counts_agree, exceeds_share
from worker.settings import ServiceSettings, Settings, SubscriptionSettings
from worker.sync.links import Links
from worker.sync.owners import OWNERS, sync_owners
from worker.sync.pages import write_companies, write_known_contacts, write_renewals

log = structlog.get_logger(__name__)

Progress = Callable[[str, int], None]

COMPANIES, CONTACTS, SUBSCRIPTIONS, SERVICES = "companies", "contacts", "subscriptions", "services"
# Full-pass phases: list active records, then archived ones (when the cache holds records the
# active list did not show), then (companies) read the primary contacts, then the sweep (mark
# what no list showed as deleted); None when idle.
ACTIVE, ARCHIVED, LINKS, SWEEP = "active", "archived", "links", "sweep"
FULL_PASS_PHASES = (ACTIVE, ARCHIVED, LINKS, SWEEP)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SyncReport:
    mode: str
    counts: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class Stream:
    """One kind of record to sync: what to list or search, the network work a page needs before
    its transaction (``prepare``), how the page is written (``write``), and the associations a
    list page carries inline."""

    name: str
    object_type: str
    properties: Sequence[str]
    prepare: Callable[..., Any]
    write: Callable[..., None]
    inline_associations: tuple[str, ...] = ()
    model: type | None = None  # the cache table a full pass reconciles
    finding_type: str = ""  # what the findings about its records call them
    # property = value every record of the stream has (its pipeline): HubSpot's count of the
    # stream's records, for the reconcile guard, counts only those.
    only: tuple[tuple[str, str], ...] = ()


class Syncer:
    def __init__(
        self,
        gateway: HubSpotGateway,
        cache: Cache,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        progress: Progress | None = None,
        recheck_turn: int = MAX_ASSOCIATION_BATCH,
    ):
        self.gateway = gateway
        self.cache = cache
        self.settings = settings
        self.clock = clock
        self.progress = progress or (lambda stream, done: None)
        self.links = Links(gateway, cache, settings, clock=clock, recheck_turn=recheck_turn)
        # With [client_portals], each company's client portal id comes with it (no extra call).
        company_properties = COMPANY_PROPERTIES + ((settings.client_portals.portal_id_property,) if settings.client_portals else ())
        self.companies = Stream(
            COMPANIES, "companies", company_properties, self._prepare_companies,
            partial(write_companies, linker=self.links, clock=self.clock), model=Company, finding_type="company",
        )
        self.contacts = Stream(CONTACTS, "contacts", CONTACT_PROPERTIES, lambda records, archived, listed: None, partial(write_known_contacts, clock=self.clock))
        # The kinds of renewal: HubSpot subscriptions, and the partner's service contracts
        # when [services] is configured; each its own stream, cursor and table.
        self.renewals = [self._renewal_stream(SUBSCRIPTIONS, settings.subscriptions, Subscription)]
        if settings.services is not None:
            self.renewals.append(self._renewal_stream(SERVICES, settings.services, ServiceContract))

    def _renewal_stream(self, name: str, source: SubscriptionSettings | ServiceSettings, model: type[RenewalRecord]) -> Stream:
        def prepare(records: Sequence[CrmRecord], *, archived: bool, listed: bool):
            return self._prepare_renewals(records, archived=archived, listed=listed, source=source, model=model)

        write = partial(write_renewals, source=source, model=model, counted=name, clock=self.clock)

        return Stream(
            name, source.object_type, subscription_properties(source), prepare, write,
            inline_associations=("companies",), model=model, finding_type=source.kind,
            only=((pipeline_property(source.object_type), source.pipeline),) if source.pipeline else (),
        )

    # ------------------------------------------------------------------ entry point

    def run(self, mode: str = "auto") -> SyncReport:
        """``full`` lists everything and reconciles deletions; ``incremental`` searches changes
        since the watermark; ``auto`` decides per stream: a full pass where none has completed
        yet or one was interrupted (it resumes where it stopped), else incremental."""
        full = {
            stream.name: mode == "full" or (mode == "auto" and self._needs_full(stream.name))
            for stream in (self.companies, *self.renewals)
        }
        report = SyncReport("full" if any(full.values()) else "incremental")
        jobs = [
            lambda: self._owners(both_lists=any(full.values())),
            lambda: self._companies_and_contacts(full=full[COMPANIES]),
            *(lambda stream=stream: self._pass(stream, full=full[stream.name]) for stream in self.renewals),
        ]
        if self.gateway.requests_in_flight > 1:
            counts = run_together(jobs)
        else:
            counts = [job() for job in jobs]
        for found in counts:
            report.counts.update(found)
        # A full pass just read every link of its stream: only incremental streams are re-checked.
        self.links.recheck(
            report.counts, companies=not full[COMPANIES],
            renewals=[(stream.name, stream.object_type, stream.model) for stream in self.renewals if not full[stream.name]],
        )
        return report

    def _needs_full(self, stream: str) -> bool:
        with self.cache.transaction() as session:
            state = repo.load_state(session, stream)
            return state.full_completed_at is None or state.phase in FULL_PASS_PHASES

    def _owners(self, *, both_lists: bool) -> Counter:
        counts: Counter = Counter()
        self._remember_account()
        sync_owners(
            self.gateway, self.cache, both_lists=both_lists, max_delete_share=self.settings.sync.max_delete_share,
            max_owner_loss_share=self.settings.sync.max_owner_loss_share, now=self.clock, counts=counts,
        )
        self.progress(OWNERS, counts["owners"])
        return counts

    def _remember_account(self) -> None:
        """The portal's id and app domain, read once per cache (the panel's record links)."""
        with self.cache.transaction() as session:
            if session.get(HubSpotAccount, 1) is not None:
                return
        account = self.gateway.account_details()
        with self.cache.transaction() as session:
            upsert(session, HubSpotAccount, [{"id": 1, "portal_id": account.portal_id, "ui_domain": account.ui_domain, "fetched_at": self.clock()}])

    def _companies_and_contacts(self, *, full: bool) -> Counter:
        counts = self._pass(self.companies, full=full)
        if full:
            with self.cache.transaction() as session:
                # A full companies pass re-read every primary contact: the contacts stream's
                # watermark moves with it.
                state = repo.load_state(session, COMPANIES)
                repo.save_state(session, CONTACTS, self.clock(), watermark=state.watermark, generation=state.generation)
        else:
            counts.update(self._pass(self.contacts, full=False))
        return counts

    def _pass(self, stream: Stream, *, full: bool) -> Counter:
        report = SyncReport("full" if full else "incremental")
        if full:
            self._full_pass(stream, report)
        else:
            self._incremental(stream, report)
        return report.counts

    # ------------------------------------------------------------------ full pass

    def _full_pass(self, stream: Stream, report: SyncReport) -> None:
        with self.cache.transaction() as session:
            state = repo.load_state(session, stream.name)
            if state.phase not in FULL_PASS_PHASES:
                repo.save_state(
                    session, stream.name, self.clock(),
                    phase=ACTIVE, cursor=None, generation=state.generation + 1, pass_started_at=self.clock(),
                )
            state = repo.load_state(session, stream.name)
            phase, cursor, generation, started = state.phase, state.cursor, state.generation, state.pass_started_at
        model = stream.model
        assert model is not None
        done = 0
        while phase in {ACTIVE, ARCHIVED}:
            archived = phase == ARCHIVED
            page = self.gateway.list_objects(
                stream.object_type, stream.properties, after=cursor, archived=archived, limit=self.settings.hubspot.page_size,
                associations=() if archived else stream.inline_associations,
            )
            prepared = stream.prepare(page.records, archived=archived, listed=True)
            with self.cache.transaction() as session:
                stream.write(session, page.records, prepared, generation=generation, report=report)
                if page.next_after:
                    phase, cursor = phase, page.next_after
                else:
                    phase, cursor = self._after_listing(session, stream, model, phase, generation), None
                repo.save_state(session, stream.name, self.clock(), phase=phase, cursor=cursor)
            done += len(page.records)
            self.progress(stream.name, done)
        while phase == LINKS:
            cursor = self._primary_links_of_listed(cursor, generation, report)
            phase = LINKS if cursor else SWEEP
        self._guard_reconcile(stream, model, generation)
        with self.cache.transaction() as session:
            now = self.clock()
            gone = repo.mark_unseen_deleted(session, model, generation, now)
            if stream.name == COMPANIES:
                gone_contacts = repo.mark_unseen_deleted(session, Contact, generation, now)
                report.counts["contacts_deleted"] += len(gone_contacts)
            repo.record_findings(
                session, object_type=stream.finding_type, object_ids=gone, problems=[], rule_prefix="data.", now=now
            )
            repo.record_findings(session, object_type="sync", object_ids=[stream.name], problems=[], rule_prefix="sync.", now=now)
            repo.save_state(session, stream.name, now, phase=None, cursor=None, watermark=started, full_completed_at=now)
        report.counts[f"{stream.name}_deleted"] += len(gone)

    @staticmethod
    def _after_listing(session, stream: Stream, model: type, phase: str, generation: int) -> str | None:
        """The phase after a list ends. HubSpot's archived list only matters for records the cache
        holds and the active list did not show (on a first pass: none)."""
        if phase == ACTIVE and repo.unseen_ids(session, model, generation, limit=1):
            return ARCHIVED
        return LINKS if stream.name == COMPANIES else SWEEP

    def _primary_links_of_listed(self, after: str | None, generation: int, report: SyncReport) -> str | None:
        """One step of a full pass's last phase: the primary contacts of the next 1,000 companies
        it listed (one associations call, then the contacts 100 per call), written with the
        cursor. Returns where the next step starts, None when done."""
        with self.cache.transaction() as session:
            company_ids = repo.listed_active_ids(session, Company, generation, after=after, limit=MAX_ASSOCIATION_BATCH)
        if not company_ids:
            with self.cache.transaction() as session:
                repo.save_state(session, COMPANIES, self.clock(), phase=SWEEP, cursor=None)
            return None
        links, contacts = self.links.primary_links(company_ids)
        following = company_ids[-1] if len(company_ids) == MAX_ASSOCIATION_BATCH else None
        with self.cache.transaction() as session:
            self.links.write(session, company_ids, links, contacts, generation=generation)
            repo.save_state(session, COMPANIES, self.clock(), phase=LINKS if following else SWEEP, cursor=following)
        report.counts["contacts"] += len(contacts)
        self.progress(CONTACTS, report.counts["contacts"])
        return following

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
        counted = self.gateway.count_objects(stream.object_type, equals=dict(stream.only))
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
                since=since,
                after_id=after_id,
                properties=stream.properties,
                limit=self.settings.hubspot.search_page_size,
            )
            prepared = stream.prepare(page.records, archived=False, listed=False)
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

    # ------------------------------------------------------------------ companies + primary contacts

    def _prepare_companies(self, records: Sequence[CrmRecord], *, archived: bool, listed: bool):
        """The primary contacts of companies new to the cache, read with the searched page. A
        known company's links are the re-check's (an association change moves no modified
        date, so a search finding the company says nothing about them); a full pass reads them
        all after listing, 1,000 companies per call (``_primary_links_of_listed``)."""
        if archived or listed:
            return {}, []
        with self.cache.transaction() as session:
            known = repo.known_ids(session, Company, [r.id for r in records])
        new_ids = [r.id for r in records if not r.archived and r.id not in known]
        return self.links.primary_links(new_ids) if new_ids else ({}, [])

    # ------------------------------------------------------------------ renewals (both kinds)

    def _prepare_renewals(self, records: Sequence[CrmRecord], *, archived: bool, listed: bool, source, model: type[RenewalRecord]):
        """Each renewal record's company: inline from a list page; for a searched page, the
        cached one where the cache knows it (association changes are the re-check's, as for
        companies) and the associations API's for the rest."""
        if archived:
            return None
        active = [r for r in records if not r.archived and in_pipeline(r, source)]
        if listed:
            inline = {r.id: r.associations.get("companies", ()) for r in active if "companies" not in r.associations_cut}
            return self.links.renewal_companies(source.object_type, [r.id for r in active], inline)
        with self.cache.transaction() as session:
            cached = repo.cached_companies_of(session, model, [r.id for r in active])
        unknown = [r.id for r in active if r.id not in cached]
        return {**cached, **(self.links.renewal_companies(source.object_type, unknown) if unknown else {})}

"""Who belongs to whom: each company's primary contact, each subscription's company.

An association change (a new primary contact, a subscription moved to another company) moves
no record's modified date, so no incremental search sees it. A full pass reads every link; an
incremental run reads the links of records new to the cache, and re-checks the links of the
renewals within ``[sync] association_recheck_horizon_days`` in turns (``recheck``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Callable, Mapping, Sequence

from sqlalchemy import update

from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.types import Associated, CrmRecord
from worker.batching import next_turn
from worker.cache import repo
from worker.cache.db import Cache, upsert
from worker.cache.models import Company, Contact, PrimaryContact, RenewalRecord
from worker.sync.normalize import (
    CONTACT_PROPERTIES,
    DataProblem,
    contact_row,
    primary_contact_choice,
    storable,
)
from worker.sync.guard import LINK_CHANGES_ALWAYS_ALLOWED, ImplausibleAnswer, too_many_link_changes
from worker.settings import Settings

# Where the association re-check's turns stand (sync_state rows, cursor = last id re-read):
# "recheck:companies", and one per kind of renewal ("recheck:subscriptions", "recheck:services").
RECHECK_COMPANIES = "recheck:companies"


def recheck_state(stream: str) -> str:
    return f"recheck:{stream}"


class Links:
    """Reads and writes the links; the sync's passes decide when."""

    def __init__(self, gateway: HubSpotGateway, cache: Cache, settings: Settings, *, clock: Callable[[], datetime], recheck_turn: int):
        self.gateway = gateway
        self.cache = cache
        self.settings = settings
        self.clock = clock
        self.recheck_turn = recheck_turn  # records re-checked per kind and run: one associations call
        self.label = settings.primary_contact.association_label

    def recheck(self, counts: Counter, *, companies: bool, renewals: Sequence[tuple[str, str, type[RenewalRecord]]]) -> None:
        """Association changes (a new primary contact, a renewal record moved to another company)
        don't move any modified date, so no search sees them: they are re-read for the renewals
        within ``[sync] association_recheck_horizon_days``, in turns of one associations call
        (1,000 records) per kind and run. Each is re-read at least every ⌈renewals/1,000⌉ runs;
        a portal with up to 1,000 of each has all of them re-read every run. ``renewals``: the
        renewal streams to re-check (those whose pass was incremental), each as its stream name,
        HubSpot object type and cache table."""
        today = self.clock().date()
        end = today + timedelta(days=self.settings.sync.association_recheck_horizon_days)
        with self.cache.transaction() as session:
            company_turn = self._turn(session, RECHECK_COMPANIES, repo.companies_with_renewals_between(session, today, end)) if companies else ([], None)
            turns = [
                (object_type, model, recheck_state(stream), self._turn(session, recheck_state(stream), repo.renewals_between(session, model, today, end)))
                for stream, object_type, model in renewals
            ]
        company_ids = company_turn[0]
        if company_ids:
            links, contacts = self.primary_links(company_ids, only_unknown=True)
            with self.cache.transaction() as session:
                refused = self._implausible_primary_links(session, company_ids, links)
            self._refuse_if(refused, "primary_contacts")
            with self.cache.transaction() as session:
                self.write(session, company_ids, links, contacts, generation=None)
                self._next_turn(session, RECHECK_COMPANIES, company_turn[1])
        for object_type, model, state, (ids, following) in turns:
            if not ids:
                continue
            companies = self.renewal_companies(object_type, ids)
            with self.cache.transaction() as session:
                refused = self._implausible_renewal_companies(session, model, ids, companies)
            self._refuse_if(refused, model.__tablename__)
            with self.cache.transaction() as session:
                # One UPDATE by primary key, run for every row.
                session.execute(update(model), [{"id": record_id, "company_id": companies.get(record_id)} for record_id in ids])
                self._next_turn(session, state, following)
        counts["associations_rechecked"] += len(company_ids) + sum(len(ids) for _, _, _, (ids, _) in turns)

    def _turn(self, session, turn: str, ids: list[str]) -> tuple[list[str], str | None]:
        """The ids this run re-checks and where the next turn starts; the cursor moves only once
        the answer passed the guard and was written (a refused turn is asked again)."""
        return next_turn(ids, repo.load_state(session, turn).cursor, self.recheck_turn)

    def _next_turn(self, session, turn: str, following: str | None) -> None:
        repo.save_state(session, turn, self.clock(), cursor=following)

    # ------------------------------------------------------------------ plausibility of an answer

    def _implausible_primary_links(self, session, company_ids: Sequence[str], links: Mapping[str, list[str]]) -> str | None:
        """A re-check answer that takes the primary contact away from (or changes it for) more
        than ``[sync] max_link_change_share`` of the companies it re-reads is refused: an answer
        of NO_ASSOCIATIONS for every company would have re-pointed every task's contact."""
        held = repo.primary_contacts_of(session, company_ids)
        changed = sum(1 for company_id, contact_id in held.items() if contact_id and contact_id not in links.get(company_id, []))
        if too_many_link_changes(changed, len(held), self.settings.sync.max_link_change_share):
            return f"would take the primary contact away from {changed} of the {len(held)} companies it re-read"
        return None

    def _implausible_renewal_companies(self, session, model: type[RenewalRecord], ids: Sequence[str], companies: Mapping[str, str]) -> str | None:
        """A re-check answer that moves or unlinks more than ``[sync] max_link_change_share`` of
        the renewals it re-reads, or points them at companies the sync has never seen, is
        refused: their tasks would move, or read "?" for the client."""
        held = repo.cached_companies_of(session, model, ids)
        changed = sum(1 for record_id, company_id in held.items() if companies.get(record_id) != company_id)
        targets = {company_id for company_id in companies.values() if company_id}
        never_seen = targets - repo.known_ids(session, Company, sorted(targets))
        unseen = sum(1 for company_id in companies.values() if company_id in never_seen)
        share = self.settings.sync.max_link_change_share
        if too_many_link_changes(changed, len(held), share):
            return f"would move or unlink {changed} of the {len(held)} {model.__tablename__} it re-read"
        if unseen > LINK_CHANGES_ALWAYS_ALLOWED:
            return f"points {unseen} {model.__tablename__} at companies the sync has never seen"
        return None

    def _refuse_if(self, why: str | None, what: str) -> None:
        """Record a refused answer as a finding, then stop the sync (nothing of it was written);
        an answer that passes resolves an earlier refusal's finding."""
        if why is None:
            with self.cache.transaction() as session:
                repo.record_findings(session, object_type="sync", object_ids=[f"links:{what}"], problems=[], rule_prefix="sync.links", now=self.clock())
            return
        message = (
            f"HubSpot's associations answer {why}: nothing was changed and no task moved. If the answer was wrong the next "
            f"run sets it right; if the links really changed that much, raise [sync] max_link_change_share"
        )
        problem = DataProblem("sync.links_refused", what, why, message)
        with self.cache.transaction() as session:
            repo.record_findings(session, object_type="sync", object_ids=[f"links:{what}"], problems=[(f"links:{what}", problem)], rule_prefix="sync.links", now=self.clock())
        raise ImplausibleAnswer(message)

    def primary_links(
        self, company_ids: Sequence[str], *, only_unknown: bool = False
    ) -> tuple[dict[str, list[str]], list[CrmRecord]]:
        """Contacts carrying the primary label, per company, and those contacts' records."""
        associations = self.gateway.batch_associations("companies", "contacts", list(company_ids))
        links = {
            company_id: [a.to_id for a in associations.get(company_id, ()) if a.has_label(self.label)]
            for company_id in company_ids
        }
        wanted = list(dict.fromkeys(contact_id for ids in links.values() for contact_id in ids))
        if only_unknown:
            with self.cache.transaction() as session:
                known = repo.known_contact_ids(session, wanted)
            wanted = [contact_id for contact_id in wanted if contact_id not in known]
        return links, self.gateway.batch_read("contacts", wanted, CONTACT_PROPERTIES)

    def write(self, session, company_ids, links, contacts: list[CrmRecord], *, generation: int | None) -> None:
        now = self.clock()
        contacts = store_cleaned(session, "contact", contacts, now)
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

    def renewal_companies(
        self, object_type: str, ids: Sequence[str], inline: Mapping[str, tuple[Associated, ...]] | None = None
    ) -> dict[str, str]:
        """Each renewal record's company: from the list page's inline associations where it
        carried them whole, else from the associations API."""
        found: dict[str, tuple[Associated, ...]] = dict(inline or {})
        missing = [sub_id for sub_id in ids if sub_id not in found]
        if missing:
            found.update(self.gateway.batch_associations(object_type, "companies", missing))
        chosen = {}
        for sub_id, associated in found.items():
            if not associated:
                continue
            # The primary company if one is labelled so, else the lowest id: stable across runs.
            primary = [a.to_id for a in associated if a.has_label("Primary")]
            pool = primary or [a.to_id for a in associated]
            chosen[sub_id] = min(pool, key=lambda value: (len(value), value))
        return chosen


def store_cleaned(session, object_type: str, records: Sequence[CrmRecord], now: datetime) -> list[CrmRecord]:
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

"""Emission: the rules' reminders become HubSpot tasks, exactly once; tasks whose reason went
away are completed; tasks whose numbers or owner changed are updated, where nobody else changed
them. The decisions are ``worker.tasks.planner``'s (pure); this module reads HubSpot back, asks the
planner, and carries the change set out.

Tasks belong to the people who work them: every run first learns what HubSpot holds for the
open tasks it created (``worker.tasks.read_back``: what people modified since the last run, and a read
of every task it is about to write to). A task a person completed is recorded as
``completed_in_hubspot``, one a person deleted as ``dismissed``; neither is ever created again
for the same reason. A field is rewritten only while HubSpot still holds what the worker last
wrote there.

Exactly once, in three layers:
1. The whole step runs under a database-wide lock (``worker.cache.locks``): two processes never
   emit at the same time.
2. The ledger (``task_ledger``, unique on the reminder key) is written, with the attempt counted,
   before each create call and completed with the task id after it.
3. Every task carries a marker (``rw1-`` + 16 hex digits, see ``worker.tasks.texts``). A ledger row
   with attempts but no task id (a crash, a reset or a 5xx after HubSpot may have created it) is
   looked up on HubSpot's side by that marker (the record's task associations, then the tasks'
   bodies: both read without the search index's lag) before anything is created again. Within a
   run this is one declared policy (``LookBeforeResend``) that the gateway's one retry layer
   applies; across runs the same look-up runs for rows left with attempts.

The worker only ever updates or completes tasks whose ids its ledger holds.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Callable

import structlog

from integrations.hubspot.errors import BadRequest, HubSpotError
from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.limits import MAX_BATCH_WRITE
from integrations.hubspot.types import TaskFields, TaskState
from worker.batching import chunks
from worker.cache import ledger, repo
from worker.cache.db import Cache
from worker.cache.ledger import LedgerEntry
from worker.cache.locks import exclusive
from worker.rules import Plan, Portfolio, Reminder, RuleConfig, why_gone
from worker.rules.calendar import due_instant
from worker.settings import Settings
from worker.tasks.creation import PortalRuleRefusal, TaskCreation, owner_refused
from worker.tasks.outcome import Change, EmissionReport
from worker.tasks.planner import COMPLETED_IN_HUBSPOT, DISMISSED, OPEN, PENDING, ChangeSet, Desired, plan_changes
from worker.tasks.read_back import TASKS_READ_BACK, ReadBack, read_back
from worker.tasks.texts import fingerprint, marker, render

__all__ = ["Change", "EmissionReport", "Emitter", "PortalRuleRefusal", "owner_refused"]

log = structlog.get_logger(__name__)

EMISSION_LOCK = "emission"


class Emitter(TaskCreation):
    def __init__(
        self,
        gateway: HubSpotGateway | None,
        cache: Cache,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
    ):
        self.gateway = gateway
        self.cache = cache
        self.settings = settings
        self.config = RuleConfig.from_settings(settings)
        self.clock = clock
        self.language = settings.reminders.language
        self._report_lock = threading.Lock()

    # ------------------------------------------------------------------ entry point

    def run(self, plan: Plan, portfolio: Portfolio, as_of: date, *, dry_run: bool = False) -> EmissionReport:
        if dry_run:
            with self.cache.transaction() as session:
                entries = ledger.load(session)
            report = EmissionReport(dry_run=True)
            wanted = self._wanted(plan, entries)
            decide = self._planner(entries, wanted, self._why_gone(portfolio, as_of))
            changes = decide(self._read_back(entries, decide, report).tasks if self.gateway is not None else {})
            report.changes = self._describe(changes, entries, wanted)
            return report
        with exclusive(self.cache, EMISSION_LOCK, wait_s=self.settings.reminders.emission_lock_wait_s):
            return self._emit(plan, portfolio, as_of)

    def _emit(self, plan: Plan, portfolio: Portfolio, as_of: date) -> EmissionReport:
        assert self.gateway is not None
        report = EmissionReport()
        with self.cache.transaction() as session:
            entries = ledger.load(session)
        try:
            wanted = self._wanted(plan, entries)
            why = self._why_gone(portfolio, as_of)
            decide = self._planner(entries, wanted, why)
            seen = self._read_back(entries, decide, report)
            changes = decide(seen.tasks)
            self._record_people(changes, report)
            with self.cache.transaction() as session:
                # Only now: what people did up to this read-back is recorded.
                repo.save_state(session, TASKS_READ_BACK, self.clock(), watermark=seen.began_at)
            closes = {key: (entries[key], reason) for key, reason in changes.closes.items()}
            self._settle_orphans([entries[k] for k in changes.orphans], closes, why)
            self._create(changes.creates, entries, wanted, report)
            self._update(changes, entries, wanted, report)
            self._move(changes, entries, wanted, report)
            self._close(closes, report)
        except HubSpotError as exc:
            report.errors.append(str(exc))
            log.warning("emission.stopped", error=str(exc), error_type=type(exc).__name__)
        with self.cache.transaction() as session:
            report.pending = len(ledger.load(session, states=[PENDING])) + report.unsent
        return report

    def refresh_from_hubspot(self) -> EmissionReport:
        """Read every open task back and record what people did (completed, deleted), writing
        nothing to HubSpot: before the daily digest, so that it lists only tasks open in HubSpot
        (a run's own read-back sees deletions only where it writes, or once a day)."""
        assert self.gateway is not None
        report = EmissionReport()
        with exclusive(self.cache, EMISSION_LOCK, wait_s=self.settings.reminders.emission_lock_wait_s):
            with self.cache.transaction() as session:
                entries = ledger.load(session, states=[OPEN])
            found = self.gateway.read_tasks([e.task_id for e in entries.values() if e.task_id])
            self._record_read_back(entries, found, report)
            # Only what people did is taken from this plan; nothing is written.
            self._record_people(plan_changes(entries, found, {}, lambda entry: ""), report)
        return report

    # ------------------------------------------------------------------ read back, then decide

    @staticmethod
    def _planner(entries: dict[str, LedgerEntry], wanted: dict[str, tuple[Desired, Reminder]], why: Callable[[LedgerEntry], str]) -> Callable[[dict[str, TaskState]], ChangeSet]:
        desired = {key: d for key, (d, _) in wanted.items()}
        return lambda tasks: plan_changes(entries, tasks, desired, why)

    def _read_back(self, entries: dict[str, LedgerEntry], decide: Callable[[dict[str, TaskState]], ChangeSet], report: EmissionReport) -> ReadBack:
        """What HubSpot holds now for every open task of the ledger (``worker.tasks.read_back``)."""
        assert self.gateway is not None
        overlap = timedelta(seconds=self.settings.sync.incremental_overlap_s)
        seen = read_back(self.gateway, self.cache, entries, decide, now=self.clock(), overlap=overlap)
        self._record_read_back(entries, seen.read, report)
        return seen

    def _record_read_back(self, entries: dict[str, LedgerEntry], read: dict[str, TaskState], report: EmissionReport) -> None:
        """What HubSpot showed for the tasks just read (owner, due date), for the reports."""
        report.read_back = len(read)
        keys = {e.task_id: e.key for e in entries.values() if e.task_id}
        with self.cache.transaction() as session:
            ledger.record_read_back(session, {keys[t.id]: (t.owner_id, t.due_at) for t in read.values() if t.id in keys}, self.clock())

    def _wanted(self, plan: Plan, entries: dict[str, LedgerEntry]) -> dict[str, tuple[Desired, Reminder]]:
        """Each reminder as a task should read today. An existing task keeps its due date (and
        the texts written against it) while the rule's step stays where it was."""
        wanted = {}
        for reminder in plan.reminders:
            entry = entries.get(reminder.key)
            step = reminder.step or reminder.due
            if entry is not None and entry.state == OPEN and entry.step == step and entry.due_at is not None:
                due_at = entry.due_at
            else:
                due_at = due_instant(reminder.due, self.settings.reminders.due_time, self.settings.tz)
            if entry is not None and entry.state in {OPEN, PENDING}:
                task_marker = entry.marker
            else:
                task_marker = marker(reminder.key, entry.generation + 1 if entry else 1)
            subject, block = self._text(reminder, due_at.astimezone(self.settings.tz).date(), task_marker)
            facts_print = fingerprint(reminder.facts)
            if entry is not None and entry.state == OPEN and reminder.company_id and not reminder.facts.get("company"):
                # The client's name is not (yet) read: the task keeps the words it has rather
                # than lose its client name to "?".
                subject, block, facts_print = entry.subject, entry.body_block or block, entry.fingerprint
            wanted[reminder.key] = (
                Desired(
                    key=reminder.key, create=reminder.create, fingerprint=facts_print, subject=subject,
                    block=block, owner_id=reminder.owner_id, due_at=due_at, priority=reminder.priority, step=step,
                    company_id=reminder.company_id, contact_id=reminder.contact_id,
                ),
                reminder,
            )
        return wanted

    def _why_gone(self, portfolio: Portfolio, as_of: date) -> Callable[[LedgerEntry], str]:
        return lambda e: why_gone(e.rule, e.object_type, e.object_id, e.anchor_date, portfolio, as_of, self.config)

    def _text(self, reminder: Reminder, due: date, task_marker: str) -> tuple[str, str]:
        return render(reminder.rule, reminder.facts, due, language=self.language, key=reminder.key, task_marker=task_marker)

    def _describe(self, changes: ChangeSet, entries: dict[str, LedgerEntry], wanted: dict[str, tuple[Desired, Reminder]]) -> list[Change]:
        described = [
            Change("create", key, wanted[key][0].subject, wanted[key][0].owner_id, self._local(wanted[key][0].due_at), wanted[key][0].priority)
            for key in changes.creates
        ]
        for task_id, fields in changes.updates.items():
            entry = entries[changes.updated_keys[task_id]]
            described.append(Change(
                "update", entry.key, fields.subject or entry.subject, entry.owner_id if fields.owner_id is None else fields.owner_id or None,
                self._local(fields.due_at or entry.due_at), fields.priority or entry.priority, task_id=task_id,
            ))
        described += [Change("close", k, entries[k].subject, entries[k].owner_id, reason=r, task_id=entries[k].task_id) for k, r in changes.closes.items()]
        described += [Change("completed by a person", k, entries[k].subject, entries[k].owner_id, task_id=entries[k].task_id) for k in changes.completed_by_people]
        described += [Change("deleted by a person", k, entries[k].subject, entries[k].owner_id, task_id=entries[k].task_id) for k in changes.dismissed_by_people]
        return described

    def _local(self, moment: datetime | None) -> date | None:
        return moment.astimezone(self.settings.tz).date() if moment else None

    # ------------------------------------------------------------------ what people did

    def _record_people(self, changes: ChangeSet, report: EmissionReport) -> None:
        now = self.clock()
        with self.cache.transaction() as session:
            ledger.mark_settled(session, changes.completed_by_people, COMPLETED_IN_HUBSPOT, "completed in HubSpot by a person", now)
            ledger.mark_settled(session, changes.dismissed_by_people, DISMISSED, "deleted in HubSpot by a person: not created again", now)
        report.completed_by_people += len(changes.completed_by_people)
        report.dismissed_by_people += len(changes.dismissed_by_people)
        report.kept_for_people += len(changes.kept)
        for key, fields in changes.kept.items():
            log.info("emission.kept_for_person", key=key, fields=fields)

    # ------------------------------------------------------------------ pending rows no longer wanted

    def _settle_orphans(self, orphans: list[LedgerEntry], closes: dict, why: Callable[[LedgerEntry], str]) -> None:
        """A pending row whose reminder went away: if an earlier attempt did create the task, it
        is closed like any other; otherwise the row is forgotten."""
        if not orphans:
            return
        found = self._find_by_marker([e for e in orphans if e.attempts > 0])
        with self.cache.transaction() as session:
            ledger.mark_open(session, {e.key: found[e.key] for e in orphans if e.key in found}, self.clock())
            ledger.forget(session, [e.key for e in orphans if e.key not in found])
        for entry in orphans:
            if entry.key in found:
                entry.task_id, entry.state = found[entry.key], OPEN
                closes[entry.key] = (entry, why(entry))

    # ------------------------------------------------------------------ update and close

    def _update(self, changes: ChangeSet, entries: dict[str, LedgerEntry], wanted: dict[str, tuple[Desired, Reminder]], report: EmissionReport) -> None:
        """Write the fields the worker still owns. A task gone by now (deleted between the read
        and the write) was dismissed by a person."""
        if not changes.updates:
            return
        assert self.gateway is not None
        try:
            result = self.gateway.update_tasks(changes.updates)
        except BadRequest as exc:
            if not exc.invalid_owner:
                raise
            # An owner deactivated since the sync: its tasks go to the fallback owner instead.
            self._fallback_for_inactive_owners(changes, entries)
            result = self.gateway.update_tasks(changes.updates)
        gone = [changes.updated_keys[task_id] for task_id in changes.updates if task_id in result.failed]
        written: list[LedgerEntry] = []
        for task_id, fields in changes.updates.items():
            key = changes.updated_keys[task_id]
            if key in gone:
                continue
            entry, desired = entries[key], wanted[key][0]
            entry.fingerprint, entry.step = desired.fingerprint, desired.step
            if fields.subject is not None:
                entry.subject = fields.subject
            if fields.owner_id is not None:
                entry.owner_id = fields.owner_id or None
            if fields.priority is not None:
                entry.priority = fields.priority
            if fields.due_at is not None:
                entry.due_at = fields.due_at
            if fields.body is not None:
                entry.body_block = desired.block
            written.append(entry)
            report.changes.append(Change("update", key, entry.subject, entry.owner_id, self._local(entry.due_at), entry.priority, task_id=task_id))
        now = self.clock()
        with self.cache.transaction() as session:
            ledger.mark_updated(session, written, now)
            ledger.mark_settled(session, gone, DISMISSED, "deleted in HubSpot by a person: not created again", now)
        report.updated += len(written)
        report.dismissed_by_people += len(gone)

    def _fallback_for_inactive_owners(self, changes: ChangeSet, entries: dict[str, LedgerEntry]) -> None:
        """HubSpot refused an owner the planner is assigning (deactivated or removed since the
        sync read it). Which ones is asked of HubSpot's active owners list; every update giving
        a task to one of them gives it to the fallback owner instead (unassigned if none), with an
        owner finding, as the rules do for an owner known to be gone."""
        assert self.gateway is not None
        active: set[str] = set()
        after = None
        while True:
            page = self.gateway.list_owners(after=after)
            active.update(owner.id for owner in page.owners if not owner.archived)
            if not page.next_after:
                break
            after = page.next_after
        fallback = self.config.fallback_owner_id or ""
        findings = []
        for task_id, fields in list(changes.updates.items()):
            if not fields.owner_id or fields.owner_id in active or fields.owner_id == fallback:
                continue
            entry = entries[changes.updated_keys[task_id]]
            findings.append(owner_refused(entry.object_type, entry.object_id, fields.owner_id, fallback))
            changes.updates[task_id] = replace(fields, owner_id=fallback)
        with self.cache.transaction() as session:
            repo.open_findings(session, findings, self.clock())

    def _move(self, changes: ChangeSet, entries: dict[str, LedgerEntry], wanted: dict[str, tuple[Desired, Reminder]], report: EmissionReport) -> None:
        """Open tasks follow their subscription to its new company, and the company's primary
        contact; the ledger remembers what each task now links to."""
        if not changes.moves:
            return
        assert self.gateway is not None
        self.gateway.move_task_associations([m for m in changes.moves.values() if m.add or m.remove])
        moved = []
        for key in changes.moves:
            entry, desired = entries[key], wanted[key][0]
            entry.company_id, entry.contact_id = desired.company_id or entry.company_id, desired.contact_id
            moved.append(entry)
        with self.cache.transaction() as session:
            ledger.record_links(session, moved, self.clock())
        report.moved += sum(1 for m in changes.moves.values() if m.add or m.remove)

    def _close(self, closes: dict[str, tuple[LedgerEntry, str]], report: EmissionReport) -> None:
        assert self.gateway is not None
        for chunk in chunks(list(closes.values()), MAX_BATCH_WRITE):
            result = self.gateway.update_tasks({e.task_id or "": TaskFields(completed=True) for e, _ in chunk})
            reasons = {
                e.key: reason + (" (the task had already been deleted in HubSpot)" if e.task_id in result.failed else "")
                for e, reason in chunk
            }
            with self.cache.transaction() as session:
                ledger.mark_closed(session, reasons, self.clock())
            report.closed += len(chunk)
            report.changes.extend(Change("close", e.key, e.subject, e.owner_id, reason=reasons[e.key], task_id=e.task_id) for e, _ in chunk)

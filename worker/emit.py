"""Emission: the rules' reminders become HubSpot tasks, exactly once; tasks whose reason went
away are completed; tasks whose numbers or owner changed are updated.

Exactly once, in three layers:
1. The whole step runs under a database-wide lock (``worker.cache.locks``): two processes never
   emit at the same time.
2. The ledger (``task_ledger``, unique on the reminder key) is written, with the attempt counted,
   before each create call and completed with the task id after it.
3. Every task carries a marker (``rw1-`` + 16 hex digits, see ``worker.tasktext``). A ledger row
   with attempts but no task id (a crash, a reset or a 5xx after HubSpot may have created it) is
   looked up on HubSpot's side by that marker (the record's task associations, then the tasks'
   bodies: both read without the search index's lag) before anything is created again.

The worker only ever updates or completes tasks whose ids its ledger holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Sequence

import structlog

from integrations.hubspot.errors import BadRequest, HubSpotError, Unavailable
from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.types import TaskDraft
from integrations.hubspot.writes import MAX_BATCH_WRITE
from worker.batching import chunks
from worker.cache import ledger
from worker.cache.db import Cache
from worker.cache.ledger import LedgerEntry
from worker.cache.locks import exclusive
from worker.rules import Plan, Portfolio, Reminder, RuleConfig, why_gone
from worker.rules.calendar import due_instant
from worker.settings import Settings
from worker.tasktext import find_marker, fingerprint, marker, render

log = structlog.get_logger(__name__)

EMISSION_LOCK = "emission"


@dataclass(frozen=True)
class Change:
    """One thing emission does (or, in a dry run, would do) to HubSpot."""

    action: str  # create | update | close
    key: str
    subject: str
    owner_id: str | None
    due: date | None = None
    priority: str = ""
    reason: str | None = None
    task_id: str | None = None


@dataclass
class EmissionReport:
    created: int = 0
    recovered: int = 0  # found in HubSpot by its marker instead of being created again
    updated: int = 0
    closed: int = 0
    pending: int = 0  # wanted but not created in this run (they go out on the next)
    errors: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.pending == 0 and not self.errors

    def counts(self) -> dict[str, int]:
        return {
            "tasks_created": self.created,
            "tasks_recovered": self.recovered,
            "tasks_updated": self.updated,
            "tasks_closed": self.closed,
            "tasks_pending": self.pending,
        }


@dataclass
class _Send:
    entry: LedgerEntry
    reminder: Reminder
    draft: TaskDraft


class Emitter:
    def __init__(
        self,
        gateway: HubSpotGateway | None,
        cache: Cache,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.gateway = gateway
        self.cache = cache
        self.settings = settings
        self.config = RuleConfig.from_settings(settings)
        self.clock = clock
        self.sleep = sleep
        self.language = settings.reminders.language

    # ------------------------------------------------------------------ entry point

    def run(self, plan: Plan, portfolio: Portfolio, as_of: date, *, dry_run: bool = False) -> EmissionReport:
        if dry_run:
            with self.cache.transaction() as session:
                entries = ledger.load(session)
            report = EmissionReport(dry_run=True)
            creates, orphans, updates, closes = self._decide(entries, plan, portfolio, as_of)
            report.changes = self._describe(creates, updates, closes)
            return report
        with exclusive(self.cache, EMISSION_LOCK, wait_s=self.settings.reminders.emission_lock_wait_s):
            return self._emit(plan, portfolio, as_of)

    def _emit(self, plan: Plan, portfolio: Portfolio, as_of: date) -> EmissionReport:
        assert self.gateway is not None
        report = EmissionReport()
        with self.cache.transaction() as session:
            entries = ledger.load(session)
        creates, orphans, updates, closes = self._decide(entries, plan, portfolio, as_of)
        try:
            self._settle_orphans(orphans, closes, portfolio, as_of)
            self._create(creates, report)
            self._update(updates, report)
            self._close(closes, report)
        except HubSpotError as exc:
            report.errors.append(str(exc))
            log.warning("emission.stopped", error=str(exc), error_type=type(exc).__name__)
        with self.cache.transaction() as session:
            report.pending = len(ledger.load(session, states=["pending"]))
        return report

    # ------------------------------------------------------------------ what to do

    def _decide(self, entries: dict[str, LedgerEntry], plan: Plan, portfolio: Portfolio, as_of: date):
        wanted = plan.by_key()
        creates: list[tuple[LedgerEntry, Reminder]] = []
        updates: list[tuple[LedgerEntry, Reminder]] = []
        for reminder in plan.reminders:
            entry = entries.get(reminder.key)
            if entry is None or entry.state == "closed":
                if reminder.create:
                    creates.append((self._entry(reminder, entry), reminder))
            elif entry.state == "pending":
                # Retried with the same marker, and with today's owner and text.
                entry.owner_id, entry.fingerprint = reminder.owner_id, fingerprint(reminder.facts)
                entry.subject = self._text(reminder, self._due_date(entry), entry.marker)[0]
                creates.append((entry, reminder))
            elif entry.fingerprint != fingerprint(reminder.facts) or entry.owner_id != reminder.owner_id:
                updates.append((entry, reminder))
        orphans = [e for e in entries.values() if e.state == "pending" and e.key not in wanted]
        closes = {
            e.key: (e, why_gone(e.rule, e.object_type, e.object_id, e.anchor_date, portfolio, as_of, self.config))
            for e in entries.values()
            if e.state == "open" and e.key not in wanted
        }
        return creates, orphans, updates, closes

    def _entry(self, reminder: Reminder, previous: LedgerEntry | None) -> LedgerEntry:
        generation = previous.generation + 1 if previous else 1
        subject, _ = self._text(reminder, reminder.due, marker(reminder.key, generation))
        return LedgerEntry(
            key=reminder.key, rule=reminder.rule, object_type=reminder.object_type, object_id=reminder.object_id,
            company_id=reminder.company_id, subscription_id=reminder.subscription_id, anchor_date=reminder.anchor,
            generation=generation, marker=marker(reminder.key, generation), state="pending", task_id=None,
            owner_id=reminder.owner_id, fingerprint=fingerprint(reminder.facts), subject=subject,
            priority=reminder.priority, due_at=due_instant(reminder.due, self.settings.reminders.due_time, self.settings.tz),
            attempts=0,
        )

    def _text(self, reminder: Reminder, due: date, task_marker: str) -> tuple[str, str]:
        return render(
            reminder.rule, reminder.facts, due, language=self.language, key=reminder.key, task_marker=task_marker,
            deadline_days_default=self.config.deadline_days,
        )

    def _describe(self, creates, updates, closes) -> list[Change]:
        changes = [
            Change("create", e.key, e.subject, e.owner_id, r.due, e.priority) for e, r in creates
        ]
        changes += [
            Change("update", e.key, self._text(r, self._due_date(e), e.marker)[0], r.owner_id, self._due_date(e), e.priority, task_id=e.task_id)
            for e, r in updates
        ]
        changes += [Change("close", e.key, e.subject, e.owner_id, reason=reason, task_id=e.task_id) for e, reason in closes.values()]
        return changes

    def _due_date(self, entry: LedgerEntry) -> date:
        assert entry.due_at is not None
        return entry.due_at.astimezone(self.settings.tz).date()

    # ------------------------------------------------------------------ pending rows no longer wanted

    def _settle_orphans(self, orphans: list[LedgerEntry], closes: dict, portfolio: Portfolio, as_of: date) -> None:
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
                entry.task_id, entry.state = found[entry.key], "open"
                closes[entry.key] = (entry, why_gone(entry.rule, entry.object_type, entry.object_id, entry.anchor_date, portfolio, as_of, self.config))

    # ------------------------------------------------------------------ create

    def _create(self, creates: list[tuple[LedgerEntry, Reminder]], report: EmissionReport) -> None:
        if not creates:
            return
        assert self.gateway is not None
        # A retried row that may already exist in HubSpot is looked up before anything is sent.
        found = self._find_by_marker([e for e, _ in creates if e.attempts > 0 and e.state == "pending"])
        if found:
            with self.cache.transaction() as session:
                ledger.mark_open(session, found, self.clock())
            report.recovered += len(found)
        todo = [(e, r) for e, r in creates if e.key not in found]
        sends = [_Send(e, r, self._draft(e, r)) for e, r in todo]
        for batch in chunks(sends, MAX_BATCH_WRITE):
            self._create_batch(list(batch), report)

    def _draft(self, entry: LedgerEntry, reminder: Reminder) -> TaskDraft:
        assert self.gateway is not None
        due = self._due_date(entry)
        subject, body = self._text(reminder, due, entry.marker)
        due_ms = str(int(entry.due_at.timestamp() * 1000)) if entry.due_at else ""
        properties = {
            "hs_task_subject": subject,
            "hs_task_body": body,
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": entry.priority,
            "hs_task_type": "TODO",
            "hs_timestamp": due_ms,
            "hs_task_reminders": due_ms,
        }
        if entry.owner_id:
            properties["hubspot_owner_id"] = entry.owner_id
        associations = []
        if reminder.company_id:
            associations.append((reminder.company_id, self.gateway.task_association_type_id("companies")))
        if reminder.contact_id:
            associations.append((reminder.contact_id, self.gateway.task_association_type_id("contacts")))
        if reminder.subscription_id:
            associations.append((reminder.subscription_id, self.gateway.task_association_type_id(self.settings.subscriptions.object_type)))
        return TaskDraft(trace_id=entry.marker, properties=properties, associations=tuple(associations))

    def _create_batch(self, sends: list[_Send], report: EmissionReport) -> None:
        assert self.gateway is not None
        policy = self.settings.hubspot
        remaining = sends
        last_error = ""
        for round_number in range(policy.max_attempts):
            for send in remaining:
                send.entry.attempts += 1
            with self.cache.transaction() as session:
                ledger.write_attempts(session, [s.entry for s in remaining], self.clock())
            try:
                result, _records = self.gateway.create_tasks([s.draft for s in remaining])
            except BadRequest as exc:
                self._bisect(remaining, exc, report)
                return
            except Unavailable as exc:
                # HubSpot may have created some or all of them: look before sending again.
                last_error = str(exc)
                found = self._find_by_marker([s.entry for s in remaining])
                self._opened({s.entry.key: found[s.entry.key] for s in remaining if s.entry.key in found}, remaining, report, recovered=True)
                remaining = [s for s in remaining if s.entry.key not in found]
                if not remaining:
                    return
                self.sleep(min(policy.backoff_max_s, policy.backoff_initial_s * 2**round_number))
                continue
            by_marker = {s.entry.marker: s for s in remaining}
            done = {by_marker[trace].entry.key: task_id for trace, task_id in result.done.items() if trace in by_marker}
            self._opened(done, remaining, report)
            failures = {by_marker[t].entry.key: message for t, message in result.failed.items() if t in by_marker}
            missing = [s for s in remaining if s.entry.key not in done and s.entry.key not in failures]
            failures.update({s.entry.key: "; ".join(result.unmatched) or "HubSpot did not confirm the task" for s in missing})
            self._failed(failures)
            return
        self._failed({s.entry.key: last_error for s in remaining})

    def _bisect(self, sends: list[_Send], error: BadRequest, report: EmissionReport) -> None:
        """HubSpot refuses a whole batch for one bad input: halve until the bad one is alone."""
        if len(sends) == 1:
            self._failed({sends[0].entry.key: str(error)})
            log.warning("emission.task_refused", key=sends[0].entry.key, error=str(error))
            return
        middle = len(sends) // 2
        for half in (sends[:middle], sends[middle:]):
            for send in half:
                send.entry.attempts -= 1  # _create_batch counts the attempt again
            self._create_batch(half, report)

    def _opened(self, task_ids: dict[str, str], sends: list[_Send], report: EmissionReport, *, recovered: bool = False) -> None:
        if not task_ids:
            return
        with self.cache.transaction() as session:
            ledger.mark_open(session, task_ids, self.clock())
        for send in sends:
            if send.entry.key in task_ids:
                report.changes.append(
                    Change("create", send.entry.key, send.entry.subject, send.entry.owner_id, self._due_date(send.entry), send.entry.priority, task_id=task_ids[send.entry.key])
                )
        if recovered:
            report.recovered += len(task_ids)
        else:
            report.created += len(task_ids)

    def _failed(self, errors: dict[str, str]) -> None:
        if errors:
            with self.cache.transaction() as session:
                ledger.mark_failed(session, errors, self.clock())

    # ------------------------------------------------------------------ recovery by marker

    def _find_by_marker(self, entries: Sequence[LedgerEntry]) -> dict[str, str]:
        """Ledger key → task id, for those of ``entries`` whose task exists in HubSpot."""
        if not entries:
            return {}
        assert self.gateway is not None
        anchors: dict[str, set[str]] = {}
        for entry in entries:
            from_type, record_id = self._anchor(entry)
            anchors.setdefault(from_type, set()).add(record_id)
        task_ids: list[str] = []
        for from_type, ids in anchors.items():
            ordered = sorted(ids)
            for batch in chunks(ordered, MAX_BATCH_WRITE):
                linked = self.gateway.batch_associations(from_type, "tasks", batch)
                task_ids.extend(a.to_id for items in linked.values() for a in items)
        by_marker: dict[str, str] = {}
        unique = sorted(set(task_ids))
        for batch in chunks(unique, MAX_BATCH_WRITE):
            for record in self.gateway.batch_read("tasks", batch, ["hs_task_body"]):
                found = find_marker(record.properties.get("hs_task_body"))
                if found:
                    by_marker.setdefault(found, record.id)
        return {e.key: by_marker[e.marker] for e in entries if e.marker in by_marker}

    def _anchor(self, entry: LedgerEntry) -> tuple[str, str]:
        if entry.subscription_id:
            return self.settings.subscriptions.object_type, entry.subscription_id
        return "companies", entry.company_id or entry.object_id

    # ------------------------------------------------------------------ update and close

    def _update(self, updates: list[tuple[LedgerEntry, Reminder]], report: EmissionReport) -> None:
        assert self.gateway is not None
        for chunk in chunks(updates, MAX_BATCH_WRITE):
            properties: dict[str, dict[str, str]] = {}
            changed: list[LedgerEntry] = []
            for entry, reminder in chunk:
                subject, body = self._text(reminder, self._due_date(entry), entry.marker)
                properties[entry.task_id or ""] = {"hs_task_subject": subject, "hs_task_body": body, "hubspot_owner_id": reminder.owner_id or ""}
                entry.fingerprint, entry.owner_id, entry.subject = fingerprint(reminder.facts), reminder.owner_id, subject
                changed.append(entry)
            result = self.gateway.update_tasks(properties)
            gone = {e.key: "the task was deleted in HubSpot" for e in changed if e.task_id in result.failed}
            with self.cache.transaction() as session:
                ledger.mark_updated(session, [e for e in changed if e.key not in gone], self.clock())
                ledger.mark_closed(session, gone, self.clock())
            for entry in changed:
                if entry.key not in gone:
                    report.changes.append(Change("update", entry.key, entry.subject, entry.owner_id, self._due_date(entry), entry.priority, task_id=entry.task_id))
            report.updated += len(changed) - len(gone)

    def _close(self, closes: dict[str, tuple[LedgerEntry, str]], report: EmissionReport) -> None:
        assert self.gateway is not None
        for chunk in chunks(list(closes.values()), MAX_BATCH_WRITE):
            result = self.gateway.update_tasks({e.task_id or "": {"hs_task_status": "COMPLETED"} for e, _ in chunk})
            reasons = {
                e.key: reason + (" (the task had already been deleted in HubSpot)" if e.task_id in result.failed else "")
                for e, reason in chunk
            }
            with self.cache.transaction() as session:
                ledger.mark_closed(session, reasons, self.clock())
            report.closed += len(chunk)
            report.changes.extend(Change("close", e.key, e.subject, e.owner_id, reason=reasons[e.key], task_id=e.task_id) for e, _ in chunk)

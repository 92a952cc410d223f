"""Creating the tasks that are missing, exactly once (the module ``emission``'s docstring has the
three layers): each attempt committed to the ledger before it is sent, a row that may already
exist looked up by its marker before anything is sent again, a batch HubSpot refuses halved to
its bad input, an owner refused since the sync given to the fallback owner, and a portal rule no
task can pass stopping creation at once with the setting that fixes it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Sequence

import structlog

from integrations.hubspot.errors import HubSpotError
from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.limits import MAX_BATCH_WRITE
from integrations.hubspot.types import LookBeforeResend, TaskDraft, TaskFields, WriteRefusal
from worker.batching import chunks
from worker.cache import ledger, repo
from worker.cache.db import Cache
from worker.cache.ledger import LedgerEntry
from worker.rules import Reminder, RuleConfig
from worker.rules.engine import OWNER_DEACTIVATED
from worker.rules.model import SERVICE, RuleFinding
from worker.settings import Settings
from worker.errors import FixTheData
from worker.tasks.outcome import Change, EmissionReport
from worker.tasks.planner import OPEN, PENDING, Desired
from worker.tasks.texts import find_marker, marker

log = structlog.get_logger(__name__)


class PortalRuleRefusal(HubSpotError, FixTheData):
    """HubSpot refused a batch of new tasks for a rule of the portal that no task can pass as the
    worker writes it (a property the portal requires on tasks): emission stops at once, the tasks
    stay pending, and the one line names the property and the setting that fixes it."""

    def __init__(self, properties: tuple[str, ...], message: str):
        names = ", ".join(properties)
        example = f'{properties[0]} = "…"'
        super().__init__(
            f"HubSpot refuses every new task: the portal's rules require the task propert{'y' if len(properties) == 1 else 'ies'} "
            f"{names}, which the worker does not set; set {'it' if len(properties) == 1 else 'them'} under [reminders.task_properties] "
            f"(e.g. {example}) and run again ({message})"
        )
        self.properties = properties


def owner_refused(object_type: str, object_id: str, owner_id: str | None, fallback: str) -> RuleFinding:
    """The finding for a task whose owner HubSpot refused (deactivated or removed since the sync
    read it), as the rules record an owner known to be gone."""
    where = f"the task went to the fallback owner {fallback}" if fallback else "the task is unassigned: set [reminders] fallback_owner_id"
    return RuleFinding(
        OWNER_DEACTIVATED, object_type, object_id, "owner", owner_id,
        f"HubSpot refused owner {owner_id} for a task (deactivated or removed since the sync): {where}",
    )


@dataclass
class _Send:
    entry: LedgerEntry
    reminder: Reminder
    draft: TaskDraft


class TaskCreation:
    """The creating half of ``Emitter`` (which holds these attributes and ``_local``)."""

    gateway: HubSpotGateway | None
    cache: Cache
    settings: Settings
    config: RuleConfig
    clock: Callable[[], datetime]
    _report_lock: threading.Lock

    def _local(self, moment: datetime | None) -> date | None:
        raise NotImplementedError

    def _create(self, keys: list[str], entries: dict[str, LedgerEntry], wanted: dict[str, tuple[Desired, Reminder]], report: EmissionReport) -> None:
        if not keys:
            return
        assert self.gateway is not None
        creates = [(self._written(entries.get(key), *wanted[key]), wanted[key][1]) for key in keys]
        # A retried row that may already exist in HubSpot is looked up before anything is sent.
        found = self._find_by_marker([e for e, _ in creates if e.attempts > 0 and e.state == PENDING])
        if found:
            with self.cache.transaction() as session:
                ledger.mark_open(session, found, self.clock())
            report.recovered += len(found)
        sends = [_Send(e, r, self._draft(e, r)) for e, r in creates if e.key not in found]
        # Batches hold different reminders and each commits its own ledger rows: several go out
        # at once ([hubspot] requests_in_flight), each under the look-before-resend policy.
        try:
            self.gateway.each(lambda batch: self._create_batch(list(batch), report), chunks(sends, MAX_BATCH_WRITE))
        except PortalRuleRefusal as exc:
            # Nothing more is created this run; updates and closes of existing tasks still go.
            report.refused_by_portal = str(exc)
            with self.cache.transaction() as session:
                recorded = set(ledger.load(session, states=[PENDING, OPEN]))
            report.unsent = sum(1 for send in sends if send.entry.key not in recorded)
            log.error("emission.refused_by_portal", properties=list(exc.properties), unsent=report.unsent)

    def _written(self, entry: LedgerEntry | None, desired: Desired, reminder: Reminder) -> LedgerEntry:
        """The ledger row of a task about to be sent, holding what it will say: a new row (or a
        new generation of a closed one), or a pending row retried with today's owner and text."""
        if entry is None or entry.state != PENDING:
            generation = entry.generation + 1 if entry else 1
            entry = LedgerEntry(
                key=reminder.key, rule=reminder.rule, object_type=reminder.object_type, object_id=reminder.object_id,
                company_id=reminder.company_id, subscription_id=reminder.subscription_id, anchor_date=reminder.anchor,
                generation=generation, marker=marker(reminder.key, generation), state=PENDING, task_id=None,
                owner_id=None, fingerprint="", subject="", priority="", due_at=None, attempts=0,
            )
        entry.owner_id, entry.fingerprint, entry.subject, entry.priority = desired.owner_id, desired.fingerprint, desired.subject, desired.priority
        entry.due_at, entry.body_block, entry.step = desired.due_at, desired.block, desired.step
        entry.company_id, entry.contact_id = desired.company_id, desired.contact_id
        return entry

    def _draft(self, entry: LedgerEntry, reminder: Reminder) -> TaskDraft:
        fields = TaskFields(
            subject=entry.subject, body=entry.body_block, owner_id=entry.owner_id or None, due_at=entry.due_at, priority=entry.priority,
        )
        associations = []
        if reminder.company_id:
            associations.append(("companies", reminder.company_id))
        if reminder.contact_id:
            associations.append(("contacts", reminder.contact_id))
        if reminder.subscription_id:
            associations.append((self._record_type(reminder.object_type), reminder.subscription_id))
        return TaskDraft(trace_id=entry.marker, fields=fields, associations=tuple(associations))

    def _create_batch(self, sends: list[_Send], report: EmissionReport) -> None:
        """One batch under the declared policy: each attempt is committed to the ledger before
        it is sent, and HubSpot is searched by marker before anything is sent again."""
        assert self.gateway is not None
        by_trace = {s.entry.marker: s for s in sends}

        def record_attempt(drafts: Sequence[TaskDraft]) -> None:
            entries = [by_trace[d.trace_id].entry for d in drafts]
            for entry in entries:
                entry.attempts += 1
            with self.cache.transaction() as session:
                ledger.write_attempts(session, entries, self.clock())

        def find_created(drafts: Sequence[TaskDraft]) -> dict[str, str]:
            entries = [by_trace[d.trace_id].entry for d in drafts]
            found = self._find_by_marker(entries)  # ledger key → task id
            return {e.marker: found[e.key] for e in entries if e.key in found}

        outcome = self.gateway.create_tasks_looking_first([s.draft for s in sends], LookBeforeResend(record_attempt, find_created))
        self._opened({by_trace[t].entry.key: task_id for t, task_id in outcome.recovered.items()}, sends, report, recovered=True)
        if outcome.refused is not None:
            self._refused([by_trace[t] for t in outcome.unconfirmed], outcome.refused, report)
            return
        done = {by_trace[t].entry.key: task_id for t, task_id in outcome.result.done.items() if t in by_trace}
        self._opened(done, sends, report)
        failures = {by_trace[t].entry.key: message for t, message in outcome.result.failed.items() if t in by_trace}
        failures.update({by_trace[t].entry.key: outcome.error or "HubSpot did not confirm the task" for t in outcome.unconfirmed})
        settled = set(done) | set(failures) | {by_trace[t].entry.key for t in outcome.recovered}
        missing = [s for s in sends if s.entry.key not in settled]
        failures.update({s.entry.key: "; ".join(outcome.result.unmatched) or "HubSpot did not confirm the task" for s in missing})
        self._failed(failures)

    def _refused(self, sends: list[_Send], refusal: WriteRefusal, report: EmissionReport) -> None:
        """HubSpot refused a whole batch (400: it created nothing). A portal rule that no task
        can pass as written (a required property the worker doesn't set) stops emission at once,
        named once; an answer that names its inputs fails only those; an owner refused since the
        sync read it gives way to the fallback owner; anything else is halved until the bad input
        is alone."""
        for send in sends:
            send.entry.attempts -= 1  # HubSpot did nothing: a resend counts the attempt again
        if refusal.every_task:
            self._refuse({s.entry.key: refusal.message for s in sends})
            raise PortalRuleRefusal(refusal.every_task, refusal.message)
        named = set(refusal.inputs)
        if named and len(named) < len(sends):
            bad = [s for s in sends if s.entry.marker in named]
            if not (refusal.invalid_owner and self._to_fallback_owner(bad, report)):
                self._refuse({s.entry.key: refusal.message for s in bad})
            self._create_batch([s for s in sends if s.entry.marker not in named], report)
            return
        if len(sends) == 1:
            if refusal.invalid_owner and self._to_fallback_owner(sends, report):
                return
            self._refuse({sends[0].entry.key: refusal.message})
            log.warning("emission.task_refused", key=sends[0].entry.key, error=refusal.message)
            return
        middle = len(sends) // 2
        for half in (sends[:middle], sends[middle:]):
            self._create_batch(half, report)

    def _to_fallback_owner(self, sends: list[_Send], report: EmissionReport) -> bool:
        """HubSpot refused the owner of these tasks: deactivated or removed since the sync read
        it. As the rules do for an owner known to be gone, each goes to the fallback owner (or
        unassigned when there is none), with an owner finding; then they go out again. False
        when they already went to the fallback: the refusal is about something else."""
        fallback = self.config.fallback_owner_id or ""
        moved = [s for s in sends if (s.entry.owner_id or "") != fallback]
        if len(moved) < len(sends):
            return False
        with self.cache.transaction() as session:
            repo.open_findings(session, [owner_refused(s.reminder.object_type, s.reminder.object_id, s.entry.owner_id, fallback) for s in moved], self.clock())
        for send in moved:
            log.warning("emission.owner_refused", key=send.entry.key, owner_id=send.entry.owner_id, fallback_owner_id=fallback or None)
            send.entry.owner_id = fallback or None
            send.draft = self._draft(send.entry, send.reminder)
        self._create_batch(moved, report)
        return True

    def _refuse(self, errors: dict[str, str]) -> None:
        with self.cache.transaction() as session:
            ledger.mark_refused(session, errors, self.clock())

    def _opened(self, task_ids: dict[str, str], sends: list[_Send], report: EmissionReport, *, recovered: bool = False) -> None:
        if not task_ids:
            return
        with self.cache.transaction() as session:
            ledger.mark_open(session, task_ids, self.clock())
        for send in sends:
            if send.entry.key in task_ids:
                report.changes.append(  # list.append: one step, safe from the batches' threads
                    Change("create", send.entry.key, send.entry.subject, send.entry.owner_id, self._local(send.entry.due_at), send.entry.priority, task_id=task_ids[send.entry.key])
                )
        with self._report_lock:
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
            linked = self.gateway.batch_associations(from_type, "tasks", sorted(ids))
            task_ids.extend(a.to_id for items in linked.values() for a in items)
        by_marker: dict[str, str] = {}
        for task_id, task in sorted(self.gateway.read_tasks(sorted(set(task_ids))).items()):
            found = find_marker(task.body)
            if found:
                by_marker.setdefault(found, task_id)
        return {e.key: by_marker[e.marker] for e in entries if e.marker in by_marker}

    def _anchor(self, entry: LedgerEntry) -> tuple[str, str]:
        if entry.subscription_id:
            return self._record_type(entry.object_type), entry.subscription_id
        return "companies", entry.company_id or entry.object_id

    def _record_type(self, kind: str) -> str:
        """The HubSpot object type of a task's renewal record: a service contract's reminders
        are about a record of ``[services] object_type``; every other one with a record (the
        subscription rules, a client's contact data) about a HubSpot subscription."""
        if kind == SERVICE and self.settings.services is not None:
            return self.settings.services.object_type
        return self.settings.subscriptions.object_type

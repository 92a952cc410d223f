"""The panel's renewals, kept between runs.

A run changes a few renewals (on a quiet portal, none); the panel should not read and rebuild
10,000 of them for that. ``LiveRenewals`` holds the rows of every active renewal (as
``renewals --json`` writes them) over a ``LivePortfolio``; after a run it reads the rows the run
stamped and rebuilds the renewals they touch: a renewal changed, its company, its primary contact
(the link or the person), its owner, its open findings or its client's usage. A new day rebuilds
all of them (days left, what is still ahead). While a run is under way nothing is kept: the page
reads the cache whole, as the CLI does.

The worker's open tasks of the week are kept the same way, for as long as the ledger shows no new
write.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any, Callable

from sqlalchemy import func, select
from sqlmodel import Session

from worker.cache.models import Run, TaskLedger
from worker.cache.portfolio import Changes, LivePortfolio
from worker.reports import open_findings, renewal_order, renewal_row, renewals_data
from worker.rules import Portfolio, RuleConfig
from worker.rules.engine import is_active
from worker.rules.projection import WINDOW_DAYS as USAGE_WINDOW_DAYS
from worker.settings import Settings

RenewalKey = tuple[str, str]  # (kind, record id)


def _run_state(session: Session) -> tuple[Any, int]:
    """The newest run's id and how many runs are under way."""
    return session.execute(
        select(func.max(Run.id), func.count(Run.id).filter(Run.finished_at.is_(None)))  # type: ignore[arg-type, union-attr]
    ).one()


def touched(changes: Changes, portfolio: Portfolio, findings_changed: set[tuple[str, str]]) -> set[RenewalKey]:
    """The renewals whose row may read differently after these changes (pure)."""
    companies = set(changes.companies) | changes.primary_contacts | changes.usage
    companies |= {company_id for company_id, contact_id in portfolio.primary_contacts.items() if contact_id in changes.contacts}
    companies |= {object_id for object_type, object_id in findings_changed if object_type == "company"}
    keys = set(changes.renewals) | {(object_type, object_id) for object_type, object_id in findings_changed if object_type != "company"}
    for sub in portfolio.subscriptions:
        if sub.company_id in companies:
            keys.add((sub.kind, sub.id))
        elif changes.owners:
            company = portfolio.companies.get(sub.company_id or "")
            if (sub.owner_id or (company.owner_id if company else None)) in changes.owners:
                keys.add((sub.kind, sub.id))
    return keys


class LiveRenewals:
    """Every active renewal's row, kept up to date run by run; thread-safe (the panel's pages run
    in Starlette's thread pool)."""

    def __init__(self, settings: Settings, config: RuleConfig):
        self.settings = settings
        self.config = config
        self.portfolio = LivePortfolio(services=settings.services is not None, with_usage=settings.client_portals is not None)
        self._lock = threading.Lock()
        self._run: Any = None
        self._as_of: date | None = None
        self._findings: dict[tuple[str, str], list[str]] = {}
        self._rows: dict[RenewalKey, dict[str, Any]] = {}
        self._ordered: list[dict[str, Any]] = []
        self._tasks_key: Any = None
        self._tasks: Any = None
        self.rebuilt = 0  # rows rebuilt by the last update (the tests and the bench read it)

    def rows(self, session: Session, as_of: date, within_days: int) -> list[dict[str, Any]]:
        """The active renewals renewing by ``as_of`` + ``within_days``, soonest first."""
        last_run, running = _run_state(session)
        if running:
            return renewals_data(session, self.settings, as_of, within_days)["renewals"]
        end = as_of + timedelta(days=within_days)
        with self._lock:
            if (last_run, as_of) != (self._run, self._as_of):
                try:
                    self._update(session, as_of)
                except BaseException:
                    self._forget()  # half brought up to date: the next look reads everything
                    raise
                # A run that started while the rows were read (PostgreSQL reads each statement
                # afresh) may commit pages stamped before the newest row read: read everything
                # at the next look.
                self._run = last_run if _run_state(session) == (last_run, 0) else None
                if self._run is None:
                    self._forget()
            return [row for row in self._ordered if row["renewal_date"] <= end]

    def _forget(self) -> None:
        self.portfolio.forget()
        self._run = self._as_of = None

    def _update(self, session: Session, as_of: date) -> None:
        changes = self.portfolio.refresh(session, usage_since=as_of - timedelta(days=USAGE_WINDOW_DAYS))
        findings = open_findings(session)
        portfolio = self.portfolio.portfolio
        if changes.everything or as_of != self._as_of:
            self._rows = {
                (sub.kind, sub.id): renewal_row(sub, company, portfolio, findings, self.config, as_of)
                for sub in portfolio.subscriptions
                if is_active(sub, company := portfolio.companies.get(sub.company_id or ""), as_of, self.config)
            }
            self.rebuilt = len(self._rows)
        else:
            findings_changed = {key for key in findings.keys() | self._findings.keys() if findings.get(key) != self._findings.get(key)}
            keys = touched(changes, portfolio, findings_changed)
            for kind, record_id in keys:
                self._rows.pop((kind, record_id), None)
                sub = portfolio.subscription(record_id, kind)
                company = portfolio.companies.get(sub.company_id or "") if sub else None
                if sub is not None and is_active(sub, company, as_of, self.config):
                    self._rows[(kind, record_id)] = renewal_row(sub, company, portfolio, findings, self.config, as_of)
            self.rebuilt = len(keys)
        if self.rebuilt or as_of != self._as_of:
            self._ordered = sorted(self._rows.values(), key=renewal_order)
        self._findings, self._as_of = findings, as_of

    def tasks(self, session: Session, as_of: date, read: Callable[[Session], Any]) -> Any:
        """``read(session)`` (the week's tasks on ``as_of``), read again only after a run or a
        write to the ledger."""
        t = TaskLedger.__table__.c  # type: ignore[attr-defined]
        ledger = session.execute(select(func.count(), func.max(t.updated_at), func.max(t.read_back_at))).one()
        key = (as_of, *_run_state(session), *ledger)
        if key[2]:
            return read(session)
        with self._lock:
            if key != self._tasks_key:
                self._tasks, self._tasks_key = read(session), key
            return self._tasks


"""The cache → the rules' input rows. Plain column selects (no ORM objects): at 100,000
subscriptions the rows load in well under a second.

``load_portfolio`` reads it whole (a run's rules, the CLI's reports). ``LivePortfolio`` keeps it in
memory in a long-lived reader (the panel) and brings it up to date from the rows written since it
last looked: every writer of these tables stamps the rows it writes (``synced_at``, a link's
``checked_at``), so after a quiet run a refresh reads a handful of rows instead of all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import func, select
from sqlmodel import Session

from worker.cache import usage
from worker.cache.models import Company, Contact, Owner, PrimaryContact, RenewalRecord
from worker.cache.repo import RENEWAL_TABLES
from worker.rules import CompanyRow, ContactRow, OwnerRow, Portfolio, SubscriptionRow
from worker.rules.model import SUBSCRIPTION


def _renewals(session: Session, model: type[RenewalRecord], kind: str, since: datetime | None = None) -> dict[str, SubscriptionRow]:
    s = model.__table__.c  # type: ignore[attr-defined]
    columns = (
        s.id, s.company_id, s.owner_id, s.renewal_date, s.deadline, s.products, s.current_price, s.renewal_price,
        s.currency, s.communication_owner, s.contact_tier, s.contacts_used, s.emails_sent, s.status,
        s.discount_percent, s.discount_end_date, s.renewal_manager, s.renewal_options_url,
    )
    # Positional construction from plain tuples: a third faster than attribute access per row.
    return {
        row[0]: SubscriptionRow(*row[:18], gone=bool(row[18] or row[19] is not None), kind=kind)
        for row in session.execute(_since(select(*columns, s.archived, s.deleted_at), s.synced_at, since))
    }


def _companies(session: Session, since: datetime | None = None) -> dict[str, CompanyRow]:
    c = Company.__table__.c  # type: ignore[attr-defined]
    return {
        row.id: CompanyRow(row.id, row.name, row.owner_id, bool(row.archived or row.deleted_at is not None))
        for row in session.execute(_since(select(c.id, c.name, c.owner_id, c.archived, c.deleted_at), c.synced_at, since))
    }


def _primary_contacts(session: Session, since: datetime | None = None) -> dict[str, str | None]:
    p = PrimaryContact.__table__.c  # type: ignore[attr-defined]
    return {row.company_id: row.contact_id for row in session.execute(_since(select(p.company_id, p.contact_id), p.checked_at, since))}


def _contacts(session: Session, since: datetime | None = None, wanted: set[str] | None = None) -> dict[str, ContactRow]:
    k = Contact.__table__.c  # type: ignore[attr-defined]
    statement = select(k.id, k.email, k.email_problem, k.first_name, k.last_name, k.bounce_reason, k.opted_out, k.archived, k.deleted_at)
    return {
        row.id: ContactRow(
            row.id, row.email, row.email_problem, row.first_name, row.last_name, row.bounce_reason, row.opted_out,
            bool(row.archived or row.deleted_at is not None),
        )
        for row in session.execute(_since(statement, k.synced_at, since))
        if wanted is None or row.id in wanted
    }


def _owners(session: Session, since: datetime | None = None) -> dict[str, OwnerRow]:
    o = Owner.__table__.c  # type: ignore[attr-defined]
    return {
        row.id: OwnerRow(row.id, " ".join(part for part in (row.first_name, row.last_name) if part) or row.email or row.id, row.email, bool(row.active))
        for row in session.execute(_since(select(o.id, o.first_name, o.last_name, o.email, o.active), o.synced_at, since))
    }


def _since(statement: Any, stamp: Any, since: datetime | None) -> Any:
    return statement if since is None else statement.where(stamp > since)


def _renewal_kinds(services: bool) -> dict[str, type[RenewalRecord]]:
    return {kind: model for kind, model in RENEWAL_TABLES.items() if kind == SUBSCRIPTION or services}


def load_portfolio(session: Session, *, services: bool = True, with_usage: bool = True, usage_since: date | None = None) -> Portfolio:
    """``services``: whether ``[services]`` is configured. Service contracts cached while it was
    are not looked at once it is not (nothing syncs them any more). ``with_usage``: whether
    ``[client_portals]`` is configured (a history kept from when it was is not used);
    ``usage_since``: the first day of it the rules look at."""
    subscriptions = [row for kind, model in _renewal_kinds(services).items() for row in _renewals(session, model, kind).values()]
    primary = _primary_contacts(session)
    contacts = _contacts(session, wanted={contact_id for contact_id in primary.values() if contact_id})
    owners = _owners(session)
    history = usage.history(session, since=usage_since) if with_usage else {}
    return Portfolio(subscriptions, _companies(session), primary, contacts, owners, history)


@dataclass
class Changes:
    """What a refresh found changed: ids per table (renewals as (kind, id)); ``everything`` after
    a whole load."""

    everything: bool = False
    renewals: set[tuple[str, str]] = field(default_factory=set)
    companies: set[str] = field(default_factory=set)
    primary_contacts: set[str] = field(default_factory=set)  # company ids
    contacts: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)
    usage: set[str] = field(default_factory=set)  # company ids

    def __bool__(self) -> bool:
        return self.everything or any((self.renewals, self.companies, self.primary_contacts, self.contacts, self.owners, self.usage))


_ABSENT = object()


@dataclass
class _Table:
    """One cached table held in memory: its rows by id, and the newest stamp among them."""

    read: Callable[[Session, datetime | None], dict[str, Any]]
    model: Any
    stamp: str
    rows: dict[str, Any] = field(default_factory=dict)
    newest: datetime | None = None

    def load(self, session: Session, whole: bool) -> set[str]:
        """Read the rows stamped after the newest held (every row when ``whole``): the ids of
        those that read differently."""
        newest = session.execute(select(func.max(getattr(self.model.__table__.c, self.stamp)))).scalar()
        if whole:
            self.rows = self.read(session, None)
            self.newest = newest
            return set(self.rows)
        if newest is None or (self.newest is not None and newest <= self.newest):
            return set()
        fresh = self.read(session, self.newest)
        # Rewritten is not changed: the owners are written again on every run, for one.
        changed = {key for key, row in fresh.items() if self.rows.get(key, _ABSENT) != row}
        self.rows.update(fresh)
        self.newest = newest
        return changed

    def complete(self, session: Session) -> bool:
        """Whether the table still holds as many rows as held here (a row added or removed
        without a stamp, by a copy or by hand, shows here)."""
        return session.execute(select(func.count()).select_from(self.model)).scalar_one() == len(self.rows)


class LivePortfolio:
    """The portfolio in memory, brought up to date from the rows written since the last look.

    A refresh must not run while a run writes (its pages commit in any order, each stamped when it
    was read): the caller refreshes only when no run is under way. A whole load happens on the
    first look, when a table holds a different number of rows than is held here, and at least
    every ``reload_every_s`` (a writer on another host whose clock runs behind stamps its rows in
    the past: they are read at the next whole load).
    """

    def __init__(self, *, services: bool, with_usage: bool, reload_every_s: float = 3600.0, monotonic: Callable[[], float] = time.monotonic):
        self.with_usage = with_usage
        self.reload_every_s = reload_every_s
        self._monotonic = monotonic
        self._loaded_at: float | None = None
        self._renewals = {
            kind: _Table(lambda session, since, model=model, kind=kind: _renewals(session, model, kind, since), model, "synced_at")
            for kind, model in _renewal_kinds(services).items()
        }
        self._companies = _Table(_companies, Company, "synced_at")
        self._primary = _Table(_primary_contacts, PrimaryContact, "checked_at")
        self._contacts = _Table(_contacts, Contact, "synced_at")
        self._owners = _Table(_owners, Owner, "synced_at")
        self._usage: dict[str, Any] = {}
        self.portfolio = Portfolio([], {}, {}, {}, {}, {})

    def forget(self) -> None:
        """Read everything at the next refresh."""
        self._loaded_at = None

    def _tables(self) -> list[_Table]:
        return [*self._renewals.values(), self._companies, self._primary, self._contacts, self._owners]

    def refresh(self, session: Session, usage_since: date | None = None) -> Changes:
        """Bring the portfolio up to date; what changed since the last refresh."""
        whole = (
            self._loaded_at is None
            or self._monotonic() - self._loaded_at >= self.reload_every_s
            or not all(table.complete(session) for table in self._tables())
        )
        if whole:
            self._loaded_at = self._monotonic()
        changes = Changes(everything=whole)
        for kind, table in self._renewals.items():
            changes.renewals |= {(kind, record_id) for record_id in table.load(session, whole)}
        changes.companies = self._companies.load(session, whole)
        changes.primary_contacts = self._primary.load(session, whole)
        changes.contacts = self._contacts.load(session, whole)
        changes.owners = self._owners.load(session, whole)
        if self.with_usage:
            history = usage.history(session, since=usage_since)
            changes.usage = {key for key in history.keys() | self._usage.keys() if history.get(key) != self._usage.get(key)}
            self._usage = history
        if changes:
            subscriptions = [row for table in self._renewals.values() for row in table.rows.values()]
            self.portfolio = Portfolio(subscriptions, self._companies.rows, self._primary.rows, self._contacts.rows, self._owners.rows, self._usage)
        return changes

"""The tier usage history (``tier_usage``): what each client's own portal counted, one row per
client per day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Iterable, Sequence

from sqlalchemy import delete, select
from sqlmodel import Session

from worker.batching import chunks
from worker.cache.db import dialect_insert
from worker.cache.models import TierUsage
from worker.rules.model import UsagePoint


def record(session: Session, company_id: str, portal_id: str, points: Iterable[UsagePoint], now: datetime) -> None:
    """Store a client's points; a day already held is replaced only by a reading that is at least
    as good (an estimate never overwrites a measurement)."""
    rows = [
        {
            "company_id": company_id, "measured_on": point.measured_on, "portal_id": portal_id, "source": point.source,
            "contacts": point.contacts, "marketing_contacts": point.marketing_contacts,
            "emails_sent_month": point.emails_sent_month, "measured_at": now,
        }
        for point in points
    ]
    table = TierUsage.__table__  # type: ignore[attr-defined]
    for chunk in chunks(rows, 500):
        for row in chunk:
            insert = dialect_insert(session, table).values(row)
            if row["source"] == "measured":
                insert = insert.on_conflict_do_update(
                    index_elements=["company_id", "measured_on"],
                    set_={key: insert.excluded[key] for key in ("portal_id", "source", "contacts", "marketing_contacts", "emails_sent_month", "measured_at")},
                )
            else:
                insert = insert.on_conflict_do_nothing(index_elements=["company_id", "measured_on"])
            session.execute(insert)


def prune(session: Session, before: date) -> None:
    session.execute(delete(TierUsage).where(TierUsage.measured_on < before))  # type: ignore[arg-type]


def history(session: Session, company_id: str | None = None, *, since: date | None = None) -> dict[str, tuple[UsagePoint, ...]]:
    """Every client's points (or one client's), oldest first; from ``since`` when given (a run's
    rules need the last months, not 400 days of every client)."""
    t = TierUsage.__table__.c  # type: ignore[attr-defined]
    found: dict[str, list[UsagePoint]] = defaultdict(list)
    query = select(t.company_id, t.measured_on, t.marketing_contacts, t.contacts, t.emails_sent_month, t.source).order_by(t.company_id, t.measured_on)
    if company_id is not None:
        query = query.where(t.company_id == company_id)
    if since is not None:
        query = query.where(t.measured_on >= since)
    for row in session.execute(query):
        found[row.company_id].append(UsagePoint(row.measured_on, row.marketing_contacts, row.contacts, row.emails_sent_month, row.source))
    return {company_id: tuple(points) for company_id, points in found.items()}


def known_clients(session: Session) -> set[str]:
    """The clients with any reading (a first reading adds estimates; later ones do not)."""
    t = TierUsage.__table__.c  # type: ignore[attr-defined]
    return {row.company_id for row in session.execute(select(t.company_id).distinct())}


def measured_on(session: Session, day: date, company_ids: Sequence[str]) -> set[str]:
    """Of ``company_ids``, those whose portal was read on ``day``."""
    t = TierUsage.__table__.c  # type: ignore[attr-defined]
    found: set[str] = set()
    for chunk in chunks(list(company_ids), 500):
        query = select(t.company_id).where(t.measured_on == day, t.source == "measured", t.company_id.in_(chunk))
        found.update(row.company_id for row in session.execute(query))
    return found

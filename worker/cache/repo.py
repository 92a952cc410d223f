"""Writes and reads the sync needs, each inside the caller's transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, case, func, or_, select, union, update
from sqlmodel import Session, SQLModel

from worker.batching import chunks
from worker.cache.db import dialect_insert
from worker.cache.models import (
    Company,
    Contact,
    Finding,
    Owner,
    PrimaryContact,
    RenewalRecord,
    ServiceContract,
    Subscription,
    SyncState,
    TaskLedger,
)

# Each kind of renewal (the names reminder keys, ledger rows and findings use) and its table.
RENEWAL_TABLES: dict[str, type[RenewalRecord]] = {"subscription": Subscription, "service": ServiceContract}
from worker.sync.normalize import DataProblem


def load_state(session: Session, stream: str) -> SyncState:
    state = session.get(SyncState, stream)
    if state is None:
        # ON CONFLICT: two processes starting on a new database both create the row.
        table = SyncState.__table__  # type: ignore[attr-defined]
        session.exec(dialect_insert(session, table).values(stream=stream, generation=0).on_conflict_do_nothing(index_elements=["stream"]))  # type: ignore[call-overload]
        state = session.get(SyncState, stream)
        assert state is not None
    return state


def save_state(session: Session, stream: str, now: datetime, **changes: Any) -> None:
    state = load_state(session, stream)
    for key, value in changes.items():
        setattr(state, key, value)
    state.updated_at = now
    session.add(state)


def record_findings(
    session: Session,
    *,
    object_type: str,
    object_ids: Sequence[str],
    problems: Iterable[tuple[str, DataProblem]],
    rule_prefix: str,
    now: datetime,
) -> None:
    """Open or refresh the findings seen now for these records; resolve the ones that went away.

    Every finding written here gets ``last_seen_at = now``; any other unresolved finding in scope
    (these records, rules under ``rule_prefix``) was not seen this time, so it is resolved.
    """
    _upsert_findings(
        session,
        [(problem.rule, object_type, object_id, problem.field, problem.value, problem.message) for object_id, problem in problems],
        now,
    )
    if object_ids:
        _resolve_unseen(
            session, now,
            Finding.object_type == object_type,
            Finding.object_id.in_(list(object_ids)),  # type: ignore[attr-defined]
            Finding.rule.startswith(rule_prefix),  # type: ignore[attr-defined]
        )


def replace_rule_findings(
    session: Session, findings: Iterable[Any], *, prefixes: Sequence[str], now: datetime
) -> None:
    """The rule engine sees the whole portfolio each run: its findings are the complete set under
    ``prefixes``, so every other unresolved finding under them resolves now."""
    _upsert_findings(session, [(f.rule, f.object_type, f.object_id, f.field, f.value, f.message) for f in findings], now)
    _resolve_unseen(session, now, or_(*(Finding.rule.startswith(prefix) for prefix in prefixes)))  # type: ignore[attr-defined]


def replace_findings_of(
    session: Session, findings: Iterable[Any], *, prefix: str, object_ids: Sequence[str], now: datetime, keep: str = "",
) -> None:
    """Findings under ``prefix`` about the records in ``object_ids`` only (a pass over some of
    them): each such record's other open findings under ``prefix`` resolve now; ``keep`` names a
    rule this pass does not judge."""
    _upsert_findings(session, [(f.rule, f.object_type, f.object_id, f.field, f.value, f.message) for f in findings], now)
    for chunk in chunks(list(object_ids), 500):
        _resolve_unseen(session, now, Finding.rule.startswith(prefix), Finding.rule != keep, Finding.object_id.in_(chunk))  # type: ignore[attr-defined]


def open_findings(session: Session, findings: Iterable[Any], now: datetime) -> None:
    """Open or refresh findings met outside a whole pass (emission learning that HubSpot refused
    an owner): nothing else is resolved."""
    _upsert_findings(session, [(f.rule, f.object_type, f.object_id, f.field, f.value, f.message) for f in findings], now)


def _resolve_unseen(session: Session, now: datetime, *scope: Any) -> None:
    """Open findings within ``scope`` that were not seen ``now`` are resolved ``now``."""
    session.exec(  # type: ignore[call-overload]
        update(Finding)
        .where(*scope, Finding.resolved_at.is_(None), Finding.last_seen_at != now)  # type: ignore[union-attr]
        .values(resolved_at=now)
    )


def _upsert_findings(session: Session, items: Sequence[tuple[str, str, str, str, str | None, str]], now: datetime) -> None:
    """Open or refresh findings (rule, object type, object id, field, value, message), seen ``now``."""
    rows = {
        (rule, object_type, object_id, field): {
            "rule": rule, "object_type": object_type, "object_id": object_id, "field": field, "value": value,
            "message": message, "first_seen_at": now, "last_seen_at": now, "resolved_at": None,
        }
        for rule, object_type, object_id, field, value, message in items
    }
    table = Finding.__table__  # type: ignore[attr-defined]
    for chunk in chunks(list(rows.values()), 1000):
        insert = dialect_insert(session, table).values(list(chunk))
        excluded = insert.excluded
        insert = insert.on_conflict_do_update(
            index_elements=["rule", "object_type", "object_id", "field"],
            set_={
                "value": excluded.value,
                "message": excluded.message,
                "last_seen_at": excluded.last_seen_at,
                # A finding that comes back after being resolved is a new occurrence.
                "first_seen_at": case((table.c.resolved_at.is_not(None), excluded.first_seen_at), else_=table.c.first_seen_at),
                "resolved_at": None,
            },
        )
        session.exec(insert)  # type: ignore[call-overload]


def unseen_ids(session: Session, model: type[SQLModel], generation: int, *, limit: int | None = None) -> list[str]:
    """Rows a full pass of ``generation`` saw neither active nor archived (not yet deleted)."""
    statement = select(model.id).where(model.seen_generation < generation, model.deleted_at.is_(None))  # type: ignore[attr-defined]
    return list(session.exec(statement.limit(limit)).scalars())  # type: ignore[call-overload]


def listed_active_ids(session: Session, model: type[SQLModel], generation: int, *, after: str | None, limit: int) -> list[str]:
    """The next ``limit`` ids (in id order, after ``after``) a full pass of ``generation``
    listed as active."""
    statement = select(model.id).where(model.seen_generation == generation, model.archived.is_(False))  # type: ignore[attr-defined]
    if after is not None:
        statement = statement.where(model.id > after)  # type: ignore[attr-defined]
    return list(session.exec(statement.order_by(model.id).limit(limit)).scalars())  # type: ignore[call-overload, attr-defined]


def held_count(session: Session, model: type[SQLModel]) -> int:
    """Rows the cache holds as not deleted (active or archived)."""
    return session.exec(select(func.count()).where(model.deleted_at.is_(None))).scalar_one()  # type: ignore[call-overload, attr-defined]


def seen_active_count(session: Session, model: type[SQLModel], generation: int) -> int:
    """Active rows a full pass of ``generation`` listed."""
    return session.exec(  # type: ignore[call-overload]
        select(func.count()).where(model.seen_generation == generation, model.archived.is_(False))  # type: ignore[attr-defined]
    ).scalar_one()


def mark_deleted(session: Session, model: type[SQLModel], ids: Sequence[str], now: datetime) -> None:
    values: dict[str, Any] = {"deleted_at": now, "synced_at": now}  # stamped: the panel's live portfolio reads what changed
    values.update({"active": False} if model is Owner else {"archived": True})
    for chunk in chunks(list(ids), 500):
        session.exec(update(model).where(model.id.in_(chunk)).values(**values))  # type: ignore[attr-defined, call-overload]


def mark_unseen_deleted(session: Session, model: type[SQLModel], generation: int, now: datetime) -> list[str]:
    """After a complete full pass: rows HubSpot listed neither as active nor as archived are gone."""
    ids = unseen_ids(session, model, generation)
    mark_deleted(session, model, ids, now)
    return ids


def primary_contacts_of(session: Session, company_ids: Sequence[str]) -> dict[str, str | None]:
    """The primary contact the cache holds for each of these companies (those it has read)."""
    found: dict[str, str | None] = {}
    for chunk in chunks(list(company_ids), 1000):
        rows = session.execute(select(PrimaryContact.company_id, PrimaryContact.contact_id).where(PrimaryContact.company_id.in_(chunk)))  # type: ignore[attr-defined]
        found.update({company_id: contact_id for company_id, contact_id in rows})
    return found


def owners_in_use(session: Session) -> set[str]:
    """Active owners who hold a live company or renewal record: whose tasks an owners answer could
    take away."""
    holders = [
        select(model.owner_id).where(model.deleted_at.is_(None), model.owner_id.is_not(None))  # type: ignore[attr-defined]
        for model in (Company, Subscription, ServiceContract)
    ]
    held = set(session.execute(union(*holders)).scalars())
    if not held:
        return set()
    active = select(Owner.id).where(Owner.id.in_(list(held)), Owner.active.is_(True), Owner.deleted_at.is_(None))  # type: ignore[attr-defined]
    return set(session.execute(active).scalars())


def known_contact_ids(session: Session, ids: Sequence[str]) -> set[str]:
    return known_ids(session, Contact, ids)


def known_ids(session: Session, model: type[SQLModel], ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` the cache holds rows for (whatever their state)."""
    if not ids:
        return set()
    return set(session.exec(select(model.id).where(model.id.in_(list(ids)))).scalars())  # type: ignore[call-overload, attr-defined]


def cached_companies_of(session: Session, model: type[RenewalRecord], record_ids: Sequence[str]) -> dict[str, str]:
    """Renewal record id → its company, for the records of ``model`` the cache holds with one."""
    if not record_ids:
        return {}
    statement = select(model.id, model.company_id).where(
        model.id.in_(list(record_ids)), model.company_id.is_not(None)  # type: ignore[attr-defined, union-attr]
    )
    return {record_id: company_id for record_id, company_id in session.exec(statement).all()}  # type: ignore[call-overload]


def companies_with_renewals_between(session: Session, start: date, end: date) -> list[str]:
    """Companies with a renewal of either kind between ``start`` and ``end``."""
    found: set[str] = set()
    for model in RENEWAL_TABLES.values():
        statement = select(model.company_id).where(
            model.company_id.is_not(None),  # type: ignore[union-attr]
            model.archived.is_(False),  # type: ignore[attr-defined]
            model.renewal_date.between(start, end),  # type: ignore[union-attr]
        ).distinct()
        found.update(row for row in session.exec(statement).scalars() if row)  # type: ignore[call-overload]
    return sorted(found)


def renewals_between(session: Session, model: type[RenewalRecord], start: date, end: date) -> list[str]:
    statement = (
        select(model.id)
        .where(model.archived.is_(False), model.renewal_date.between(start, end))  # type: ignore[attr-defined, union-attr]
        .order_by(model.id)
    )
    return list(session.exec(statement).scalars())  # type: ignore[call-overload]


def cache_counts(session: Session) -> dict[str, dict[str, int]]:
    """Active / archived / deleted per table, for ``status``."""
    counts: dict[str, dict[str, int]] = {}
    for name, model in (("companies", Company), ("contacts", Contact), ("subscriptions", Subscription), ("service_contracts", ServiceContract)):
        rows = session.exec(  # type: ignore[call-overload]
            select(
                func.count().filter(and_(model.archived.is_(False))),  # type: ignore[attr-defined]
                func.count().filter(and_(model.archived.is_(True), model.deleted_at.is_(None))),  # type: ignore[attr-defined]
                func.count().filter(model.deleted_at.is_not(None)),  # type: ignore[attr-defined]
            )
        ).one()
        counts[name] = {"active": rows[0], "archived": rows[1], "deleted": rows[2]}
    owner_row = session.exec(  # type: ignore[call-overload]
        select(
            func.count().filter(Owner.active.is_(True)),  # type: ignore[attr-defined]
            func.count().filter(or_(Owner.active.is_(False))),  # type: ignore[attr-defined]
        )
    ).one()
    counts["owners"] = {"active": owner_row[0], "deactivated": owner_row[1]}
    links = session.exec(  # type: ignore[call-overload]
        select(func.count(), func.count(PrimaryContact.contact_id))
    ).one()
    counts["primary_contacts"] = {"companies_checked": links[0], "with_contact": links[1]}
    counts["tasks"] = {
        state: n
        for state, n in session.exec(select(TaskLedger.state, func.count()).group_by(TaskLedger.state))  # type: ignore[call-overload]
    }
    counts["open_findings"] = {
        "total": session.exec(select(func.count()).where(Finding.resolved_at.is_(None))).scalar_one()  # type: ignore[call-overload, union-attr]
    }
    return counts


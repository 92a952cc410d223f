"""``findings``: what the worker found wrong in the data, as ``--json`` and for people."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import select
from sqlmodel import Session

from worker.batching import chunks
from worker.cache.models import Company, Finding
from worker.cache.repo import RENEWAL_TABLES
from worker import words
from worker.labels import labels, rule_name
from worker.reports.table import short_day, table
from worker.reports.names import names


def findings_data(session: Session, *, include_resolved: bool = False) -> dict[str, Any]:
    statement = select(Finding).order_by(Finding.rule, Finding.object_type, Finding.object_id)  # type: ignore[arg-type]
    if not include_resolved:
        statement = statement.where(Finding.resolved_at.is_(None))  # type: ignore[union-attr]
    items = [
        {
            "rule": f.rule, "object_type": f.object_type, "object_id": f.object_id, "field": f.field, "value": f.value,
            "message": f.message, "first_seen_at": f.first_seen_at, "last_seen_at": f.last_seen_at, "resolved_at": f.resolved_at,
        }
        for (f,) in session.execute(statement)
    ]
    # New: the client each finding is about, by name (null for settings, sync and owners).
    clients = _clients_of(session, items)
    for item in items:
        item["client"] = clients.get((item["object_type"], item["object_id"]))
    return {"findings": items, "open": sum(1 for f in items if f["resolved_at"] is None)}


def _clients_of(session: Session, items: Sequence[dict[str, Any]]) -> dict[tuple[str, str], str | None]:
    """(object type, id) → the name of the client company it belongs to."""
    return {key: name for key, (_, name) in client_companies(session, items).items()}


def client_companies(session: Session, items: Sequence[Any]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(object type, id) of findings (dicts or rows) → (company id, name) of the client company
    each belongs to: the company itself, or a renewal record's company."""
    pairs = [(i["object_type"], i["object_id"]) if isinstance(i, dict) else (i.object_type, i.object_id) for i in items]
    company_of: dict[tuple[str, str], str] = {}
    for kind, model in RENEWAL_TABLES.items():
        ids = sorted({object_id for object_type, object_id in pairs if object_type == kind})
        for chunk in chunks(ids, 1000):
            rows = session.execute(select(model.id, model.company_id).where(model.id.in_(chunk), model.company_id.is_not(None)))  # type: ignore[attr-defined, union-attr]
            company_of.update({(kind, record_id): company_id for record_id, company_id in rows})
    company_of.update({("company", object_id): object_id for object_type, object_id in pairs if object_type == "company"})
    found = names(session, Company, set(company_of.values()))
    return {key: (company_id, found.get(company_id)) for key, company_id in company_of.items()}


def render_findings(data: dict[str, Any], language: str = "en") -> str:
    """Open findings for people: the rule by name, the client by name beside the record, and the
    whole message (wrapped, never cut)."""
    w = labels(language)
    rows = [
        [rule_name(f["rule"], language), (f"{f['client']} · " if f.get("client") else "") + f"{f['object_type']} {f['object_id']}", f["value"] or "", f["message"],
         short_day(f["first_seen_at"], language), w["resolved"] if f["resolved_at"] else w["open"]]
        for f in data["findings"]
    ]
    title = w["findings_title"].format(count=words.number(data["open"], language))
    return title + "\n" + table([w[key] for key in ("rule", "record", "value", "what", "since", "state")], rows, widths={1: 40, 2: 30}, wrap={3: 60})

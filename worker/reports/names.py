"""Names for the ids the reports show: companies (clients) and owners, from the cache."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from worker.batching import chunks
from worker.cache.models import Company


def full_name(first: str | None, last: str | None, email: str | None) -> str | None:
    """A person (an owner) as the reports show them: first and last name, else the email."""
    return " ".join(part for part in (first, last) if part) or email or None


def names(session: Session, model: Any, ids: set[str | None]) -> dict[str, str]:
    """id → name of these companies or owners (an owner's first and last name, else the email)."""
    found: dict[str, str] = {}
    t = model.__table__.c
    columns = (t.id, t.name) if model is Company else (t.id, t.first_name, t.last_name, t.email)
    for chunk in chunks(sorted(i for i in ids if i), 1000):
        for row in session.execute(select(*columns).where(t.id.in_(chunk))):
            name = row.name if model is Company else full_name(row.first_name, row.last_name, row.email)
            if name:
                found[row.id] = name
    return found

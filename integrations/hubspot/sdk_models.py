"""SDK model objects → our frozen types. Only the gateway and its write mixin call these."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from integrations.hubspot.types import CrmRecord


def record_from_sdk(item: Any) -> CrmRecord:
    return CrmRecord(
        id=str(item.id),
        properties=dict(item.properties or {}),
        created_at=utc(item.created_at),
        updated_at=utc(item.updated_at),
        archived=bool(item.archived),
        archived_at=utc(item.archived_at),
    )


def utc(moment: datetime | None) -> datetime | None:
    """The SDK parses timestamps with dateutil into local-zone datetimes; we keep UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def next_after(paging: Any) -> str | None:
    if paging is None or getattr(paging, "next", None) is None:
        return None
    return paging.next.after or None

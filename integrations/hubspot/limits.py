"""HubSpot's per-call maxima, in one place. Callers hand the gateway any number of ids; the
gateway splits them here."""

from __future__ import annotations

from typing import Sequence, TypeVar

T = TypeVar("T")

# Objects batch read, create and update: 100 inputs (HubSpot's CRM objects API reference).
MAX_BATCH = 100
MAX_BATCH_WRITE = MAX_BATCH
# Associations batch read: 1,000 inputs since 2025-02-10 (HubSpot developer changelog, "Bug Fix:
# Batch Read Limit for HubSpot Associations API": v3 and v4 alike, every tier).
MAX_ASSOCIATION_BATCH = 1000


def batches(items: Sequence[T], size: int = MAX_BATCH) -> list[list[T]]:
    """Consecutive slices of at most ``size`` items."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]

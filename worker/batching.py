"""Split a list into HubSpot-sized (or statement-sized) batches."""

from __future__ import annotations

from typing import Sequence, TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Consecutive slices of at most ``size`` items (``itertools.batched`` arrives in 3.12)."""
    return [items[start : start + size] for start in range(0, len(items), size)]

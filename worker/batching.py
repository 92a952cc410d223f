"""Split a list into statement-sized batches, and take turns through a long one."""

from __future__ import annotations

import bisect
from typing import Sequence, TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Consecutive slices of at most ``size`` items (``itertools.batched`` arrives in 3.12)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def next_turn(ids: Sequence[str], after: str | None, size: int) -> tuple[list[str], str | None]:
    """One turn of a rotation through ``ids``: the next ``size`` of them in sorted order after
    ``after``, wrapping around, and where the following turn starts (None when one turn takes
    them all). Every id comes up once every ⌈len(ids)/size⌉ turns, whatever joins or leaves."""
    ordered = sorted(set(ids))
    if len(ordered) <= size:
        return ordered, None
    start = bisect.bisect_right(ordered, after) if after is not None else 0
    chosen = (ordered[start:] + ordered[:start])[:size]
    return chosen, chosen[-1]

"""When a reconcile may conclude that records are gone: pure decisions, no I/O.

A full pass that ends early without any call failing (a proxy's well-formed ``{"results": []}``)
would otherwise mark the rest of the portal deleted and complete its tasks. The sync asks these
two questions before it removes anything.
"""

from __future__ import annotations


def exceeds_share(would_remove: int, held: int, max_share: float) -> bool:
    """More than ``max_share`` of what the cache holds would be removed."""
    return would_remove > 0 and would_remove > held * max_share


def counts_agree(listed: int, counted: int) -> bool:
    """A pass's own count of active records against HubSpot's total: records created or deleted
    while the pass paged (and the search index's lag) move them apart a little, never a lot."""
    return abs(listed - counted) <= max(2, counted // 100)

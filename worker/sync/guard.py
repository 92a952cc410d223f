"""When a reconcile may conclude that records are gone: pure decisions, no I/O.

A full pass that ends early without any call failing (a proxy's well-formed ``{"results": []}``)
would otherwise mark the rest of the portal deleted and complete its tasks. The sync asks these
two questions before it removes anything.
"""

from __future__ import annotations

from worker.errors import FixTheData


class ImplausibleAnswer(FixTheData):
    """A well-formed answer that would take work away from people (owners, records, links), and
    that its cross-check does not bear out: nothing was changed, the run fails (exit 1) with one
    line saying what was refused, and the next run asks again."""


class ReconcileRefused(ImplausibleAnswer):
    """A full pass would have removed more than the configured share of the cache while its own
    count disagrees with HubSpot's: nothing was removed, the run fails (exit 1)."""


def exceeds_share(would_remove: int, held: int, max_share: float) -> bool:
    """More than ``max_share`` of what the cache holds would be removed."""
    return would_remove > 0 and would_remove > held * max_share


def drops_the_owners_in_use(in_use: set[str], kept: set[str], max_share: float) -> bool:
    """An owners answer that keeps (``kept``) none of the owners who hold the portal's records,
    or loses more than ``max_share`` of them at once: an API hiccup, a proxy's cached page, an
    empty list, far more often than a reorganisation done in a day."""
    lost = in_use - kept
    return bool(in_use) and (lost == in_use or exceeds_share(len(lost), len(in_use), max_share))


# A re-check turn may change this many links whatever its share: a handful of real moves in a
# small portal is ordinary.
LINK_CHANGES_ALWAYS_ALLOWED = 5


def too_many_link_changes(changed: int, checked: int, max_share: float) -> bool:
    """An associations answer that moves, unlinks or re-points more than ``max_share`` of the
    links it re-checks at once (beyond a handful): a partial or stale answer, far more often than
    a day's real work."""
    return changed > LINK_CHANGES_ALWAYS_ALLOWED and exceeds_share(changed, checked, max_share)


def counts_agree(listed: int, counted: int) -> bool:
    """A pass's own count of active records against HubSpot's total: records created or deleted
    while the pass paged (and the search index's lag) move them apart a little, never a lot."""
    return abs(listed - counted) <= max(2, counted // 100)

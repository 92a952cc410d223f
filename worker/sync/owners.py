"""Owners: HubSpot → cache. Few (one per partner employee), read whole every run.

A full sync reads both of HubSpot's lists (active and archived): an owner in neither is gone. An
incremental run reads the active list alone (one call) and takes an owner it no longer lists as
deactivated: for the rules the two are the same (the task goes to the fallback owner), and the
next full sync tells them apart.

Either way, when more than ``[sync] max_delete_share`` of the cached owners would stop being
usable, the lists are read once more and an owner seen in either reading stays: the owners API
has no count to check against, and one early well-formed end of a list must not hand every
owner's tasks to the fallback owner. When the second reading bears the first out and all of the owners who
hold the portal's companies and renewals are missing from it, or more than
``[sync] max_owner_loss_share`` of them, the answer is refused (``ImplausibleAnswer``): nothing
changes, the run fails with one line, and the next run asks again. The second reading takes both
lists, so that an owner HubSpot lists as archived counts as deactivated (a fact), and only owners
that no list shows any more count against the guard.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Callable

from sqlmodel import select, update

from integrations.hubspot.gateway import HubSpotGateway
from worker.cache import repo
from worker.cache.db import Cache, upsert
from worker.cache.models import Owner
from worker.sync.normalize import DataProblem, owner_row
from worker.sync.guard import ImplausibleAnswer, drops_the_owners_in_use, exceeds_share

OWNERS = "owners"


def sync_owners(
    gateway: HubSpotGateway, cache: Cache, *, both_lists: bool, max_delete_share: float, max_owner_loss_share: float,
    now: Callable[[], datetime], counts: Counter,
) -> None:
    rows = _list(gateway, both_lists)
    with cache.transaction() as session:
        usable = Owner.deleted_at.is_(None) if both_lists else (Owner.deleted_at.is_(None) & Owner.active.is_(True))  # type: ignore[union-attr, attr-defined]
        cached = set(session.exec(select(Owner.id).where(usable)))
        in_use = repo.owners_in_use(session)

    def active() -> set[str]:
        return {owner_id for owner_id, row in rows.items() if row["active"]}

    if exceeds_share(len(cached - set(rows)), len(cached), max_delete_share) or drops_the_owners_in_use(in_use, active(), max_owner_loss_share):
        # Read again, both lists: an owner HubSpot lists as archived really was deactivated;
        # only one that no list shows any more is inferred gone.
        for owner_id, row in _list(gateway, both_lists=True).items():
            rows.setdefault(owner_id, row)
        if drops_the_owners_in_use(in_use, set(rows), max_owner_loss_share):
            _refuse(cache, len(in_use - set(rows)), len(in_use), now())
    moment = now()
    with cache.transaction() as session:
        # An answer that passed resolves an earlier refusal's finding.
        repo.record_findings(session, object_type="sync", object_ids=[OWNERS], problems=[], rule_prefix="sync.owners", now=moment)
        state = repo.load_state(session, OWNERS)
        generation = state.generation + 1 if both_lists else state.generation
        upsert(session, Owner, [{**row, "seen_generation": generation, "synced_at": moment} for row in rows.values()])
        if both_lists:
            gone = repo.mark_unseen_deleted(session, Owner, generation, moment)
            repo.save_state(session, OWNERS, moment, generation=generation, watermark=moment, full_completed_at=moment)
        else:
            gone = sorted(cached - set(rows))
            if gone:
                session.exec(update(Owner).where(Owner.id.in_(gone)).values(active=False, synced_at=moment))  # type: ignore[attr-defined, call-overload]
            repo.save_state(session, OWNERS, moment, watermark=moment)
    counts["owners"] += len(rows)
    counts["owners_deleted" if both_lists else "owners_deactivated"] += len(gone)


def _refuse(cache: Cache, lost: int, in_use: int, moment: datetime) -> None:
    message = (
        f"HubSpot's owners answer (read twice) no longer lists {lost} of the {in_use} owners who hold the portal's companies "
        "and renewals, neither active nor archived; taking them as gone would hand their tasks to the fallback owner: nothing was changed. If HubSpot's "
        "answer was wrong the next run sets it right; if they really left, raise [sync] max_owner_loss_share"
    )
    with cache.transaction() as session:
        problem = DataProblem("sync.owners_refused", "owners", f"{lost} of {in_use}", message)
        repo.record_findings(session, object_type="sync", object_ids=[OWNERS], problems=[(OWNERS, problem)], rule_prefix="sync.owners", now=moment)
    raise ImplausibleAnswer(message)


def _list(gateway: HubSpotGateway, both_lists: bool) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for archived in (False, True) if both_lists else (False,):
        after = None
        while True:
            page = gateway.list_owners(after=after, archived=archived)
            for owner in page.owners:
                rows.setdefault(owner.id, owner_row(owner))
            after = page.next_after
            if not after:
                break
    return rows

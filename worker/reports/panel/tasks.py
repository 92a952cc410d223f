"""The tasks page (``GET /tasks``): the worker's tasks in HubSpot, filtered by state (open, waiting
to be created, done by people, closed by the worker) and by owner, soonest due first, 200 a page."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from worker.cache.models import HubSpotAccount
from worker.reports import tasks_data

PAGE_SIZE = 200
# The page's state filter: a person's view of the ledger's states.
STATE_GROUPS = {
    "open": ("open",),
    "pending": ("pending",),
    "people": ("completed_in_hubspot", "dismissed"),
    "closed": ("closed",),
}


def tasks_page(session: Session, state: str = "", owner: str = "", page: int = 1, size: int = PAGE_SIZE) -> dict[str, Any]:
    from worker.reports.panel.views import page_of, record_url

    state = state if state in STATE_GROUPS else ""
    every = tasks_data(session, states=STATE_GROUPS[state] if state else None)["tasks"]
    owners = sorted(
        {(t["hubspot_owner_id"] or t["owner_id"], t["owner"] or t["hubspot_owner_id"] or t["owner_id"]) for t in every if t["hubspot_owner_id"] or t["owner_id"]},
        key=lambda person: (person[1] or "").casefold(),
    )
    chosen = [t for t in every if not owner or (t["hubspot_owner_id"] or t["owner_id"]) == owner]
    shown, page, pages = page_of(chosen, page, size)
    account = session.get(HubSpotAccount, 1)
    # A task a person deleted is gone from HubSpot: no link to it.
    links = {t["key"]: record_url(account, "tasks", t["task_id"]) for t in shown if t["state"] != "dismissed"}
    return {"tasks": shown, "links": links, "owners": owners, "state": state, "owner": owner, "total": len(chosen), "page": page, "pages": pages}

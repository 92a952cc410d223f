"""Checks shared by the emission tests: what HubSpot holds against what the ledger says."""

from __future__ import annotations

from collections import Counter
from sqlmodel import select

from integrations.hubspot.sandbox import SandboxPortal
from worker.cache.db import Cache
from worker.cache.models import TaskLedger
from worker.tasks.texts import find_marker


def portal_tasks(portal: SandboxPortal) -> dict[str, dict]:
    """marker → task properties (plus its id), for every task in the portal."""
    with portal.lock:
        tasks = list(portal.table("tasks").values())
    found: dict[str, dict] = {}
    counts = Counter(find_marker(t.properties.get("hs_task_body")) for t in tasks)
    duplicates = {marker: n for marker, n in counts.items() if n > 1}
    assert not duplicates, f"tasks created more than once: {duplicates}"
    for task in tasks:
        found[find_marker(task.properties.get("hs_task_body")) or f"foreign-{task.id}"] = {**task.properties, "id": str(task.id)}
    return found


def ledger_rows(cache: Cache) -> list[TaskLedger]:
    with cache.transaction() as session:
        return list(session.exec(select(TaskLedger)).all())


def assert_exactly_once(portal: SandboxPortal, cache: Cache) -> dict[str, dict]:
    """Each task once in HubSpot; the ledger holds each with its id; nothing left pending."""
    tasks = portal_tasks(portal)
    rows = ledger_rows(cache)
    assert [r.key for r in rows if r.state == "pending"] == []
    for row in rows:
        if row.state == "open":
            assert row.marker in tasks, f"{row.key}: the ledger says open but HubSpot has no such task"
            assert tasks[row.marker]["id"] == row.task_id
    ours = {r.marker for r in rows}
    assert set(tasks) - ours == {m for m in tasks if m.startswith("foreign-")}, "a task in HubSpot the ledger does not know"
    return tasks


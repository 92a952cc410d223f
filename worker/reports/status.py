"""Reports for people, read from the cache: ``status`` (and, next, ``renewals`` and ``findings``)."""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlmodel import select

from worker.cache import repo
from worker.cache.db import Cache
from worker.cache.models import Run, SyncState
from worker import words
from worker.labels import labels
from worker.safe_text import for_terminal


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def shown_outcome(run: Run, *, host: str | None = None, alive: Callable[[int], bool] = process_alive) -> str:
    """A run still "running" whose process is gone from this host was interrupted (kill -9, a
    power cut): it never will finish. On another host we cannot tell, so it stays "running"."""
    if run.outcome != "running" or run.pid is None or run.host != (host or socket.gethostname()[:255]):
        return run.outcome
    return run.outcome if alive(run.pid) else "interrupted"


def status_data(database_url: str, *, last_runs: int = 5) -> dict[str, Any]:
    """The ``status --json`` document: stable keys, documented in the README."""
    cache = Cache.existing(database_url)
    try:
        with cache.transaction() as session:
            runs = session.exec(select(Run).order_by(Run.id.desc()).limit(last_runs)).all()  # type: ignore[union-attr]
            states = session.exec(select(SyncState).order_by(SyncState.stream)).all()
            counts = repo.cache_counts(session)
        return {
            "runs": [
                {
                    "id": run.id,
                    "kind": run.kind,
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "outcome": shown_outcome(run),
                    "error": run.error,
                    "api_calls": run.api_calls,
                    "rate_limited": run.rate_limited,
                    "counts": run.counts,
                }
                for run in runs
            ],
            "streams": {
                state.stream: {
                    "watermark": state.watermark,
                    "full_completed_at": state.full_completed_at,
                    "in_progress": state.phase,
                    "generation": state.generation,
                }
                for state in states
            },
            "cache": counts,
        }
    finally:
        cache.close()


def _when(value: datetime | None, w: Mapping[str, Any]) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else w["never"]


def render_status(data: dict[str, Any], language: str = "en") -> str:
    """``status`` for people, in the configured language (table and stream names stay the
    identifiers ``--json`` uses)."""
    w = labels(language)
    lines = [w["status_cache"]]
    for table, numbers in data["cache"].items():
        shown = ", ".join(f"{key.replace('_', ' ')} {words.number(value, language)}" for key, value in numbers.items())
        lines.append(f"  {table:<17} {shown}")
    lines.append("")
    lines.append(w["status_streams"])
    if not data["streams"]:
        lines.append("  " + w["status_never_synced"])
    for stream, state in data["streams"].items():
        extra = "  " + w["status_in_progress"].format(phase=state["in_progress"]) if state["in_progress"] else ""
        lines.append(f"  {stream:<14} " + w["status_stream"].format(watermark=_when(state["watermark"], w), full=_when(state["full_completed_at"], w)) + extra)
    lines.append("")
    lines.append(w["status_runs"])
    if not data["runs"]:
        lines.append("  " + w["status_no_runs"])
    for run in data["runs"]:
        took = ""
        if run["finished_at"]:
            took = " " + w["status_took"].format(seconds=words.number((run["finished_at"] - run["started_at"]).total_seconds(), language, 1))
        calls = words.plural(run["api_calls"], w["api_calls_count"], language)
        line = f"  #{run['id']:<4} {_when(run['started_at'], w)}  {run['kind']:<17} {run['outcome']:<7}{took}, {calls}, {run['rate_limited']} × 429"
        lines.append(line)
        if run["error"]:
            lines.append(f"        {for_terminal(run['error'])}")
    return "\n".join(lines)

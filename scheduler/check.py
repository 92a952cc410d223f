"""``renewal-worker check``: exit 0 or 1 for a container health check, from the database alone.

Healthy when a daemon's heartbeat is fresher than ``[schedule] heartbeat_max_age_s`` and the most
recent finished run did not fail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from worker.cache.db import Cache
from worker.cache.models import DaemonHeartbeat, Run
from worker.settings import Settings


def check(settings: Settings, now: datetime) -> tuple[bool, str]:
    cache = Cache(settings.database.url)
    try:
        with cache.transaction() as session:
            beats = session.execute(
                select(DaemonHeartbeat).where(DaemonHeartbeat.stopped_at.is_(None)).order_by(DaemonHeartbeat.heartbeat_at.desc())  # type: ignore[union-attr, attr-defined]
            ).scalars().all()
            last = session.execute(
                # A run stopped for a shutdown is neither a success nor a failure: look past it.
                select(Run).where(Run.finished_at.is_not(None), Run.outcome != "stopped").order_by(Run.finished_at.desc()).limit(1)  # type: ignore[union-attr, attr-defined]
            ).scalars().first()
    finally:
        cache.close()
    if not beats:
        return False, "no running daemon has written a heartbeat (is `renewal-worker run` up?)"
    newest = beats[0]
    age_s = (now - newest.heartbeat_at).total_seconds()
    if age_s > settings.schedule.heartbeat_max_age_s:
        return False, f"the newest heartbeat ({newest.instance_id}, {newest.role}) is {age_s:.0f}s old (limit {settings.schedule.heartbeat_max_age_s}s)"
    leaders = [b for b in beats if b.role == "leader" and (now - b.heartbeat_at).total_seconds() <= settings.schedule.heartbeat_max_age_s]
    if last is not None and last.outcome == "failed":
        return False, f"the last run ({last.kind}, finished {last.finished_at:%Y-%m-%d %H:%M:%S} UTC) failed: {last.error}"
    who = f"leader {leaders[0].instance_id}" if leaders else "no leader yet"
    outcome = f"last run {last.kind} ok" if last is not None else "no run yet"
    return True, f"ok: heartbeat {age_s:.0f}s ago, {who}, {outcome}"

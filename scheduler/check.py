"""``renewal-worker check``: exit 0 or 1 for a container health check, from the database alone.

Healthy when a daemon's heartbeat is fresher than ``[schedule] heartbeat_max_age_s`` and no job's
most recent finished run failed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from worker.cache.db import Cache
from worker.cache.models import DaemonHeartbeat, Run
from worker.settings import Settings


def check(settings: Settings, now: datetime) -> tuple[bool, str]:
    cache = Cache.existing(settings.database.url)
    try:
        with cache.transaction() as session:
            beats = session.execute(
                select(DaemonHeartbeat).where(DaemonHeartbeat.stopped_at.is_(None)).order_by(DaemonHeartbeat.heartbeat_at.desc())  # type: ignore[union-attr, attr-defined]
            ).scalars().all()
            latest = _latest_run_per_job(session)
    finally:
        cache.close()
    if not beats:
        return False, "no running daemon has written a heartbeat (is `renewal-worker run` up?)"
    newest = beats[0]
    age_s = (now - newest.heartbeat_at).total_seconds()
    if age_s > settings.schedule.heartbeat_max_age_s:
        return False, f"the newest heartbeat ({newest.instance_id}, {newest.role}) is {age_s:.0f}s old (limit {settings.schedule.heartbeat_max_age_s}s)"
    # Each job on its own: a sync that keeps failing is news even while the rules job succeeds.
    failed = [run for run in latest.values() if run.outcome == "failed"]
    if failed:
        run = failed[0]
        return False, f"the last {run.kind.split(':')[0]} run (finished {run.finished_at:%Y-%m-%d %H:%M:%S} UTC) failed: {run.error}"
    leaders = [b for b in beats if b.role == "leader" and (now - b.heartbeat_at).total_seconds() <= settings.schedule.heartbeat_max_age_s]
    who = f"leader {leaders[0].instance_id}" if leaders else "no leader yet"
    outcome = ", ".join(f"last {job} ok" for job in sorted(latest)) or "no run yet"
    return True, f"ok: heartbeat {age_s:.0f}s ago, {who}, {outcome}"


def _latest_run_per_job(session) -> dict[str, Run]:
    """The newest finished run of each job (runs stopped for a shutdown don't count)."""
    latest: dict[str, Run] = {}
    recent = session.execute(
        select(Run).where(Run.finished_at.is_not(None), Run.outcome != "stopped").order_by(Run.finished_at.desc()).limit(200)  # type: ignore[union-attr, attr-defined]
    ).scalars()
    for run in recent:
        latest.setdefault(run.kind.split(":", 1)[0], run)
    return latest

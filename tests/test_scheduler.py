"""The daemon's pieces without processes: job wrapper, catch-up after downtime, job definitions."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from structlog.testing import capture_logs

from scheduler.daemon import Daemon
from tests import clock
from tests.conftest import make_settings
from worker.cache.db import Cache
from worker.cache.models import Run


def daemon(sqlite_url, **schedule) -> Daemon:
    settings = make_settings("http://127.0.0.1:9", sqlite_url)
    settings = dataclasses.replace(settings, schedule=settings.schedule.model_copy(update=schedule))
    d = Daemon(settings, instance_id="test")
    d.cache = Cache(sqlite_url)
    return d


def test_a_job_that_raises_is_one_event_and_the_next_run_goes_on(sqlite_url):
    d = daemon(sqlite_url)
    calls = []

    def boom():
        calls.append(1)
        raise RuntimeError("bug in a job")

    job = d._wrap("rules", boom)
    with capture_logs() as logs:
        job()
        job()
    failures = [e for e in logs if e["event"] == "job.failed"]
    assert len(calls) == 2 and len(failures) == 2
    assert failures[0]["job"] == "rules" and "RuntimeError: bug in a job" in failures[0]["error"]
    assert d.metrics.job_errors.labels("rules")._value.get() == 2
    assert d._running == []  # the slot is free again


def test_no_new_job_starts_once_stopping(sqlite_url):
    d = daemon(sqlite_url)
    ran = []
    d.stop.set()
    d._wrap("sync", lambda: ran.append(1))()
    assert ran == []


def _scheduler_with_jobs(d: Daemon) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=d.settings.tz)
    for job_id, trigger, work, first in d._jobs():
        scheduler.add_job(work, trigger, id=job_id, **({"next_run_time": first} if first else {}))
    return scheduler


def _record_run(cache: Cache, kind: str, started: datetime) -> None:
    with cache.transaction() as session:
        session.add(Run(kind=kind, started_at=started, finished_at=started + timedelta(seconds=5), outcome="ok"))


def test_a_slot_missed_during_downtime_runs_once_on_start(sqlite_url):
    # rules at 08:00 every day; the daemon was down from yesterday 07:00 until now.
    now = clock.now().replace(second=0, microsecond=0)
    slot = now - timedelta(minutes=20)
    d = daemon(sqlite_url, rules_cron=f"{slot.minute} {slot.hour} * * *", misfire_grace_s=3600)
    _record_run(d.cache, "rules:auto", now - timedelta(days=1, hours=1))
    scheduler = _scheduler_with_jobs(d)
    scheduler.start(paused=True)
    try:
        assert d._catch_up(scheduler) == ["rules"]
        assert scheduler.get_job("rules").next_run_time <= clock.now() + timedelta(seconds=1)
    finally:
        scheduler.shutdown(wait=False)


def test_no_catch_up_when_the_slot_already_ran_or_is_older_than_the_grace(sqlite_url):
    now = clock.now().replace(second=0, microsecond=0)
    slot = now - timedelta(minutes=20)
    d = daemon(sqlite_url, rules_cron=f"{slot.minute} {slot.hour} * * *", misfire_grace_s=3600)
    _record_run(d.cache, "rules:auto", slot + timedelta(seconds=1))  # it ran at its slot
    scheduler = _scheduler_with_jobs(d)
    scheduler.start(paused=True)
    try:
        assert d._catch_up(scheduler) == []
    finally:
        scheduler.shutdown(wait=False)
    stale = daemon(sqlite_url.replace("cache.db", "other.db"), rules_cron=f"{slot.minute} {slot.hour} * * *", misfire_grace_s=600)
    scheduler = _scheduler_with_jobs(stale)
    scheduler.start(paused=True)
    try:
        assert stale._catch_up(scheduler) == []  # 20 minutes late is past a 10-minute grace
    finally:
        scheduler.shutdown(wait=False)


def test_jobs_have_explicit_ids_and_the_digest_needs_a_webhook(sqlite_url):
    d = daemon(sqlite_url)
    assert [job_id for job_id, *_ in d._jobs()] == ["sync", "full_sync", "rules"]  # no webhook: no digest job
    with_hook = dataclasses.replace(d.settings, webhook_url="https://hooks.example/x")
    assert [job_id for job_id, *_ in Daemon(with_hook)._jobs()][-1] == "digest"


def test_a_beat_that_cannot_reach_the_database_is_logged_and_the_daemon_goes_on(sqlite_url):
    """A PostgreSQL restart or failover must not end a daemon meant to run for months."""
    from sqlalchemy.exc import OperationalError

    d = daemon(sqlite_url)

    class UnreachableLease:
        calls = 0

        def try_acquire(self):
            UnreachableLease.calls += 1
            raise OperationalError("SELECT pg_try_advisory_lock(1)", {}, ConnectionRefusedError("server closed the connection"))

    d.lease = UnreachableLease()
    with capture_logs() as logs:
        d._tick()
        d._tick()
    failed = [e for e in logs if e["event"] == "daemon.beat_failed"]
    assert UnreachableLease.calls == 2 and len(failed) == 2
    assert failed[0]["role"] == "standby" and failed[0]["error"].startswith("OperationalError")

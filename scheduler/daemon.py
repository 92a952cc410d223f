"""``renewal-worker run``: the long-lived daemon. A thin shell around the same cycle that
``--sync-now`` runs, put on APScheduler's clock.

- **Jobs** (``[schedule]``): incremental sync on an interval; full reconcile, rules + emission and
  the webhook digest on crons in ``[reminders] timezone``. Explicit ids, ``coalesce``,
  ``max_instances=1``, a misfire grace time, one worker thread (jobs never overlap in a process).
  Slots missed while no daemon ran are made up once when a daemon takes the lead.
- **One leader**: the jobs run only in the process holding the ``leader`` lease (a PostgreSQL
  advisory lock or an ``flock``; the server or the kernel frees it when the holder dies). Others
  stand by and take over within ``lease_check_s``. Emission keeps its own lock as well, so a
  deposed leader finishing a job can't duplicate a task either.
- **Shutdown in two stages**: the signal handler only sets an event; the main thread pauses the
  scheduler, lets the job in hand stop at its next committed page (within ``shutdown_grace_s``),
  records the stop and exits 0. A second signal exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Callable

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, func, select

from integrations.hubspot.gateway import HubSpotGateway
from scheduler.metrics import HealthServer, Metrics
from worker.cache.db import Cache, upsert
from worker.cache.locks import DatabaseLock
from worker.cache.models import DaemonHeartbeat, Finding, Run
from worker.config_sections import parse_cron
from worker.cycle import build_gateway, run_cycle
from worker.settings import Settings
from worker.sync.passes import utcnow

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FORCED = 130  # a second signal: out at once, like an interrupted shell command
LEADER_LOCK = "leader"


class Daemon:
    def __init__(self, settings: Settings, *, instance_id: str | None = None):
        self.settings = settings
        self.instance_id = instance_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()
        self.metrics = Metrics()
        self.role = "standby"
        self.started_at = utcnow()
        self._signals = 0
        self._running: list[str] = []
        self._idle = threading.Condition()
        self._last_tick = time.monotonic()
        self._scheduler: BackgroundScheduler | None = None
        self.cache: Cache | None = None
        self.gateway: HubSpotGateway | None = None
        self.lease: DatabaseLock | None = None

    # ------------------------------------------------------------------ signals

    def handle_signal(self, signum: int, _frame: Any) -> None:
        """Only sets a flag (no slow work in a handler); a second signal leaves at once."""
        self._signals += 1
        if self._signals > 1:
            os._exit(EXIT_FORCED)
        self.stop.set()

    # ------------------------------------------------------------------ main loop

    def run(self) -> int:
        if self.settings.logging.level != "debug":
            # APScheduler logs every job start and end; our cycle.finished event already says it.
            logging.getLogger("apscheduler").setLevel(logging.WARNING)
        signal.signal(signal.SIGTERM, self.handle_signal)
        signal.signal(signal.SIGINT, self.handle_signal)
        # One composition root: the cache and the gateway (its SDK clients, connection pools and
        # the limiter's window) live as long as the process; every job receives them.
        self.cache = Cache(self.settings.database.url)
        self.gateway = build_gateway(self.settings)
        self.lease = DatabaseLock(self.cache, LEADER_LOCK)
        self._forget_old_instances()
        http = HealthServer(self.settings.http.bind, self.metrics, self.health, panel=self._panel()).start() if self.settings.http.bind else None
        log.info("daemon.started", instance=self.instance_id, http=http.address if http else None)
        try:
            while not self.stop.is_set():
                self._tick()
                self.stop.wait(self.settings.schedule.lease_check_s)
        finally:
            abandoned = self._shutdown()
            if http:
                http.stop()
        if abandoned:
            # The job in hand did not stop within the grace period. Its work is committed page by
            # page and batch by batch, so leaving now is safe; waiting for its thread is not.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_OK)
        return EXIT_OK

    def _tick(self) -> None:
        """One beat of the main loop. A database that is briefly unreachable (a PostgreSQL
        restart, a failover) must not end a daemon meant to run for months: the beat is logged
        and tried again at the next one."""
        try:
            self._lease_beat()
        except Exception as exc:  # noqa: BLE001 - logged; the next beat retries
            log.warning("daemon.beat_failed", error=f"{type(exc).__name__}: {str(exc)[:200]}", role=self.role)
        self._last_tick = time.monotonic()

    def _lease_beat(self) -> None:
        assert self.lease is not None
        if self.role == "leader":
            if not self.lease.held():
                log.error("daemon.lease_lost", instance=self.instance_id)
                self._step_down()
        elif self.lease.try_acquire():
            self._lead()
        self._heartbeat(self.role)

    # ------------------------------------------------------------------ leadership

    def _lead(self) -> None:
        schedule = self.settings.schedule
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": schedule.misfire_grace_s},
            timezone=self.settings.tz,
        )
        for job_id, trigger, work, first in self._jobs():
            scheduler.add_job(self._wrap(job_id, work), trigger, id=job_id, name=job_id, replace_existing=True, **({"next_run_time": first} if first else {}))
        scheduler.start()
        self._scheduler = scheduler
        self.role = "leader"
        self.metrics.leader.set(1)
        caught_up = self._catch_up(scheduler)
        log.info("daemon.leading", instance=self.instance_id, jobs=[job.id for job in scheduler.get_jobs()], catching_up=caught_up)

    def _step_down(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self.role = "standby"
        self.metrics.leader.set(0)

    def _jobs(self) -> list[tuple[str, Any, Callable[[], None], datetime | None]]:
        schedule, tz = self.settings.schedule, self.settings.tz
        jobs: list[tuple[str, Any, Callable[[], None], datetime | None]] = [
            # The first sync runs as soon as a daemon leads: its cache is then as fresh as can be.
            ("sync", IntervalTrigger(seconds=schedule.sync_interval_s, timezone=tz), partial(self._sync, "sync", "auto"), utcnow()),
            ("full_sync", CronTrigger(**parse_cron(schedule.full_sync_cron), timezone=tz), partial(self._sync, "full_sync", "full"), None),
            ("rules", CronTrigger(**parse_cron(schedule.rules_cron), timezone=tz), self._rules_job, None),
        ]
        if self.settings.webhook_url is not None and self.settings.notifications.daily_digest:
            jobs.append(("digest", CronTrigger(**parse_cron(schedule.digest_cron), timezone=tz), self._digest_job, None))
        return jobs

    def _catch_up(self, scheduler: BackgroundScheduler) -> list[str]:
        """A cron slot that passed while no daemon ran (within the misfire grace) runs once now."""
        now = utcnow()
        grace = timedelta(seconds=self.settings.schedule.misfire_grace_s)
        due = []
        for job in scheduler.get_jobs():
            if job.id == "sync":
                continue
            since = max(self._last_started(job.id) or now - grace, now - grace)
            missed = job.trigger.get_next_fire_time(None, since + timedelta(microseconds=1))
            if missed is not None and missed <= now:
                scheduler.modify_job(job.id, next_run_time=now)
                due.append(job.id)
        return due

    def _last_started(self, job_id: str) -> datetime | None:
        assert self.cache is not None
        with self.cache.transaction() as session:
            return session.execute(select(func.max(Run.started_at)).where(Run.kind.startswith(f"{job_id}:"))).scalar()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ jobs

    def _wrap(self, job_id: str, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            if self.stop.is_set():
                return
            with self._idle:
                self._running.append(job_id)
            structlog.contextvars.bind_contextvars(job=job_id)
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - APScheduler would only log and swallow it
                self.metrics.job_errors.labels(job_id).inc()
                log.error("job.failed", job=job_id, error=f"{type(exc).__name__}: {exc}", exc_info=True)
            finally:
                structlog.contextvars.unbind_contextvars("job")
                with self._idle:
                    self._running.remove(job_id)
                    self._idle.notify_all()

        return run

    def _cycle(self, job_id: str, **kw: Any) -> Any:
        result = run_cycle(self.settings, job=job_id, should_stop=self.stop.is_set, cache=self.cache, gateway=self.gateway, **kw)
        self.metrics.observe(job_id, result)
        return result

    def _sync(self, job_id: str, mode: str) -> None:
        result = self._cycle(job_id, mode=mode, steps=("sync",))
        if not result.ok and not self.stop.is_set():
            self._notify(result)  # syncs are frequent: only their failures are news

    def _rules_job(self) -> None:
        result = self._cycle("rules", steps=("rules", "emit"))
        self._count_open_findings()
        self._notify(result)

    def _panel(self) -> Any:
        """The renewals panel at ``/`` of ``[http] bind``: on loopback, or anywhere once
        ``RENEWAL_WORKER_PANEL_AUTH`` is set (it shows client names and emails). Otherwise only
        /healthz and /metrics are served, and the log says why."""
        from worker.config_sections import is_loopback
        from worker.reports.panel.app import build_app

        assert self.cache is not None
        host = self.settings.http.bind.rpartition(":")[0].strip("[]")
        credentials = self.settings.panel_auth.get_secret_value() if self.settings.panel_auth else None
        if credentials is None and not is_loopback(host):
            log.warning("daemon.panel_not_served", bind=self.settings.http.bind, reason="not loopback and RENEWAL_WORKER_PANEL_AUTH is not set")
            return None
        app = build_app(self.settings, self.cache, credentials=credentials)
        # Mounted under the health server, the panel's own start-up does not run: its renewals
        # are read here instead, in the background, before anyone opens it.
        threading.Thread(target=app.state.warm_up, name="panel-warm-up", daemon=True).start()
        return app

    def _digest_job(self) -> None:
        from integrations.hubspot.errors import HubSpotError
        from worker.cache.locks import LockTimeout
        from worker.tasks.emission import Emitter
        from worker.notify import post_daily_digest

        assert self.cache is not None and self.gateway is not None
        try:
            # The digest lists open tasks: first, every one read back (a deletion shows in no search).
            Emitter(self.gateway, self.cache, self.settings, clock=utcnow).refresh_from_hubspot()
        except (HubSpotError, LockTimeout) as exc:
            log.warning("digest.read_back_failed", error=str(exc), error_type=type(exc).__name__)
        post_daily_digest(self.settings)

    def _notify(self, result: Any) -> None:
        if self.settings.webhook_url is not None:
            from worker.notify import post_run_summary

            post_run_summary(self.settings, result)

    def _count_open_findings(self) -> None:
        assert self.cache is not None
        with self.cache.transaction() as session:
            self.metrics.open_findings.set(
                session.execute(select(func.count()).select_from(Finding).where(Finding.resolved_at.is_(None))).scalar_one()  # type: ignore[union-attr]
            )

    # ------------------------------------------------------------------ heartbeat, health, shutdown

    def _heartbeat(self, role: str, *, stopped: bool = False) -> None:
        assert self.cache is not None
        now = utcnow()
        try:
            with self.cache.transaction() as session:
                upsert(session, DaemonHeartbeat, [{
                    "instance_id": self.instance_id, "host": socket.gethostname(), "pid": os.getpid(), "role": role,
                    "started_at": self.started_at, "heartbeat_at": now, "stopped_at": now if stopped else None,
                }])
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not kill the daemon
            log.warning("daemon.heartbeat_failed", error=f"{type(exc).__name__}: {str(exc)[:200]}")

    def _forget_old_instances(self, keep_days: int = 7) -> None:
        """Each start is a new instance row; rows of instances gone for a week are dropped."""
        assert self.cache is not None
        cutoff = utcnow() - timedelta(days=keep_days)
        with self.cache.transaction() as session:
            session.execute(delete(DaemonHeartbeat).where(DaemonHeartbeat.heartbeat_at < cutoff))  # type: ignore[arg-type]

    def health(self) -> tuple[bool, dict[str, Any]]:
        stale_s = time.monotonic() - self._last_tick
        alive = stale_s < 3 * self.settings.schedule.lease_check_s + 5 and not self.stop.is_set()
        return alive, {"status": "ok" if alive else "unhealthy", "role": self.role, "instance": self.instance_id, "running": list(self._running), "loop_age_s": round(stale_s, 1)}

    def _shutdown(self) -> bool:
        """Returns True when the job in hand was still running at the end of the grace period."""
        log.info("daemon.stopping", instance=self.instance_id, running=list(self._running))
        if self._scheduler is not None:
            self._scheduler.pause()  # no new jobs from here on
        deadline = time.monotonic() + self.settings.schedule.shutdown_grace_s
        with self._idle:
            while self._running and time.monotonic() < deadline:
                self._idle.wait(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
            abandoned = list(self._running)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self._heartbeat("stopped", stopped=True)
        if self.lease is not None:
            self.lease.release()
        self.metrics.leader.set(0)
        if abandoned:
            log.warning("daemon.shutdown_grace_expired", jobs=abandoned, grace_s=self.settings.schedule.shutdown_grace_s)
        log.info("daemon.stopped", instance=self.instance_id, clean=not abandoned)
        if not abandoned:
            if self.gateway is not None:
                self.gateway.close()
            if self.cache is not None:
                self.cache.close()
        return bool(abandoned)

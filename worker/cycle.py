"""One cycle of the worker: what ``--sync-now`` runs and what every scheduled job will call.

    sync (HubSpot → cache) → rules (cache → plan, findings) → emission (plan → HubSpot tasks)

Each run is recorded (start, end, outcome, counts, API calls) and logged as one summary event.
A failed sync stops the cycle before the rules: acting on a half-synced cache could close a task
whose record simply wasn't read yet.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

import structlog
from sqlalchemy.exc import SQLAlchemyError

from integrations.hubspot.errors import (
    AuthFailed,
    BadRequest,
    DailyLimitReached,
    Forbidden,
    HubSpotError,
    MalformedAnswer,
    NotFound,
    RateLimited,
    Unavailable,
)
from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.transport import RetryPolicy, Timeouts
from integrations.hubspot.limiter import RequestLimiter
from worker.cache import repo
from worker.cache.db import DATABASE_ERRORS, Cache, CacheUnavailable, translate_database_error
from worker.cache.locks import LockTimeout
from worker.cache.models import Run
from worker.cache.portfolio import load_portfolio
from worker.errors import Stop, WorkerError, what_to_do
from worker.tasks.emission import EmissionReport, Emitter
from worker.rules import RULE_FINDING_PREFIXES, RuleConfig, evaluate
from worker.rules.calendar import local_date
from worker.rules.projection import WINDOW_DAYS as USAGE_WINDOW_DAYS
from worker.settings import Settings
from worker.sync.guard import ImplausibleAnswer, ReconcileRefused
from worker.sync.passes import Progress, Syncer, utcnow
from worker.usage.step import measure_step

ALL_STEPS = ("sync", "rules", "emit")


class StopRequested(Stop):
    """The daemon is shutting down: the cycle stops at its next safe point (a committed page)."""

log = structlog.get_logger(__name__)


@dataclass
class CycleResult:
    ok: bool
    run_id: int | None
    mode: str
    counts: dict[str, int] = field(default_factory=dict)
    api: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0
    emission: EmissionReport | None = None
    job: str = "sync"
    stopped: bool = False  # stopped for a shutdown at a safe point: neither ok nor a failure
    # What to do about the error (worker.errors): "retry later", "fix the config", "fix the
    # data", "stop" or "report a bug"; None when there was none.
    error_kind: str | None = None

    @property
    def outcome(self) -> str:
        """ok | failed | stopped: what the runs table, the log and the metrics record."""
        return "ok" if self.ok else "stopped" if self.stopped else "failed"


def build_gateway(settings: Settings) -> HubSpotGateway:
    hubspot = settings.hubspot
    token = settings.access_token.get_secret_value() if settings.access_token else ""
    return HubSpotGateway(
        base_url=hubspot.base_url,
        access_token=token,
        limiter=RequestLimiter(hubspot.requests_per_10s, hubspot.search_requests_per_s),
        retry=RetryPolicy(hubspot.max_attempts, hubspot.backoff_initial_s, hubspot.backoff_max_s, hubspot.max_retry_after_s),
        timeouts=Timeouts(hubspot.timeout_connect_s, hubspot.timeout_read_s),
        api_version=hubspot.api_version,
        requests_in_flight=hubspot.requests_in_flight,
        task_defaults=dict(settings.reminders.task_properties),  # validated to text at start
    )


def explain(error: BaseException, settings: Settings) -> str:
    """One line a person can act on. Never includes the token (our errors never carry it)."""
    attempts = settings.hubspot.max_attempts
    if isinstance(error, AuthFailed):
        return "HubSpot rejected the access token (401): check HUBSPOT_ACCESS_TOKEN; a service key or private app token stops working when it is rotated or deleted"
    if isinstance(error, Forbidden):
        scopes = ", ".join(error.missing_scopes) or "unknown"
        return f"HubSpot refused access (403): the service key or private app is missing the scope(s) {scopes}"
    if isinstance(error, DailyLimitReached):
        return "HubSpot's daily API limit for this portal is used up (429, policy DAILY): stopped instead of retrying for hours; it resets at midnight in the portal's time zone"
    if isinstance(error, RateLimited):
        return f"HubSpot kept rate-limiting the worker (429) after {attempts} attempts: another app may be using this portal's limit; {error}"
    if isinstance(error, MalformedAnswer):
        return f"HubSpot's answers were not what the API promises after {attempts} attempts (nothing was concluded from them): {error}"
    if isinstance(error, Unavailable):
        return f"HubSpot unavailable after {attempts} attempts: {error}"
    if isinstance(error, NotFound):
        checks = f"[subscriptions] object_type = {settings.subscriptions.object_type!r}"
        if settings.services is not None:
            checks += f" and [services] object_type = {settings.services.object_type!r} (HubSpot's services object must be activated in the portal)"
        return f"HubSpot answered 404 ({error}): check {checks}"
    if isinstance(error, BadRequest):
        return f"HubSpot rejected a request: {error}"
    if isinstance(error, HubSpotError):
        return f"HubSpot error: {error}"
    if isinstance(error, CacheUnavailable):
        return str(error)
    if isinstance(error, ReconcileRefused):
        return f"reconcile refused: {error}"
    if isinstance(error, ImplausibleAnswer):
        return f"answer refused: {error}"
    if isinstance(error, LockTimeout):
        return f"{error}: is another renewal-worker emitting tasks on this database? Nothing was sent; run again later"
    if isinstance(error, SQLAlchemyError):
        return str(translate_database_error(error))
    if isinstance(error, WorkerError):
        return str(error)
    return f"unexpected error: {type(error).__name__}: {error}"


def run_cycle(
    settings: Settings,
    *,
    mode: str = "auto",
    gateway: HubSpotGateway | None = None,
    cache: Cache | None = None,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = utcnow,
    steps: tuple[str, ...] = ALL_STEPS,
    dry_run: bool = False,
    job: str = "sync",
    should_stop: Callable[[], bool] | None = None,
    force_usage: bool = False,
) -> CycleResult:
    """Run the given steps in order. ``dry_run``: emission computes and reports its changes but
    writes nothing to HubSpot (the sync still refreshes the cache and findings are recorded).
    With [client_portals] the sync step also reads the clients' portals, each at most once a day
    unless ``force_usage`` (``--sync-now``: a person asked for fresh figures)."""
    started = time.monotonic()
    structlog.contextvars.bind_contextvars(cycle_id=uuid.uuid4().hex[:12])
    own_cache = cache is None
    own_gateway = gateway is None
    run_id: int | None = None
    stats_before = None
    result = CycleResult(ok=False, run_id=None, mode=mode, job=job)
    try:
        cache = cache or Cache(settings.database.url)
        gateway = gateway or build_gateway(settings)
        # A gateway may serve the whole process (the daemon): this run reports its own calls.
        stats_before = gateway.stats.snapshot()
        with cache.transaction() as session:
            run = Run(kind=f"{job}:{mode}", started_at=clock(), host=socket.gethostname()[:255], pid=os.getpid())
            session.add(run)
            session.flush()
            run_id = run.id
        structlog.contextvars.bind_contextvars(run_id=run_id)
        result.run_id = run_id
        if "sync" in steps:
            report = Syncer(gateway, cache, settings, clock=clock, progress=_stoppable(progress, should_stop)).run(mode)
            result.mode, result.counts = report.mode, dict(report.counts)
            if settings.client_portals is not None and not (should_stop and should_stop()):
                result.counts.update(measure_step(settings, cache, gateway, clock(), force=force_usage))
        result.ok = True
        if "rules" in steps and not (should_stop and should_stop()):
            _rules_and_emission(settings, cache, gateway, clock, result, emit="emit" in steps, dry_run=dry_run)
    except StopRequested:
        result.ok, result.stopped = False, True
        result.error = "stopped for shutdown after a committed page; the next run resumes there"
    except (HubSpotError, *DATABASE_ERRORS, WorkerError) as exc:
        result.ok = False
        result.error, result.error_kind = explain(exc, settings), what_to_do(exc)
    except KeyboardInterrupt:
        # Ctrl-C at a terminal: recorded as stopped, with its reason; the caller says it in one line.
        result.ok, result.stopped = False, True
        result.error = "interrupted (Ctrl-C); the next run resumes where this one stopped"
        raise
    except Exception as exc:  # noqa: BLE001 - a bug of ours: recorded, logged with its traceback, one line out
        result.ok = False
        result.error = f"unexpected error (a bug in renewal-worker; the log has the traceback): {type(exc).__name__}: {str(exc)[:200]}"
        result.error_kind = what_to_do(exc)
        log.exception("cycle.crashed", error_type=type(exc).__name__)
    finally:
        result.duration_s = round(time.monotonic() - started, 3)
        if gateway is not None:
            result.api = gateway.stats.since(stats_before).as_dict() if stats_before is not None else gateway.stats.as_dict()
        _finish_run(cache, run_id, result, clock)
        log.info(
            "cycle.finished",
            job=job,
            outcome=result.outcome,
            mode=result.mode,
            duration_s=result.duration_s,
            counts=result.counts,
            api_calls=result.api.get("total_calls", 0),
            rate_limited=result.api.get("rate_limited", 0),
            error=result.error,
            error_kind=result.error_kind,
        )
        structlog.contextvars.unbind_contextvars("cycle_id", "run_id")
        if own_gateway and gateway is not None:
            gateway.close()
        if own_cache and cache is not None:
            cache.close()
    return result


def _stoppable(progress: Progress | None, should_stop: Callable[[], bool] | None) -> Progress | None:
    """Progress is reported after each committed page: the one safe point to stop a sync at."""
    if should_stop is None:
        return progress

    def report(stream: str, done: int) -> None:
        if progress:
            progress(stream, done)
        if should_stop():
            raise StopRequested()

    return report


def _rules_and_emission(settings, cache, gateway, clock, result: CycleResult, *, emit: bool, dry_run: bool) -> None:
    now = clock()
    as_of = local_date(now, settings.tz)
    started = time.perf_counter()
    with cache.transaction() as session:
        portfolio = load_portfolio(
            session, services=settings.services is not None, with_usage=settings.client_portals is not None,
            usage_since=as_of - timedelta(days=USAGE_WINDOW_DAYS),
        )
    plan = evaluate(portfolio, as_of, RuleConfig.from_settings(settings))
    result.counts["rules_ms"] = round((time.perf_counter() - started) * 1000)
    with cache.transaction() as session:
        repo.replace_rule_findings(session, plan.findings, prefixes=RULE_FINDING_PREFIXES, now=now)
    result.counts["reminders_valid"] = len(plan.reminders)
    result.counts["rule_findings"] = len(plan.findings)
    if not emit:
        return
    emission = Emitter(gateway, cache, settings, clock=clock).run(plan, portfolio, as_of, dry_run=dry_run)
    result.emission = emission
    if not dry_run:
        result.counts.update(emission.counts())
    if not emission.ok:
        result.ok = False
        detail = "; ".join(emission.errors[:2]) or "see task_ledger.last_error (renewal-worker tasks --state pending)"
        if emission.refused_by_portal:
            result.error = f"{emission.refused_by_portal}; {emission.pending} task(s) stay pending"
        elif emission.pending:
            result.error = f"{emission.pending} task(s) could not be created in HubSpot and stay pending for the next run: {detail}"
        else:
            result.error = f"the tasks in HubSpot could not be read back or brought up to date; the next run tries again: {detail}"


def _finish_run(cache: Cache | None, run_id: int | None, result: CycleResult, clock: Callable[[], datetime]) -> None:
    if cache is None or run_id is None:
        return
    try:
        with cache.transaction() as session:
            run = session.get(Run, run_id)
            if run is None:
                return
            run.finished_at = clock()
            run.outcome = result.outcome
            run.error = result.error
            run.kind = f"{result.job}:{result.mode}"
            run.counts = result.counts
            run.api_calls = int(result.api.get("total_calls", 0))
            run.rate_limited = int(result.api.get("rate_limited", 0))
            session.add(run)
    except DATABASE_ERRORS as exc:  # the database itself is what failed: the log line still says so
        log.error("cycle.run_record_failed", error=type(exc).__name__)

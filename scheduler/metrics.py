"""What the daemon tells a metrics scraper and a health check: Prometheus metrics (via
prometheus_client, the reference client: exposition format and escaping done right) and an
optional HTTP listener serving /metrics and /healthz."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Summary, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from worker.errors import FixTheConfig

# The *_created series double every counter's lines and nobody graphs them.
disable_created_metrics()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter("renewal_worker_runs", "Job runs, by job and outcome", ["job", "outcome"], registry=r)
        self.duration = Summary("renewal_worker_run_duration_seconds", "Job run durations", ["job"], registry=r)
        self.api_calls = Counter("renewal_worker_hubspot_api_calls", "HubSpot API calls (attempts)", ["job"], registry=r)
        self.rate_limited = Counter("renewal_worker_hubspot_rate_limited", "HubSpot 429 answers", ["job"], registry=r)
        self.tasks = Counter("renewal_worker_tasks", "Tasks written to HubSpot, by action", ["action"], registry=r)
        self.tasks_pending = Gauge("renewal_worker_tasks_pending", "Tasks wanted but not yet created", registry=r)
        self.open_findings = Gauge("renewal_worker_open_findings", "Open findings in the cache", registry=r)
        self.job_errors = Counter("renewal_worker_job_errors", "Jobs that raised an unexpected error", ["job"], registry=r)
        self.leader = Gauge("renewal_worker_leader", "1 while this process holds the lease and runs the jobs", registry=r)
        self.last_success = Gauge("renewal_worker_last_success_timestamp_seconds", "When each job last succeeded", ["job"], registry=r)
        for action in TASK_ACTIONS:
            self.tasks.labels(action)  # present at 0 from the start: rate() needs the series

    def observe(self, job: str, result: Any) -> None:
        self.runs.labels(job, result.outcome).inc()
        self.duration.labels(job).observe(result.duration_s)
        self.api_calls.labels(job).inc(result.api.get("total_calls", 0))
        self.rate_limited.labels(job).inc(result.api.get("rate_limited", 0))
        counts = result.counts
        for action in TASK_ACTIONS:
            self.tasks.labels(action).inc(counts.get(f"tasks_{action}", 0))
        if "tasks_pending" in counts:
            self.tasks_pending.set(counts["tasks_pending"])
        if result.ok:
            self.last_success.labels(job).set(time.time())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


CONNECTION_TIMEOUT_S = 10.0
# What happened to tasks, per run: the worker's writes and what people did in HubSpot.
TASK_ACTIONS = ("created", "recovered", "updated", "closed", "completed_by_people", "dismissed_by_people")


class HealthServerError(FixTheConfig):
    """The /healthz listener could not start (the port is taken, the address is not ours)."""


class HealthServer:
    """/metrics and /healthz on ``host:port`` (and the renewals panel at ``/`` when given one),
    served by uvicorn in a daemon thread with the panel's per-connection limits: a client that
    opens a connection and sends nothing, or half a request, is dropped after
    ``connection_timeout_s``."""

    def __init__(
        self,
        bind: str,
        metrics: Metrics,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        *,
        connection_timeout_s: float = CONNECTION_TIMEOUT_S,
        panel: Any = None,
    ):
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Mount, Route

        from worker.reports.panel.server import InThread, asgi_server, listening_socket

        host, _, port = bind.rpartition(":")
        try:
            sock = listening_socket(host.strip("[]"), int(port))
        except OSError as exc:
            raise HealthServerError(f"cannot listen on {bind} ([http] bind): {exc.strerror or exc}") from None

        def metrics_page(request: Request) -> Response:
            return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

        def health_page(request: Request) -> Response:
            ok, detail = health()
            return Response(json.dumps(detail, default=str), status_code=200 if ok else 503, media_type="application/json")

        routes: list[Any] = [Route("/metrics", metrics_page, methods=["GET"]), Route("/healthz", health_page, methods=["GET"])]
        if panel is not None:
            routes.append(Mount("/", app=panel))
        self._listener = InThread(asgi_server(Starlette(routes=routes), head_timeout_s=connection_timeout_s), sock, name="health-http")

    @property
    def address(self) -> str:
        host, port = self._listener.socket.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> "HealthServer":
        self._listener.start()
        return self

    def stop(self) -> None:
        self._listener.stop()

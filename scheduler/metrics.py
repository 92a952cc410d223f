"""What the daemon tells a metrics scraper and a health check: Prometheus metrics (via
prometheus_client, the reference client: exposition format and escaping done right) and an
optional HTTP listener serving /metrics and /healthz."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Summary, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

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


class HealthServerError(Exception):
    """The /healthz listener could not start (the port is taken, the address is not ours)."""


class HealthServer:
    """/metrics and /healthz on ``host:port``, in a daemon thread."""

    def __init__(
        self, bind: str, metrics: Metrics, health: Callable[[], tuple[bool, dict[str, Any]]], *, connection_timeout_s: float = CONNECTION_TIMEOUT_S
    ):
        host, _, port = bind.rpartition(":")
        handler = _handler(metrics, health, connection_timeout_s)
        try:
            self._server = ThreadingHTTPServer((host.strip("[]"), int(port)), handler)
        except OSError as exc:
            raise HealthServerError(f"cannot listen on {bind} ([http] bind): {exc.strerror or exc}") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> "HealthServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: Metrics, health: Callable[[], tuple[bool, dict[str, Any]]], connection_timeout_s: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # A client that opens a connection and sends nothing (or half a request) is dropped
        # after this long instead of holding a thread for ever.
        timeout = connection_timeout_s

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, metrics.exposition(), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                ok, detail = health()
                self._send(200 if ok else 503, json.dumps(detail, default=str).encode(), "application/json")
            else:
                self._send(404, b'{"error": "not found"}', "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler

"""Serving the panel: uvicorn on a socket bound here (so a port in use is one clear line), with
per-connection limits."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import structlog
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from worker.cache.db import Cache
from worker.reports.panel.app import build_app
from worker.settings import Settings

log = structlog.get_logger(__name__)


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


class TimedH11Protocol(H11Protocol):
    """uvicorn drops a connection that idles between requests (``timeout_keep_alive``), not one
    that never finishes sending a request head: that one would hold its place for ever (and
    ``limit_concurrency`` places make a denial of service). Here a request head must arrive
    within ``HEAD_TIMEOUT_S`` of the connection opening or of the previous answer."""

    HEAD_TIMEOUT_S = 10.0

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._arm()

    def handle_events(self) -> None:
        started = self.cycle
        super().handle_events()
        if self.cycle is not started and self._head_deadline is not None:
            self._head_deadline.cancel()  # a whole request head arrived
            self._head_deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if getattr(self, "_head_deadline", None) is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(self.HEAD_TIMEOUT_S, self._too_slow)

    def _too_slow(self) -> None:
        self._head_deadline = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


def server_for(settings: Settings, cache: Cache, *, credentials: str | None, head_timeout_s: float = TimedH11Protocol.HEAD_TIMEOUT_S) -> uvicorn.Server:
    return asgi_server(build_app(settings, cache, credentials=credentials), head_timeout_s=head_timeout_s)


def asgi_server(app: Any, *, head_timeout_s: float = TimedH11Protocol.HEAD_TIMEOUT_S) -> uvicorn.Server:
    """uvicorn for ``app`` with the per-connection limits (the panel, and the daemon's listener)."""
    protocol = type("TimedH11", (TimedH11Protocol,), {"HEAD_TIMEOUT_S": head_timeout_s})
    config = uvicorn.Config(
        app,
        http=protocol,
        log_config=None,  # the worker's logging (structlog) stays in charge
        access_log=False,
        server_header=False,
        proxy_headers=False,
        # Per connection: a request head within 10 s (TimedH11Protocol), an idle keep-alive
        # dropped after 5 s, at most 64 connections at once.
        timeout_keep_alive=5,
        limit_concurrency=64,
        h11_max_incomplete_event_size=16 * 1024,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


class InThread:
    """A uvicorn server on its own socket in a daemon thread: listening when ``start`` returns,
    finished (its socket closed) when ``stop`` returns. The daemon's listener and the tests."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, *, name: str = "http"):
        self.server = server
        self.socket = sock
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)

    @property
    def port(self) -> int:
        return self.socket.getsockname()[1]

    def start(self) -> "InThread":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self.socket.close()


def serve(settings: Settings, cache: Cache, host: str, port: int, *, credentials: str | None) -> int:
    sock = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    log.info("panel.listening", url=f"http://{shown}:{sock.getsockname()[1]}/", authentication=credentials is not None)
    print(f"renewal-worker panel: http://{shown}:{sock.getsockname()[1]}/ (Ctrl-C stops it)", flush=True)
    server_for(settings, cache, credentials=credentials).run(sockets=[sock])
    return 0

"""Serving the panel: uvicorn on a socket bound here (so a port in use is one clear line), with
per-connection limits."""

from __future__ import annotations

import socket

import structlog
import uvicorn

from worker.cache.db import Cache
from worker.panel.app import build_app
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


def server_for(settings: Settings, cache: Cache, *, credentials: str | None) -> uvicorn.Server:
    config = uvicorn.Config(
        build_app(settings, cache, credentials=credentials),
        log_config=None,  # the worker's logging (structlog) stays in charge
        access_log=False,
        server_header=False,
        proxy_headers=False,
        # Per connection: an idle keep-alive is dropped after 5 s; at most 64 at once.
        timeout_keep_alive=5,
        limit_concurrency=64,
        h11_max_incomplete_event_size=16 * 1024,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


def serve(settings: Settings, cache: Cache, host: str, port: int, *, credentials: str | None) -> int:
    sock = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    log.info("panel.listening", url=f"http://{shown}:{sock.getsockname()[1]}/", authentication=credentials is not None)
    print(f"renewal-worker panel: http://{shown}:{sock.getsockname()[1]}/ (Ctrl-C stops it)", flush=True)
    server_for(settings, cache, credentials=credentials).run(sockets=[sock])
    return 0

"""Where the worker connects and listens: ``[hubspot]``, ``[database]``, ``[http]``, ``[logging]``."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from worker.config_sections.base import _Section


class HubSpotSettings(_Section):
    base_url: str = "https://api.hubapi.com"
    # HubSpot's API version: "2026-09" (current), "2026-03", or "legacy" (the v3/v4 paths, which
    # HubSpot retires: associations v4 on 2027-03-30, the rest in September 2027).
    api_version: Literal["2026-09", "2026-03", "legacy"] = "2026-09"
    requests_per_10s: int = Field(100, ge=1, le=10_000)
    search_requests_per_s: int = Field(4, ge=1, le=100)
    timeout_connect_s: float = Field(5.0, gt=0)
    timeout_read_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(6, ge=1, le=20)
    backoff_initial_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    # A single Retry-After longer than this ends the run instead of sleeping through it.
    max_retry_after_s: float = Field(120.0, ge=0)
    # Requests sent at once (the pages of one batch, the sync's streams). HubSpot answers in about
    # 150 ms, so one at a time can't use the rate limit; the limiter still counts every request.
    requests_in_flight: int = Field(4, ge=1, le=16)
    # Chunk sizes are HubSpot's documented maxima; lower them only to debug.
    page_size: int = Field(100, ge=1, le=100)
    search_page_size: int = Field(200, ge=1, le=200)

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.hubapi.com")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("plain http:// is only allowed for loopback hosts (127.0.0.1, ::1, localhost)")
        return value.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DatabaseSettings(_Section):
    url: str = "sqlite:///renewal-worker.db"

    @field_validator("url")
    @classmethod
    def _supported_backend(cls, value: str) -> str:
        from sqlalchemy.engine import make_url

        if not (value.startswith("sqlite:///") or value.startswith("postgresql+psycopg://")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB")
        try:
            url = make_url(value)
            url.port  # noqa: B018 - parsing the port is the check ("host:port" with a word for port)
        except (ValueError, TypeError):
            raise ValueError("not a database URL: check the host, the port (a number) and the database name") from None
        forgets = sqlite_that_forgets(url.database or "", dict(url.query)) if value.startswith("sqlite") else None
        if forgets:
            # The cache holds the task ledger: one that vanishes with the process would have
            # every task created again on the next run.
            raise ValueError(
                f"an SQLite cache needs a file path (sqlite:///renewal-worker.db): this one is {forgets}, "
                "which forgets which tasks exist when the process ends (every task would be created again)"
            )
        return value


def sqlite_that_forgets(database: str, query: dict[str, Any]) -> str | None:
    """Why an SQLite database name vanishes with the process, in any spelling SQLite accepts, or
    None for a file. An empty name is a private temporary file; ``:memory:`` and ``mode=memory``
    are memory; a ``file:`` URI (read as one with ``uri=true``, and by SQLite builds that read
    URIs everywhere) names its path after ``file:`` and an authority, before ``?``."""
    options = {str(k).lower(): str(v).lower() for k, v in query.items()}
    if options.get("mode") == "memory":
        return "an in-memory database (mode=memory)"
    name = database.strip()
    if name.lower().startswith("file:"):
        path, _, params = name[5:].partition("?")
        if "mode=memory" in params.lower().replace(" ", ""):
            return "an in-memory database (mode=memory)"
        if path.startswith("//"):
            path = "/" + path[2:].partition("/")[2]  # file://host/path or file:///path
        name = path
    if name == ":memory:":
        return "an in-memory database (:memory:)"
    if not name or name == "/":
        return "a temporary database (no file name)"
    return None


class HttpSettings(_Section):
    """Optional listener for /healthz and /metrics. Empty: off."""

    bind: str = ""

    @field_validator("bind")
    @classmethod
    def _loopback_host_port(cls, value: str) -> str:
        if not value:
            return value
        host, _, port = value.rpartition(":")
        host = host.strip("[]")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("HOST:PORT, e.g. 127.0.0.1:9464")
        if not is_loopback(host) and host not in {"0.0.0.0", "::"}:
            raise ValueError("a loopback address (127.0.0.1:9464), or 0.0.0.0:PORT inside a container")
        return value


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"

"""Logging, configured once at the entry point.

structlog renders our events and, through ``ProcessorFormatter``, the stdlib loggers' records
(APScheduler, urllib3, alembic) in the same format: JSON lines off a terminal, readable columns
on one. A redaction processor removes every configured secret from every event, whatever field
it ended up in: defence in depth behind the rule that secrets are never logged at all.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, Iterable
from urllib.parse import urlsplit

import structlog

_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REDACTED = "[REDACTED]"


def secret_forms(secret: str) -> list[str]:
    """The ways a secret can be written in a log line. A URL (the webhook's) is also found by
    its path and query, where Slack's token lives, however a library spells its host."""
    forms = [secret]
    parts = urlsplit(secret) if "://" in secret else None
    if parts and parts.scheme in {"http", "https"}:
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        if len(tail.strip("/")) >= 6:
            forms.append(tail)
    return forms


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()):
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """More secrets, met after start-up (a client portal's token, read when its turn comes)."""
        self._forms.update(form for s in secrets if s and len(s) >= 4 for form in secret_forms(s))
        # Longest first, case-insensitive: "http://LOCALHOST/x" is logged as "http://localhost/x".
        ordered = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(f) for f in ordered), re.IGNORECASE) if ordered else None

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            if self._pattern is not None:
                value = self._pattern.sub(REDACTED, value)
            return _BEARER.sub(r"\1" + REDACTED, value)
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.scrub(item) for item in value)
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        return self.scrub(event_dict)


_ACTIVE = Redactor()


def also_redact(*secrets: str) -> None:
    """Secrets the process learns after start-up are kept out of the log like the first ones."""
    _ACTIVE.add(secrets)


def configure(level: str = "info", fmt: str = "auto", secrets: Iterable[str] = (), stream: Any = None) -> None:
    stream = stream or sys.stderr
    _ACTIVE.add(secrets)
    if fmt == "auto":
        fmt = "console" if getattr(stream, "isatty", lambda: False)() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _ACTIVE,
    ]
    renderer: Any = structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # urllib3 at debug prints every request line; the SDK's rest logger prints bodies; httpx and
    # httpcore log each request's URL at info, and the webhook's URL is a secret.
    for noisy in ("urllib3", "hubspot", "alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str = "renewal_worker") -> Any:
    return structlog.get_logger(name)

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

import structlog

_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REDACTED = "[REDACTED]"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, REDACTED)
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


def configure(level: str = "info", fmt: str = "auto", secrets: Iterable[str] = (), stream: Any = None) -> None:
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if getattr(stream, "isatty", lambda: False)() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        Redactor(secrets),
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
    # urllib3 at debug prints every request line; the SDK's rest logger prints bodies.
    for noisy in ("urllib3", "hubspot", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

"""The worker's error tree, named by what the caller does about an error.

- ``RetryLater``: nothing a person must do; the next run may well succeed (HubSpot down or
  rate-limiting, the database busy or unreachable, another worker holding the task lock).
- ``FixTheConfig``: a person changes the settings, the token or the machine (a key that is wrong,
  a scope missing, a cache that cannot be opened, a port in use). Commands exit 2 where they can
  tell before any work.
- ``FixTheData``: HubSpot's data or answers cannot be acted on as they are (a portal rule refuses a
  write, an answer too implausible to act on): the run says what and acts on nothing of it.
- ``Stop``: stop now, on purpose (a shutdown asked for, the portal's daily API limit used up).

The worker's own exceptions derive from one of the four. HubSpot's (``integrations.hubspot.errors``,
which knows nothing of the worker) and the database's (SQLAlchemy's, translated by
``worker.cache.db`` like the gateway translates the SDK's) are placed in the tree by ``kind_of``.
Anything else is a bug.
"""

from __future__ import annotations

from integrations.hubspot.errors import (
    AuthFailed, BadRequest, DailyLimitReached, Forbidden, HubSpotError, NotFound, RateLimited, Unavailable,
)
from integrations.webhook import WebhookFailed


class WorkerError(Exception):
    """Every error the worker raises on purpose."""

    what_to_do = ""


class RetryLater(WorkerError):
    what_to_do = "retry later"


class FixTheConfig(WorkerError):
    what_to_do = "fix the config"


class FixTheData(WorkerError):
    what_to_do = "fix the data"


class Stop(WorkerError):
    what_to_do = "stop"


KINDS: tuple[type[WorkerError], ...] = (RetryLater, FixTheConfig, FixTheData, Stop)

# The integrations' errors (HubSpot's, the webhook's), most specific first (a MalformedAnswer is an
# Unavailable: retried, then later).
_INTEGRATIONS: tuple[tuple[type[Exception], type[WorkerError]], ...] = (
    (DailyLimitReached, Stop),
    (RateLimited, RetryLater),
    (Unavailable, RetryLater),
    (AuthFailed, FixTheConfig),
    (Forbidden, FixTheConfig),
    (NotFound, FixTheConfig),
    (BadRequest, FixTheData),
    (HubSpotError, RetryLater),
    (WebhookFailed, RetryLater),
)


def kind_of(error: BaseException | type[BaseException]) -> type[WorkerError] | None:
    """Which of the four an error (or an error class) is; None for a bug."""
    cls = error if isinstance(error, type) else type(error)
    for kind in KINDS:
        if issubclass(cls, kind):
            return kind
    for known, kind in _INTEGRATIONS:
        if issubclass(cls, known):
            return kind
    from sqlalchemy.exc import SQLAlchemyError

    if issubclass(cls, SQLAlchemyError):
        from worker.cache.db import translate_database_error

        return kind_of(translate_database_error(error)) if not isinstance(error, type) else RetryLater
    return None


def what_to_do(error: BaseException) -> str:
    """The kind's words ("retry later" …), "report a bug" for anything else."""
    kind = kind_of(error)
    return kind.what_to_do if kind else "report a bug"

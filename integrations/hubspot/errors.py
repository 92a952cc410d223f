"""Our error tree for HubSpot, named after what the caller must do.

The SDK raises a separate ``ApiException`` class per API package and lets urllib3 errors through
raw; ``integrations.hubspot.gateway`` translates all of them into these, in one place. Messages
carry the endpoint, the HTTP status and HubSpot's own message and correlation id: never a header,
never the request, so never the token.
"""

from __future__ import annotations


class HubSpotError(Exception):
    """Base class. ``retryable`` says whether the one retry policy may try again."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, correlation_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.correlation_id = correlation_id


class RateLimited(HubSpotError):
    """429 from a short-window policy (ten-secondly, secondly): wait and try again."""

    retryable = True

    def __init__(self, message: str, *, retry_after_s: float | None, policy: str | None, **kw):
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s
        self.policy = policy


class DailyLimitReached(HubSpotError):
    """429 with policy DAILY: retrying would hammer HubSpot for hours; stop the run."""


class Unavailable(HubSpotError):
    """5xx, connection refused or reset, timeout, truncated or unreadable body: try again later."""

    retryable = True


class MalformedAnswer(Unavailable):
    """A 2xx whose body is not the answer the call promises: cut short, an HTML page from a
    proxy, no ``results``, a cursor on an empty page, ids of a batch unaccounted for. Retried
    like a 5xx; never read as "nothing there"."""


class AuthFailed(HubSpotError):
    """401: the token is wrong, expired or revoked."""


class Forbidden(HubSpotError):
    """403: usually a scope the private app was not granted; ``missing_scopes`` names them."""

    def __init__(self, message: str, *, missing_scopes: tuple[str, ...] = (), **kw):
        super().__init__(message, **kw)
        self.missing_scopes = missing_scopes


class NotFound(HubSpotError):
    """404: the object type, record or endpoint does not exist in this portal."""


class BadRequest(HubSpotError):
    """400 and other 4xx: our request or HubSpot's data is not what either side expected."""

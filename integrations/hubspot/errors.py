"""Our error tree for HubSpot, named after what the caller must do.

The SDK raises a separate ``ApiException`` class per API package and lets urllib3 errors through
raw; ``integrations.hubspot.gateway`` translates all of them into these, in one place. Messages
carry the endpoint, the HTTP status and HubSpot's own message and correlation id: never a header,
never the request, so never the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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


@dataclass(frozen=True)
class InputProblem:
    """One entry of a 4xx answer's ``errors`` (HubSpot's ``ErrorDetail``): what was wrong, with
    the property and the batch input it names where HubSpot says (``context.propertyName``,
    ``in: inputs[3].properties``), else None."""

    code: str
    message: str
    property_name: str | None = None
    input_index: int | None = None

    @property
    def required_property(self) -> str | None:
        """The property HubSpot says is required and missing, if that is what this says."""
        if self.code in {"REQUIRED_PROPERTY", "PROPERTY_REQUIRED", "REQUIRED_FIELD"} or _REQUIRED.search(self.message):
            return self.property_name or (match.group(1) if (match := _REQUIRED.search(self.message)) else None)
        return None

    @property
    def invalid_owner(self) -> bool:
        return self.code == "INVALID_OWNER_ID" or (self.property_name == "hubspot_owner_id" and self.code.startswith("INVALID"))


_REQUIRED = re.compile(r"""[Pp]roperty ["']([^"']+)["'] is required""")


class BadRequest(HubSpotError):
    """400 and other 4xx: our request or HubSpot's data is not what either side expected.
    ``category`` is HubSpot's (VALIDATION_ERROR …) and ``problems`` its per-input details."""

    def __init__(self, message: str, *, category: str | None = None, problems: tuple[InputProblem, ...] = (), **kw):
        super().__init__(message, **kw)
        self.category = category
        self.problems = problems

    @property
    def required_properties(self) -> tuple[str, ...]:
        """Properties a portal rule requires that the write did not carry (since the 2026-09 API
        version a portal's own rules apply to API writes: conditionally required properties,
        required fields of the create form)."""
        return tuple(dict.fromkeys(name for p in self.problems if (name := p.required_property)))

    @property
    def refused_inputs(self) -> tuple[int, ...]:
        """The batch inputs HubSpot's answer names (by index), if it names any."""
        return tuple(sorted({p.input_index for p in self.problems if p.input_index is not None}))

    @property
    def invalid_owner(self) -> bool:
        """HubSpot refused an owner id (an owner deactivated or removed since it was read)."""
        return any(p.invalid_owner for p in self.problems)

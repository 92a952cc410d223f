"""Every SDK and urllib3 error, translated into ``integrations.hubspot.errors`` in one place.

hubspot-api-client has a separate ``ApiException`` class per API package and lets urllib3 errors
through raw; ``tests/test_gateway.py`` checks that every exception class of every SDK package the
gateway calls lands in our tree.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import re
from datetime import datetime, timezone
from typing import Any, Mapping

import hubspot.crm.associations.v4 as sdk_associations
import hubspot.crm.associations.v4.schema as sdk_association_schema
import hubspot.crm.objects as sdk_objects
import hubspot.crm.owners as sdk_owners
import urllib3

from integrations.hubspot.errors import (
    AuthFailed,
    BadRequest,
    DailyLimitReached,
    Forbidden,
    HubSpotError,
    InputProblem,
    NotFound,
    RateLimited,
    Unavailable,
)

# The SDK packages we call, by the name endpoints.py uses. Each has its own exception classes.
SDK_PACKAGES = {
    "objects": sdk_objects,
    "associations": sdk_associations,
    "association_schema": sdk_association_schema,
    "owners": sdk_owners,
}
_SDK_API_EXCEPTIONS = tuple(pkg.ApiException for pkg in SDK_PACKAGES.values())
_SDK_OPENAPI_EXCEPTIONS = tuple(pkg.exceptions.OpenApiException for pkg in SDK_PACKAGES.values())


def translate_error(exc: BaseException, endpoint: str) -> HubSpotError | None:
    """Map what the SDK, urllib3 or the socket raised into our tree; the one place that knows
    SDK errors. None for anything else: that is a bug of ours, and the caller lets it surface as
    one instead of retrying it and calling HubSpot unavailable."""
    if isinstance(exc, HubSpotError):
        return exc
    if isinstance(exc, _SDK_API_EXCEPTIONS):
        return _from_status(exc, endpoint)
    if isinstance(exc, _SDK_OPENAPI_EXCEPTIONS):
        # ApiTypeError/ApiValueError/ApiKeyError/ApiAttributeError: the SDK refused our
        # arguments before sending anything.
        return BadRequest(f"{endpoint}: the SDK rejected the request: {type(exc).__name__}")
    if isinstance(exc, (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)):
        # Connection refused or reset, timeouts, a body cut short (ProtocolError/IncompleteRead).
        return Unavailable(f"{endpoint}: connection problem: {type(exc).__name__}")
    return None


def _from_status(exc: Any, endpoint: str) -> HubSpotError:
    status = int(getattr(exc, "status", 0) or 0)
    body = _json_body(getattr(exc, "body", None))
    headers = getattr(exc, "headers", None) or {}
    message = str(body.get("message") or getattr(exc, "reason", "") or "no message")[:300]
    correlation_id = body.get("correlationId")
    where = f"{endpoint}: HTTP {status}: {message}"
    if correlation_id:
        where += f" (correlationId {correlation_id})"
    kw = {"status": status, "correlation_id": correlation_id}
    if status == 0:
        return Unavailable(f"{endpoint}: request failed before a response: {message}", **kw)
    if status == 401:
        return AuthFailed(where, **kw)
    if status == 403:
        return Forbidden(where, missing_scopes=_missing_scopes(body), **kw)
    if status == 404:
        return NotFound(where, **kw)
    if status == 429:
        policy = str(body.get("policyName") or "").upper() or None
        if policy == "DAILY":
            return DailyLimitReached(where, **kw)
        return RateLimited(where, retry_after_s=_retry_after_s(headers), policy=policy, **kw)
    if status >= 500:
        return Unavailable(where, **kw)
    category = body.get("category")
    return BadRequest(where, category=category if isinstance(category, str) else None, problems=_problems(body), **kw)


_INPUT = re.compile(r"inputs\[(\d+)\]")


def _problems(body: Mapping[str, Any]) -> tuple[InputProblem, ...]:
    """HubSpot's ``errors`` (``ErrorDetail``: message, code, ``in``, ``context``), each with the
    property it names (``context.propertyName``) and the batch input (``in: inputs[3]…``)."""
    found = []
    details = body.get("errors")
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict):
            continue
        context = detail.get("context") if isinstance(detail.get("context"), dict) else {}
        names = context.get("propertyName") or context.get("propertyNames") or []
        names = names if isinstance(names, list) else [names]
        where = _INPUT.search(str(detail.get("in") or ""))
        found.append(InputProblem(
            code=str(detail.get("code") or "").upper()[:80],
            message=str(detail.get("message") or "")[:300],
            property_name=str(names[0])[:100] if names else None,
            input_index=int(where.group(1)) if where else None,
        ))
    return tuple(found)


def _json_body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str):
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _missing_scopes(body: Mapping[str, Any]) -> tuple[str, ...]:
    scopes: list[str] = []
    for error in body.get("errors") or []:
        context = (error or {}).get("context") or {}
        for key in ("requiredGranularScopes", "requiredScopes", "missingScopes"):
            value = context.get(key) or []
            scopes.extend(str(s) for s in (value if isinstance(value, list) else [value]))
    return tuple(dict.fromkeys(scopes))


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    value = None
    for key, item in dict(headers).items():
        if key.lower() == "retry-after":
            value = str(item).strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)

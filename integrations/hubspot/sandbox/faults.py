"""What the sandbox does to hurt clients on purpose: injected faults, and HubSpot's 429 body."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    """One injected fault. ``kind``: status | reset | reset_after | truncate | slow | garble.

    It applies to requests whose "METHOD path" matches ``match`` (a regex), after ``skip``
    matching requests have gone through, ``times`` times. ``reset`` hangs up before the request
    is carried out; ``reset_after`` and ``truncate`` carry it out (a write is made) and then lose
    the answer. A ``status`` fault answers without carrying the request out, unless
    ``processed`` (a 5xx from a proxy after HubSpot did the work); a 429 is never processed.
    ``garble`` carries the request out and answers 200 with a complete HTTP response whose body
    is not the promised JSON (``garble`` names how: see ``GARBLES``), which is what a proxy or
    a bad deploy in front of HubSpot sends; unlike ``truncate``, ``Content-Length`` matches.
    """

    kind: str
    match: str = ".*"
    times: int = 1
    skip: int = 0
    status: int = 503
    retry_after: str | None = None
    policy: str = "TEN_SECONDLY_ROLLING"
    delay_s: float = 0.0
    processed: bool = False
    garble: str = "cut"


# How a ``garble`` fault spoils a 2xx answer: the body it sends instead of the real one.
GARBLES = ("cut", "html", "empty_object", "empty_with_cursor", "empty_end", "not_utf8", "array", "duplicate_id")
# Well-formed answers that are wrong: no single call can tell (chaos leaves them out).
WELL_FORMED_GARBLES = ("empty_end", "duplicate_id")


def garbled_body(how: str, real: bytes) -> bytes:
    if how == "cut":
        return real[: max(len(real) // 2, 1)]
    if how == "html":
        return b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    if how == "empty_object":
        return b"{}"
    if how == "empty_with_cursor":
        return b'{"results": [], "paging": {"next": {"after": "100"}}}'
    if how == "empty_end":
        # Well-formed, and wrong: "no results, no next page" where there were more. Only the
        # reconcile's cross-check with HubSpot's own count can tell.
        return b'{"results": []}'
    if how == "not_utf8":
        return b'{"results": ["' + bytes([0xFF, 0xFE]) + b'"]}'
    if how == "array":
        return b"[]"
    if how == "duplicate_id":
        # The page's first record twice (a paging bug, a replica behind a proxy): PostgreSQL
        # refuses an upsert that touches one row twice in one statement.
        answer = json.loads(real)
        answer["results"] = answer.get("results", []) + answer.get("results", [])[:1]
        return json.dumps(answer).encode()
    raise ValueError(f"unknown garble {how!r}; one of {GARBLES}")


@dataclass
class SandboxStats:
    calls: Counter = field(default_factory=Counter)  # "endpoint:object_type" -> requests
    statuses: Counter = field(default_factory=Counter)
    rate_limited: int = 0
    faults_applied: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "total_calls": sum(self.calls.values()),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "rate_limited": self.rate_limited,
            "faults_applied": self.faults_applied,
        }


def chaos_fault(rng: random.Random, kinds: tuple[str, ...]) -> Fault:
    """One seeded random fault for chaos mode (soak tests, fault equivalence)."""
    kind = rng.choice(kinds)
    if kind == "429":
        return Fault("status", status=429, retry_after=rng.choice([None, "1"]))
    if kind == "503":
        return Fault("status", status=503, processed=rng.random() < 0.5)
    if kind == "garble":
        # Not "empty_end": a well-formed early end is caught by the reconcile's count check,
        # not per call, so chaos would turn every incremental list into a refused reconcile.
        return Fault("garble", garble=rng.choice([g for g in GARBLES if g not in WELL_FORMED_GARBLES]))
    return Fault(kind)


def rate_limit_body(policy: str, message: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "groupName": "api-calls",
    }

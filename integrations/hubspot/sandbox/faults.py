"""What the sandbox does to hurt clients on purpose: injected faults, and HubSpot's 429 body."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    """One injected fault. ``kind``: status | reset | reset_after | truncate | slow.

    It applies to requests whose "METHOD path" matches ``match`` (a regex), after ``skip``
    matching requests have gone through, ``times`` times. ``reset`` hangs up before the request
    is carried out; ``reset_after`` and ``truncate`` carry it out (a write is made) and then lose
    the answer. A ``status`` fault answers without carrying the request out, unless
    ``processed`` (a 5xx from a proxy after HubSpot did the work); a 429 is never processed.
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

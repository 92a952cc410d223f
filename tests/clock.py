"""The tests' clock: every test runs at a moment the suite sets, never at whatever today is.

The whole test process travels (time-machine moves ``time.time``, ``datetime.now`` and
``date.today`` for every thread, C extensions included; monotonic clocks and timed waits stay real)
to ``DEFAULT``, ticking from there, before any test module is imported (``pytest_configure``).
Tests whose outcome depends on the day run over ``MOMENTS`` as well: weekends, the last minutes of
a day or a year, a leap day and the four DST changes the partners we know live with. Worker
processes a test starts read the same clock through ``child_env()``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

# A Wednesday morning, far from a weekend, a month end and a DST change: the suite's ordinary day.
DEFAULT = datetime(2026, 12, 9, 10, 0, tzinfo=timezone.utc)

# Child processes read this variable in tests/clockwork/sitecustomize.py.
CLOCK_VARIABLE = "RENEWAL_WORKER_TESTS_CLOCK"
CLOCKWORK = Path(__file__).resolve().parent / "clockwork"


@dataclass(frozen=True)
class Moment:
    """An instant and the time zone the partner's office is configured in."""

    id: str
    at: datetime
    timezone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def __str__(self) -> str:
        return self.id


MOMENTS = (
    Moment("monday", datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)),
    Moment("saturday", datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc)),
    Moment("sunday-night", datetime(2026, 12, 6, 23, 0, tzinfo=timezone.utc)),
    # Still Friday in UTC, already Saturday in Madrid.
    Moment("friday-2330-utc", datetime(2026, 12, 11, 23, 30, tzinfo=timezone.utc), "Europe/Madrid"),
    Moment("new-year-eve-2359-utc", datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)),
    Moment("leap-day-2028", datetime(2028, 2, 29, 12, 0, tzinfo=timezone.utc)),
    # Minutes before each change of the clocks (it happens while the test runs or just after).
    Moment("madrid-spring-forward", datetime(2027, 3, 28, 0, 57, tzinfo=timezone.utc), "Europe/Madrid"),
    Moment("madrid-fall-back", datetime(2027, 10, 31, 0, 57, tzinfo=timezone.utc), "Europe/Madrid"),
    Moment("new-york-spring-forward", datetime(2027, 3, 14, 6, 57, tzinfo=timezone.utc), "America/New_York"),
    Moment("new-york-fall-back", datetime(2027, 11, 7, 5, 57, tzinfo=timezone.utc), "America/New_York"),
    # Five minutes before midnight in the configured zone: the local day ends, UTC's is long over.
    Moment("before-midnight-new-york", datetime(2026, 12, 9, 4, 55, tzinfo=timezone.utc), "America/New_York"),
    Moment("before-midnight-utc", datetime(2026, 12, 9, 23, 55, tzinfo=timezone.utc)),
)

# Parametrises a test over every moment (the ``moment`` fixture travels there).
over_moments = pytest.mark.parametrize("moment", MOMENTS, ids=str, indirect=True)


def start_suite_clock() -> None:
    """The whole process travels to ``DEFAULT`` and ticks from there (for the session)."""
    time_machine.travel(DEFAULT, tick=True).start()


def now() -> datetime:
    return datetime.now(timezone.utc)


def local_today(tz: ZoneInfo | str = "UTC") -> date:
    """Today as the partner's office in ``tz`` sees it, on the tests' clock."""
    return now().astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz).date()


def days_from_today(days: int, tz: ZoneInfo | str = "UTC") -> str:
    return (local_today(tz) + timedelta(days=days)).isoformat()


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a worker process a test starts: none of the machine's own HubSpot or
    worker settings, ``extra`` added, and the test's clock (now, ticking from there), whatever the
    machine's clock says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "RENEWAL_WORKER"))}
    env.update(extra)
    env[CLOCK_VARIABLE] = now().isoformat()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CLOCKWORK), env.get("PYTHONPATH", "")]))
    return env

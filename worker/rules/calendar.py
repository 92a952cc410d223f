"""Due dates: a working day in the configured time zone, at the configured local time.

Working days skip weekends and the configured country's public holidays (``[reminders]
holidays``, from the well-kept ``holidays`` package: its data is maintained per country and
subdivision, where a hand-written list would go stale every year)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Container
from zoneinfo import ZoneInfo

SATURDAY = 5
NO_HOLIDAYS: frozenset[date] = frozenset()


class PublicHolidays:
    """The public holidays of a country, optionally of one of its subdivisions ("ES", "ES-MD"):
    ``day in holidays``. Years are computed as they are asked for."""

    def __init__(self, code: str):
        import holidays

        country, _, subdivision = code.strip().upper().partition("-")
        self.code = code.strip().upper()
        self._days = holidays.country_holidays(country, subdiv=subdivision or None)

    def __contains__(self, day: object) -> bool:
        return day in self._days

    def name(self, day: date) -> str | None:
        return self._days.get(day)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicHolidays) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        return f"PublicHolidays({self.code!r})"


def is_working(day: date, *, skip_weekends: bool, holidays: Container[date] = NO_HOLIDAYS) -> bool:
    return not (skip_weekends and day.weekday() >= SATURDAY) and day not in holidays


def working_day(day: date, *, not_before: date, skip_weekends: bool, holidays: Container[date] = NO_HOLIDAYS) -> date:
    """The day a task falls due: a weekend day or a public holiday moves back to the working day
    before (a deadline is better met early than late); a day already past moves forward to
    ``not_before``, and from there to the next working day."""
    while not is_working(day, skip_weekends=skip_weekends, holidays=holidays) and day > date.min + timedelta(days=7):
        day -= timedelta(days=1)
    if day < not_before:
        day = not_before
        while not is_working(day, skip_weekends=skip_weekends, holidays=holidays):
            day += timedelta(days=1)
    return day


def due_instant(day: date, due_time: str, tz: ZoneInfo) -> datetime:
    """``day`` at the local ``due_time`` in ``tz``, as UTC. Across a DST change the local time
    stays put and the UTC hour moves; a local time that doesn't exist that day (the spring-forward
    gap) lands just after the gap, as the wall clock would show it."""
    hour, minute = (int(part) for part in due_time.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=tz)
    # Round-trip through UTC normalises a time inside the spring-forward gap.
    return local.astimezone(timezone.utc).astimezone(tz).astimezone(timezone.utc)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """Today, as the partner's office sees it."""
    return moment.astimezone(tz).date()

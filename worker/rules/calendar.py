"""Due dates: a working day in the configured time zone, at the configured local time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SATURDAY = 5


def working_day(day: date, *, not_before: date, skip_weekends: bool) -> date:
    """The day a task falls due: a weekend day moves back to the Friday before (a deadline is
    better met early than late); a day already past moves forward to ``not_before``, and from
    there to the next working day."""
    if skip_weekends and day.weekday() >= SATURDAY:
        day -= timedelta(days=day.weekday() - 4)
    if day < not_before:
        day = not_before
        while skip_weekends and day.weekday() >= SATURDAY:
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

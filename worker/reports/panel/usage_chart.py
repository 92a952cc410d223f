"""The client page's tier usage over time: marketing contacts day by day as the client's own
portal counted them, against the tier, with the projection's line to the day the tier is reached.
Pure geometry for an SVG drawn on the server (like the renewals timeline): no script, readable by
a screen reader through its title and the sentences beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

from worker.rules.model import UsagePoint
from worker.rules.projection import Projection

WIDTH, HEIGHT, LEFT, BOTTOM = 720.0, 170.0, 56.0, 22.0


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    on: date
    count: int
    estimated: bool


@dataclass(frozen=True)
class UsageChart:
    line: str  # the polyline's points through every reading, oldest first
    dots: tuple[Dot, ...]
    tier_y: float
    projection: tuple[float, float, float, float] | None  # x1, y1, x2, y2: today's count to the tier
    months: tuple[tuple[float, date], ...]  # x of each month's first day, for its label
    levels: tuple[tuple[float, int], ...]  # y of 0, the middle and the tier, for their labels
    renewal_x: float | None


def usage_chart(points: Sequence[UsagePoint], tier: int | None, projection: Projection | None, renewal: date | None) -> UsageChart | None:
    if not points or not tier:
        return None
    start = points[0].measured_on
    # The chart ends a little after the renewal (or the last reading): a projection reaching the
    # tier years later is drawn to the edge, not stretched over a decade of empty months.
    end = max([points[-1].measured_on + timedelta(days=7)] + ([renewal + timedelta(days=14)] if renewal else []))
    if projection and renewal is None:
        end = max(end, min(projection.reach_on + timedelta(days=7), points[-1].measured_on + timedelta(days=365)))
    span = max((end - start).days, 1)
    top = max([tier] + [p.marketing_contacts for p in points]) * 1.12

    def x(on: date) -> float:
        return round(LEFT + (WIDTH - LEFT - 8) * (on - start).days / span, 1)

    def y(count: float) -> float:
        return round((HEIGHT - BOTTOM) * (1 - count / top), 1)

    dots = tuple(Dot(x(p.measured_on), y(p.marketing_contacts), p.measured_on, p.marketing_contacts, p.source != "measured") for p in points)
    months = []
    first = date(start.year, start.month, 1)
    while first <= end:
        if first >= start:
            months.append((x(first), first))
        first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    if len(months) > 8:  # a long history: fewer labels, so they never touch
        months = months[:: -(-len(months) // 8)]
    return UsageChart(
        line=" ".join(f"{d.x},{d.y}" for d in dots),
        dots=dots,
        tier_y=y(tier),
        projection=_projection_line(dots[-1], projection, tier, end, x, y) if projection else None,
        months=tuple(months),
        levels=((y(0), 0), (y(tier / 2), tier // 2), (y(tier), tier)),
        renewal_x=x(renewal) if renewal and renewal <= end else None,
    )


def _projection_line(last: Dot, projection: Projection, tier: int, end: date, x, y) -> tuple[float, float, float, float]:
    """From the last reading towards the tier at the projection's pace, cut at the chart's end."""
    if projection.reach_on <= end:
        return (last.x, last.y, x(projection.reach_on), y(tier))
    per_day = projection.per_month / 30.44
    at_end = last.count + per_day * (end - last.on).days
    return (last.x, last.y, x(end), y(min(at_end, tier)))

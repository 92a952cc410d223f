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
    end = max([points[-1].measured_on + timedelta(days=7)] + [d for d in (projection.reach_on if projection else None, renewal) if d])
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
    if len(months) > 8:  # a long history: every other month, so the labels never touch
        months = months[::2]
    return UsageChart(
        line=" ".join(f"{d.x},{d.y}" for d in dots),
        dots=dots,
        tier_y=y(tier),
        projection=(dots[-1].x, dots[-1].y, x(projection.reach_on), y(tier)) if projection else None,
        months=tuple(months),
        levels=((y(0), 0), (y(tier / 2), tier // 2), (y(tier), tier)),
        renewal_x=x(renewal) if renewal and renewal <= end else None,
    )

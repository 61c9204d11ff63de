"""Server-rendered chart fallbacks: what a page shows when JavaScript does not run."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import dateformat


@dataclass(frozen=True)
class Sparkline:
    points: str
    width: int
    height: int
    peak: float
    count: int


def sparkline(values: list[float], *, width: int = 240, height: int = 48) -> Sparkline | None:
    """SVG polyline points for `values` scaled into width x height (None with fewer than two)."""
    if len(values) < 2:
        return None
    peak = max(values) or 1.0
    step = width / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - (v / peak) * (height - 2) - 1:.1f}" for i, v in enumerate(values)
    )
    return Sparkline(points=points, width=width, height=height, peak=max(values), count=len(values))


@dataclass(frozen=True)
class TimeChart:
    data: dict[str, Any]  # what static/js/charts.js hands to uPlot: unix seconds and series
    rows: list[dict[str, Any]]  # the same numbers for the table alternative
    spark: Sparkline | None
    unit: str  # what one row of the table covers


# Hourly points over more than three days are drawn per day: a month of a big event's sales
# was 720 table rows (most of the page's rendering time) that nobody reads hour by hour.
HOURLY_SPAN_MAX = timedelta(hours=72)


def _by_day(points: list[dict[str, Any]], at: str, keys: list[str]) -> list[dict[str, Any]]:
    days: dict[datetime, dict[str, Any]] = {}
    for point in points:
        moment = point[at]
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        bucket = days.setdefault(day, {at: day, **dict.fromkeys(keys, 0)})
        for key in keys:
            bucket[key] += point[key] or 0
    return [days[day] for day in sorted(days)]


def time_chart(
    points: list[dict[str, Any]],
    at: str,
    series: list[tuple[str, str]],
    bucket: timedelta = timedelta(hours=1),
) -> TimeChart:
    """One chart's data from rows of (time, values...), in all three forms a page shows.
    `bucket` is what one row covers (an hour or a day); hourly rows over more than three days
    are added up per day."""
    daily = bucket >= timedelta(days=1) or (
        len(points) > 1 and points[-1][at] - points[0][at] > HOURLY_SPAN_MAX
    )
    if daily and bucket < timedelta(days=1):
        points = _by_day(points, at, [key for _, key in series])
    label_format = "j M" if daily else "j M H:i"
    return TimeChart(
        data={
            "x": [int(p[at].timestamp()) for p in points],
            # The width of one point, for a chart of one point (static/js/charts.js).
            "step": 86400 if daily else 3600,
            "series": [
                {"label": label, "values": [float(p[key] or 0) for p in points]}
                for label, key in series
            ],
        },
        rows=[
            {
                "at": p[at],
                "label": dateformat.format(p[at], label_format),
                "values": [p[key] or 0 for _, key in series],
            }
            for p in points
        ],
        spark=sparkline([float(points[i][series[0][1]] or 0) for i in range(len(points))]),
        unit="Day (UTC)" if daily else "Hour (UTC)",
    )

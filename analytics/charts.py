"""Server-rendered chart fallbacks: what a page shows when JavaScript does not run."""

from dataclasses import dataclass
from typing import Any


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


def time_chart(points: list[dict[str, Any]], at: str, series: list[tuple[str, str]]) -> TimeChart:
    """One chart's data from rows of (time, values...), in all three forms a page shows."""
    return TimeChart(
        data={
            "x": [int(p[at].timestamp()) for p in points],
            "series": [
                {"label": label, "values": [float(p[key] or 0) for p in points]}
                for label, key in series
            ],
        },
        rows=[{"at": p[at], "values": [p[key] or 0 for _, key in series]} for p in points],
        spark=sparkline([float(points[i][series[0][1]] or 0) for i in range(len(points))]),
    )

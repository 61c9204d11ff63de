"""The chart data a page embeds: what one point covers, and hourly points summed per day."""

from datetime import UTC, datetime, timedelta

from analytics.charts import time_chart

SERIES = [("Tickets sold", "tickets")]


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def test_one_daily_point_says_it_covers_a_day() -> None:
    chart = time_chart([{"at": at(5, 0), "tickets": 16}], "at", SERIES, bucket=timedelta(days=1))

    assert chart.data["x"] == [int(at(5, 0).timestamp())]
    assert chart.data["step"] == 86400
    assert chart.unit == "Day (UTC)"
    assert chart.rows[0]["label"] == "5 Dec"


def test_one_hourly_point_says_it_covers_an_hour() -> None:
    chart = time_chart([{"at": at(5, 16), "tickets": 4}], "at", SERIES)

    assert chart.data["step"] == 3600
    assert chart.unit == "Hour (UTC)"
    assert chart.rows[0]["label"] == "5 Dec 16:00"


def test_hourly_points_over_more_than_three_days_are_summed_per_day() -> None:
    points = [
        {"at": at(1, 9), "tickets": 2},
        {"at": at(1, 17), "tickets": 3},
        {"at": at(5, 16), "tickets": 4},
    ]

    chart = time_chart(points, "at", SERIES)

    assert chart.data["x"] == [int(at(1, 0).timestamp()), int(at(5, 0).timestamp())]
    assert chart.data["series"][0]["values"] == [5.0, 4.0]
    assert chart.data["step"] == 86400

"""The booking core's state machine, with one more invariant: the summary tables, refreshed
incrementally after every step and rebuilt from scratch, equal counts over the raw rows."""

from typing import Any

import pytest
from django.test import override_settings
from hypothesis.stateful import invariant

from analytics.models import EventHourStats
from analytics.summaries import summaries_rebuild, summaries_refresh
from tests.analytics.scenario import FIGURES, truth
from tests.properties.booking_machine import BookingMachine, run_machine
from ticketing.selectors import event_revenue_net

ROW = ("event_id", "tier_id", "hour", *FIGURES)


def _rows(event_id: Any) -> list[tuple[Any, ...]]:
    return sorted(
        EventHourStats.objects.filter(event_id=event_id).values_list(*ROW),
        key=lambda r: tuple(map(str, r)),
    )


class SummaryMachine(BookingMachine):
    @invariant()
    def summaries_equal_raw_rows(self) -> None:
        summaries_refresh()
        incremental = _rows(self.event.pk)
        totals: dict[tuple[object, object], dict[str, Any]] = {}
        for row in EventHourStats.objects.filter(event_id=self.event.pk).values(
            "event_id", "tier_id", *FIGURES
        ):
            key = (row.pop("event_id"), row.pop("tier_id"))
            bucket = totals.setdefault(key, dict.fromkeys(FIGURES, 0))
            for name, value in row.items():
                bucket[name] += value
        assert {k: v for k, v in totals.items() if any(v.values())} == truth([self.event])
        net = sum((v["net"] for v in totals.values()), start=0)
        assert net == event_revenue_net(self.event.pk)
        summaries_rebuild()
        assert _rows(self.event.pk) == incremental


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(900)
@override_settings(ANALYTICS_REFRESH_OVERLAP_SECONDS=0)
def test_summaries_follow_the_booking_machine() -> None:
    summaries_rebuild()
    run_machine(SummaryMachine, examples=4, steps=12)

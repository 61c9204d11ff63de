import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from analytics.models import EventDayRating, EventHourStats
from analytics.summaries import summaries_rebuild, summaries_refresh
from checkin.services import checkin_list_default, ticket_scan
from events.feedback import feedback_hide
from events.models import Event, Feedback
from tests.analytics.scenario import FIGURES, Scenario, money_truth, truth
from tests.factories import EventFactory, TicketTierFactory, UserFactory
from ticketing.aftersale.refunds import order_refund
from ticketing.booking.services import order_pay, order_reserve
from ticketing.models import EventPolicy, Refund

ROW_FIELDS = ("event_id", "tier_id", "hour", *FIGURES, "page_views", "unique_visitors")


def _rows() -> list[tuple[Any, ...]]:
    return sorted(EventHourStats.objects.values_list(*ROW_FIELDS), key=lambda r: tuple(map(str, r)))


def _totals() -> dict[tuple[Any, Any], dict[str, Any]]:
    totals: dict[tuple[Any, Any], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for row in EventHourStats.objects.values("event_id", "tier_id", *FIGURES):
        key = (row.pop("event_id"), row.pop("tier_id"))
        for name, value in row.items():
            totals[key][name] += value
    return {key: row for key, row in totals.items() if any(row.values())}


def _events(organizer: User) -> list[Event]:
    organization = organizer.organizations.get()
    events = []
    for number in range(3):
        event = EventFactory.create(organization=organization)
        # One event lets the organizer refund tickets already used at the door, so a check-in
        # can stop counting.
        EventPolicy.objects.create(event=event, refunds_after_entry=number == 0)
        TicketTierFactory.create(event=event, name="Floor", price=Decimal("30.00"), capacity=12)
        TicketTierFactory.create(event=event, name="VIP", price=Decimal("95.50"), capacity=3)
        events.append(event)
    return events


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [1, 2])
def test_refresh_and_rebuild_equal_counts_over_raw_rows(
    organizer: User, settings, seed: int
) -> None:
    # No overlap: the refresh must find every change by its watermark alone.
    settings.ANALYTICS_REFRESH_OVERLAP_SECONDS = 0
    scenario = Scenario(organizer=organizer, events=_events(organizer), rng=random.Random(seed))
    summaries_rebuild()
    for step in range(45):
        scenario.step()
        if step % 5 == 4:
            summaries_refresh()
    summaries_refresh()
    incremental = _rows()
    expected = truth(scenario.events)

    assert {"buy", "refund", "transfer", "scan"} <= set(scenario.steps)
    assert _totals() == expected
    net = sum((r["net"] for r in _totals().values()), Decimal("0"))
    assert net == money_truth(scenario.events)

    summaries_rebuild()
    assert _rows() == incremental


@pytest.mark.django_db(transaction=True)
def test_refund_after_refresh_takes_back_an_admission_from_an_earlier_hour(
    organizer: User, settings
) -> None:
    settings.ANALYTICS_REFRESH_OVERLAP_SECONDS = 0
    event = _events(organizer)[0]
    tier = event.tiers.get(name="Floor")
    buyer = UserFactory.create()
    order = order_reserve(buyer=buyer, event_id=event.pk, items=[(tier.pk, 2)], idempotency_key="k")
    tickets = order_pay(buyer=buyer, order_id=order.pk, idempotency_key="p").tickets
    # Scanned offline three hours ago and synced now.
    three_hours_ago = timezone.now() - timedelta(hours=3)
    for ticket in tickets:
        ticket_scan(
            payload=ticket.qr_payload,
            checkin_list=checkin_list_default(event),
            scanned_by=None,
            scanned_at=three_hours_ago,
        )
    summaries_refresh()
    past = EventHourStats.objects.get(
        event=event, tier=tier, hour=three_hours_ago.replace(minute=0, second=0, microsecond=0)
    )
    assert past.checkins == 2

    order_refund(
        actor=organizer,
        order_id=order.pk,
        ticket_ids=[tickets[0].pk],
        idempotency_key="r",
        as_organizer=True,
        reason=Refund.Reason.ORGANIZER,
    )
    summaries_refresh()

    past.refresh_from_db()
    assert past.checkins == 1


@pytest.mark.django_db(transaction=True)
def test_refresh_recomputes_only_changed_buckets_and_rebuild_repairs_the_rest(
    organizer: User, settings
) -> None:
    settings.ANALYTICS_REFRESH_OVERLAP_SECONDS = 0
    quiet, busy = _events(organizer)[:2]
    buyer = UserFactory.create()
    for event in (quiet, busy):
        tier = event.tiers.get(name="Floor")
        order = order_reserve(
            buyer=buyer, event_id=event.pk, items=[(tier.pk, 1)], idempotency_key=f"k{event.pk}"
        )
        order_pay(buyer=buyer, order_id=order.pk, idempotency_key=f"p{event.pk}")
    summaries_refresh()
    # Damage the quiet event's row: only a rebuild may touch it again.
    EventHourStats.objects.filter(event=quiet).update(tickets=99)
    tier = busy.tiers.get(name="Floor")
    order = order_reserve(buyer=buyer, event_id=busy.pk, items=[(tier.pk, 2)], idempotency_key="k2")
    order_pay(buyer=buyer, order_id=order.pk, idempotency_key="p2")

    outcome = summaries_refresh()

    assert outcome.buckets == 1
    assert EventHourStats.objects.get(event=quiet).tickets == 99
    assert EventHourStats.objects.filter(event=busy).aggregate(t=Sum("tickets"))["t"] == 3
    call_command("analytics_rebuild")
    assert EventHourStats.objects.get(event=quiet).tickets == 1


@pytest.mark.django_db(transaction=True)
def test_ratings_per_day_follow_feedback_and_hiding(organizer: User, settings) -> None:
    settings.ANALYTICS_REFRESH_OVERLAP_SECONDS = 0
    event = EventFactory.create(organization=organizer.organizations.get())
    summaries_rebuild()
    authors = UserFactory.create_batch(3)
    entries = [
        Feedback.objects.create(event=event, author=a, rating=r)
        for a, r in zip(authors, [5, 4, 2], strict=True)
    ]
    summaries_refresh()
    day = EventDayRating.objects.get(event=event)
    assert (day.rating_count, day.rating_sum, day.rating_mean) == (3, 11, Decimal("3.67"))

    feedback_hide(actor=organizer, feedback=entries[2])
    summaries_refresh()
    day = EventDayRating.objects.get(event=event)
    assert (day.rating_count, day.rating_mean) == (2, Decimal("4.50"))

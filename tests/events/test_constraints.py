"""Invariants the database holds even when the services are bypassed."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection

from events.models import Event, TicketTier


def test_direct_update_past_capacity_is_refused_by_the_database(tier: TicketTier) -> None:
    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_tickettier SET sold_count = capacity + 1 WHERE id = %s", [tier.pk]
        )


def test_direct_update_to_negative_sold_count_is_refused_by_the_database(
    tier: TicketTier,
) -> None:
    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        cursor.execute("UPDATE events_tickettier SET sold_count = -1 WHERE id = %s", [tier.pk])


def test_event_ending_before_it_starts_is_refused_by_the_database(event: Event) -> None:
    with pytest.raises(IntegrityError):
        Event.objects.filter(pk=event.pk).update(ends_at=event.starts_at - timedelta(minutes=1))

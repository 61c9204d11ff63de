"""Seated events for tests, built through the seating services."""

from decimal import Decimal
from typing import Any

from accounts.models import User
from events.models import Event, TicketTier
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory
from ticketing.models import EventSeat
from ticketing.seating.services import SeatBlock, event_seating_apply, seat_map_create


def seated_event(
    *blocks: SeatBlock, prices: dict[str, str] | None = None, **event_fields: Any
) -> tuple[Event, dict[str, TicketTier]]:
    """A published event with the given blocks as its seats; one tier per zone."""
    event = EventFactory.create(**event_fields)
    owner: User = MembershipFactory.create(organization=event.organization).user
    zones = sorted({block.zone for block in blocks})
    tiers = {
        zone: TicketTierFactory.create(
            event=event, name=f"Zone {zone}", price=Decimal((prices or {}).get(zone, "40.00"))
        )
        for zone in zones
    }
    seat_map = seat_map_create(user=owner, venue=event.venue, name="Hall", blocks=blocks)
    event_seating_apply(
        user=owner,
        event=event,
        seat_map=seat_map,
        zone_tiers={zone: tier.pk for zone, tier in tiers.items()},
    )
    for tier in tiers.values():
        tier.refresh_from_db()
    return event, tiers


def seat(event: Event, label: str) -> EventSeat:
    section, rest = label.rsplit(" ", 1)
    row, number = rest.split("-")
    return EventSeat.objects.get(event=event, section=section, row=row, number=number)

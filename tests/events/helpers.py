"""Builders for discovery, agenda and feedback tests (rows through factories or the services)."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import User
from events.models import Event, TicketTier
from events.search import SearchParams, SearchResult, event_search
from tests.factories import (
    CategoryFactory,
    EventFactory,
    OrganizationFactory,
    TicketTierFactory,
    VenueFactory,
    order_paid,
)
from ticketing.models import Ticket


def make_event(
    title: str,
    *,
    city: str = "Berlin",
    venue: str = "Main Hall",
    category: str = "Concert",
    description: str = "A fine evening.",
    performers: str = "",
    starts_at: datetime | None = None,
    hours: float = 3,
    time_zone: str = "Europe/Berlin",
    price: Decimal | int | None = Decimal("25.00"),
    capacity: int = 100,
    latitude: float | None = None,
    longitude: float | None = None,
    **extra: Any,
) -> Event:
    organization = extra.pop("organization", None) or OrganizationFactory.create()
    starts = starts_at or timezone.now() + timedelta(days=7)
    event = EventFactory.create(
        title=title,
        organization=organization,
        venue=VenueFactory.create(
            organization=organization,
            name=venue,
            city=city,
            latitude=latitude,
            longitude=longitude,
        ),
        category=CategoryFactory.create(name=category, slug=category.lower().replace(" ", "-")),
        description=description,
        performers=performers,
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        time_zone=time_zone,
        **extra,
    )
    if price is not None:
        TicketTierFactory.create(event=event, price=price, capacity=capacity)
    return event


def search(**params: Any) -> SearchResult:
    return event_search(SearchParams(**params))


def titles(**params: Any) -> list[str]:
    return [e.title for e in search(per_page=100, **params).events]


def holder_of(event: Event, user: User) -> Ticket:
    """`user` buys a ticket through the real services (the event must be on sale)."""
    tier = event.tiers.first() or TicketTierFactory.create(event=event)
    assert isinstance(tier, TicketTier)
    outcome = order_paid(buyer=user, tier=tier)
    return outcome.tickets[0]


def end_event(event: Event, *, days_ago: float = 1) -> Event:
    """Move an event into the past (after its tickets were sold)."""
    ends = timezone.now() - timedelta(days=days_ago)
    Event.objects.filter(pk=event.pk).update(starts_at=ends - timedelta(hours=3), ends_at=ends)
    event.refresh_from_db()
    return event

"""My tickets costs a constant number of queries, however many tickets a person holds."""

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from tests.factories import EventFactory, TicketTierFactory, VenueFactory, order_paid


def add_tickets(holder: User, count: int) -> None:
    """`count` tickets, each for a different event at a different venue and tier."""
    for n in range(count):
        event = EventFactory.create(venue=VenueFactory.create(name=f"Venue {n}", city=f"City {n}"))
        order_paid(buyer=holder, tier=TicketTierFactory.create(event=event, name=f"Tier {n}"))


def test_my_tickets_is_a_constant_number_of_queries(
    client: Client, attendee: User, django_assert_max_num_queries: Any
) -> None:
    client.force_login(attendee)
    add_tickets(attendee, 3)
    client.get("/tickets/")
    with CaptureQueriesContext(connection) as captured:
        few = client.get("/tickets/")
    assert len(few.context["tickets"]) == 3
    baseline = len(captured)
    assert baseline <= 6, [q["sql"] for q in captured]

    add_tickets(attendee, 12)
    with django_assert_max_num_queries(baseline):
        many = client.get("/tickets/")

    assert len(many.context["tickets"]) == 15

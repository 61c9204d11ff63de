"""Pages cost a constant number of queries, however many rows they show."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from events.models import Event
from tests.factories import CategoryFactory, EventFactory, TicketTierFactory

# A ceiling as well, so "constant" cannot quietly become "constant but large".
MAX_QUERIES = 12


def queries_for(client: Client, url: str) -> int:
    client.get(url)  # warm-up: sessions, content types and the like are cached after this
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert len(captured) <= MAX_QUERIES, [q["sql"] for q in captured]
    return len(captured)


def assert_constant(
    client: Client,
    url: str,
    add_rows: Callable[[int], None],
    assert_max: Any,
    rows_shown: Callable[[Any], int],
    few: int = 3,
    many: int = 15,
) -> None:
    add_rows(few)
    baseline = queries_for(client, url)
    add_rows(many - few)
    client.get(url)
    with assert_max(baseline):
        response = client.get(url)
    assert rows_shown(response) >= min(many, 12)


def public_event(n: int) -> Event:
    event = EventFactory.create(
        category=CategoryFactory.create(name=f"Category {n}", slug=f"category-{n}")
    )
    TicketTierFactory.create(event=event)
    TicketTierFactory.create(event=event, name="VIP", price=99)
    return event


def test_public_event_list_is_a_constant_number_of_queries(
    client: Client, db: None, django_assert_max_num_queries: Any
) -> None:
    counter = iter(range(1000))

    def add(n: int) -> None:
        for _ in range(n):
            public_event(next(counter))

    assert_constant(
        client,
        "/events/",
        add,
        django_assert_max_num_queries,
        lambda r: len(r.context["result"].events),
    )


def test_event_detail_is_a_constant_number_of_queries(
    client: Client, event: Event, django_assert_max_num_queries: Any
) -> None:
    def add(n: int) -> None:
        for i in range(n):
            TicketTierFactory.create(event=event, name=f"Tier {event.tiers.count() + i}")

    assert_constant(
        client,
        event.get_absolute_url(),
        add,
        django_assert_max_num_queries,
        lambda r: len(r.context["tiers"]),
    )


def test_organizer_event_list_is_a_constant_number_of_queries(
    client: Client, organizer: User, django_assert_max_num_queries: Any
) -> None:
    client.force_login(organizer)
    organization = organizer.organizations.get()

    def add(n: int) -> None:
        for i in range(n):
            event = EventFactory.create(
                organization=organization,
                status=[Event.Status.DRAFT, Event.Status.PUBLISHED][i % 2],
                category=CategoryFactory.create(name=f"Kind {i}", slug=f"kind-{i}")
                if i % 3
                else None,
            )
            TicketTierFactory.create(event=event)
            TicketTierFactory.create(event=event, name="Balcony")

    assert_constant(
        client,
        "/manage/events/",
        add,
        django_assert_max_num_queries,
        lambda r: len(r.context["events"]),
    )


@pytest.mark.parametrize("url", ["/", "/events/?q=Event&city=Berlin"])
def test_home_and_filtered_list_stay_within_the_query_ceiling(
    client: Client, db: None, url: str
) -> None:
    for n in range(8):
        public_event(100 + n)

    assert queries_for(client, url) <= MAX_QUERIES

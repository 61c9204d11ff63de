"""An event's max_per_buyer, in one order and across orders, GA and seated, API and page; and
SOLD_OUT answers that send the buyer to the waitlist."""

import pytest
from django.test import Client

from accounts.models import User
from events.models import Event, TicketTier
from tests.api.conftest import login
from tests.factories import EventFactory, TicketTierFactory, UserFactory, order_paid
from tests.ticketing.seated import seat, seated_event
from ticketing.booking.gate import gate_sync
from ticketing.booking.services import order_reserve
from ticketing.errors import QuantityLimit
from ticketing.models import Order
from ticketing.seating.services import SeatBlock, order_reserve_seats

BLOCK = SeatBlock(section="Stalls", rows=1, seats_per_row=6, zone="A")


@pytest.fixture
def limited(db: None) -> TicketTier:
    """A tier of an event that allows three tickets per person."""
    return TicketTierFactory.create(event=EventFactory.create(max_per_buyer=3), max_per_order=10)


def held(buyer: User, event: Event) -> int:
    return sum(
        line.quantity
        for order in Order.objects.filter(buyer=buyer, event=event, status__in=["pending", "paid"])
        for line in order.lines.all()
    )


def test_one_order_over_the_limit_is_refused_and_holds_nothing(
    attendee: User, limited: TicketTier
) -> None:
    with pytest.raises(QuantityLimit):
        order_reserve(
            buyer=attendee, event_id=limited.event_id, items=[(limited.pk, 4)], idempotency_key="a"
        )
    limited.refresh_from_db()
    assert limited.sold_count == 0
    order_reserve(
        buyer=attendee, event_id=limited.event_id, items=[(limited.pk, 3)], idempotency_key="b"
    )
    assert held(attendee, limited.event) == 3


def test_orders_add_up_paid_and_held_alike(attendee: User, limited: TicketTier) -> None:
    order_paid(buyer=attendee, tier=limited, quantity=2)
    order_reserve(
        buyer=attendee, event_id=limited.event_id, items=[(limited.pk, 1)], idempotency_key="x"
    )
    with pytest.raises(QuantityLimit) as refused:
        order_reserve(
            buyer=attendee, event_id=limited.event_id, items=[(limited.pk, 1)], idempotency_key="y"
        )
    assert refused.value.details == {"limit": 3, "held": 3}
    # Somebody else is not counted against this buyer.
    order_reserve(
        buyer=UserFactory.create(),
        event_id=limited.event_id,
        items=[(limited.pk, 3)],
        idempotency_key="z",
    )


def test_an_expired_hold_no_longer_counts(attendee: User, limited: TicketTier) -> None:
    first = order_reserve(
        buyer=attendee, event_id=limited.event_id, items=[(limited.pk, 3)], idempotency_key="1"
    )
    Order.objects.filter(pk=first.pk).update(expires_at=first.created_at)
    order_reserve(
        buyer=attendee, event_id=limited.event_id, items=[(limited.pk, 3)], idempotency_key="2"
    )


def test_the_limit_spans_tiers(attendee: User, limited: TicketTier) -> None:
    other = TicketTierFactory.create(event=limited.event)
    order_reserve(
        buyer=attendee, event_id=limited.event_id, items=[(limited.pk, 2)], idempotency_key="1"
    )
    with pytest.raises(QuantityLimit):
        order_reserve(
            buyer=attendee, event_id=limited.event_id, items=[(other.pk, 2)], idempotency_key="2"
        )


@pytest.mark.django_db
def test_seats_count_against_the_limit_in_one_order_and_across_orders() -> None:
    event, _ = seated_event(BLOCK, max_per_buyer=3)
    buyer = UserFactory.create()
    a = [seat(event, f"Stalls A-{n}") for n in range(1, 7)]

    with pytest.raises(QuantityLimit):
        order_reserve_seats(
            buyer=buyer, event_id=event.pk, seat_ids=[s.pk for s in a[:4]], idempotency_key="1"
        )
    order_reserve_seats(
        buyer=buyer, event_id=event.pk, seat_ids=[s.pk for s in a[:2]], idempotency_key="2"
    )
    with pytest.raises(QuantityLimit):
        order_reserve_seats(
            buyer=buyer, event_id=event.pk, seat_ids=[s.pk for s in a[2:4]], idempotency_key="3"
        )
    assert not any(s.order_id for s in (seat(event, f"Stalls A-{n}") for n in (3, 4)))
    order_reserve_seats(buyer=buyer, event_id=event.pk, seat_ids=[a[2].pk], idempotency_key="4")


def test_api_answers_quantity_limit_across_orders(
    client: Client, attendee: User, limited: TicketTier
) -> None:
    api = login(client, attendee)
    url = f"/events/{limited.event_id}/register"
    first = api.post(url, {"tier_id": str(limited.pk), "quantity": 2, "idempotency_key": "1"})
    second = api.post(url, {"tier_id": str(limited.pk), "quantity": 2, "idempotency_key": "2"})

    assert first.status_code == 201
    assert second.status_code == 422
    assert second.json()["error"]["code"] == "QUANTITY_LIMIT"
    assert "3 tickets per person" in second.json()["error"]["message"]


@pytest.mark.django_db
def test_api_seats_over_the_limit_are_refused(client: Client) -> None:
    event, _ = seated_event(BLOCK, max_per_buyer=2)
    api = login(client, UserFactory.create())
    ids = [str(seat(event, f"Stalls A-{n}").pk) for n in (1, 2, 3)]

    response = api.post(f"/events/{event.pk}/register", {"seat_ids": ids, "idempotency_key": "k"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "QUANTITY_LIMIT"


def test_the_booking_page_shows_the_limit_as_a_form_error(
    client: Client, attendee: User, limited: TicketTier
) -> None:
    client.force_login(attendee)
    order_paid(buyer=attendee, tier=limited, quantity=3)

    response = client.post(
        f"/events/{limited.event_id}/book", {"idempotency_key": "page", f"qty_{limited.pk}": "1"}
    )

    assert response.status_code == 422
    assert "At most 3 tickets per person for this event; you have 3." in response.content.decode()
    assert held(attendee, limited.event) == 3


@pytest.mark.django_db
def test_the_seat_page_shows_the_limit_as_a_form_error(client: Client) -> None:
    event, _ = seated_event(BLOCK, max_per_buyer=1)
    client.force_login(UserFactory.create())
    picked = [seat(event, f"Stalls A-{n}").pk for n in (1, 2)]

    response = client.post(
        f"/events/{event.pk}/seats/", {"idempotency_key": "k", "action": "pick", "seat": picked}
    )

    assert response.status_code == 422
    assert "At most 1 tickets per person" in response.content.decode()


# --- SOLD_OUT names the waitlist ------------------------------------------------------------


def test_api_sold_out_carries_the_waitlist_to_join(client: Client, attendee: User) -> None:
    tier = TicketTierFactory.create(capacity=1)
    order_paid(buyer=UserFactory.create(), tier=tier)
    api = login(client, attendee)

    response = api.post(
        f"/events/{tier.event_id}/register",
        {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": "late"},
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "SOLD_OUT"
    assert error["waitlist"] == {
        "url": f"/events/{tier.event_id}/waitlist",
        "join": f"/api/v1/events/{tier.event_id}/waitlist",
    }
    # The links work: the page opens for the signed-in buyer, the API call joins.
    page = Client()
    page.force_login(attendee)
    assert page.get(error["waitlist"]["url"]).status_code == 200
    joined = api.post(error["waitlist"]["join"].removeprefix("/api/v1"), {})
    assert joined.status_code == 201, joined.content


def test_the_wsgi_fast_lane_sold_out_carries_the_waitlist_too(attendee: User) -> None:
    import io
    import json

    from ticketing.booking.fastlane import SoldOutFastLane

    tier = TicketTierFactory.create(capacity=1)
    order_paid(buyer=UserFactory.create(), tier=tier)
    gate_sync(event_ids=[tier.event_id])
    body = json.dumps({"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": "fast"}).encode()
    answered: list[str] = []
    lane = SoldOutFastLane(lambda environ, start: [b"django"])

    chunks = lane(
        {
            "PATH_INFO": f"/api/v1/events/{tier.event_id}/register",
            "REQUEST_METHOD": "POST",
            "HTTP_AUTHORIZATION": "Bearer x",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        },
        lambda status, headers: answered.append(status),
    )

    assert answered == ["409 Conflict"]
    error = json.loads(b"".join(chunks))["error"]
    assert error["code"] == "SOLD_OUT"
    assert error["waitlist"]["join"] == f"/api/v1/events/{tier.event_id}/waitlist"


def test_the_sold_out_page_links_to_the_waitlist(client: Client, attendee: User) -> None:
    tier = TicketTierFactory.create(capacity=1)
    order_paid(buyer=UserFactory.create(), tier=tier)
    client.force_login(attendee)

    response = client.post(
        f"/events/{tier.event_id}/book", {"idempotency_key": "page", f"qty_{tier.pk}": "1"}
    )

    assert response.status_code == 409
    assert f'href="/events/{tier.event_id}/waitlist"' in response.content.decode()

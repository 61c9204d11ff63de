"""The seat map page: works without JavaScript, keeps the rest of a selection after a loss."""

import re

import pytest
from django.test import Client

from tests.factories import EventFactory, UserFactory
from tests.ticketing.seated import seat, seated_event
from ticketing.booking.services import order_pay
from ticketing.models import Order
from ticketing.seating.services import SeatBlock, order_reserve_seats

BLOCK = SeatBlock(section="Balcony", rows=2, seats_per_row=4, zone="A")


def checked_labels(html: str) -> set[str]:
    boxes = re.findall(r'<input type="checkbox" name="seat"[^>]*>\s*([^·<]+?) ·', html)
    checked = re.findall(
        r'<input type="checkbox" name="seat"[^>]* checked[^>]*>\s*([^·<]+?) ·', html
    )
    assert boxes, "no seat list on the page"
    return {label.strip() for label in checked}


@pytest.mark.django_db
def test_the_seat_map_draws_every_seat_with_words_for_its_state(
    client: Client, django_assert_max_num_queries: object
) -> None:
    event, _ = seated_event(BLOCK)
    order_reserve_seats(
        buyer=UserFactory.create(),
        event_id=event.pk,
        seat_ids=[seat(event, "Balcony A-2").pk],
        idempotency_key="k",
    )

    with django_assert_max_num_queries(8):  # type: ignore[operator]
        response = client.get(f"/events/{event.pk}/seats/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('role="checkbox"') == 8
    assert 'aria-label="Balcony A-2, Zone A 40.00 EUR, held"' in html
    assert 'aria-label="Balcony A-1, Zone A 40.00 EUR, available"' in html
    assert "Seats as a list" in html


@pytest.mark.django_db
def test_an_event_without_seats_has_no_seat_map(client: Client) -> None:
    assert client.get(f"/events/{EventFactory.create().pk}/seats/").status_code == 404


@pytest.mark.django_db
def test_losing_one_seat_names_it_and_keeps_the_others_selected(client: Client) -> None:
    event, _ = seated_event(BLOCK)
    a1, a2, a3 = (seat(event, f"Balcony A-{n}") for n in (1, 2, 3))
    client.force_login(UserFactory.create())
    order_reserve_seats(
        buyer=UserFactory.create(), event_id=event.pk, seat_ids=[a2.pk], idempotency_key="r"
    )

    response = client.post(
        f"/events/{event.pk}/seats/",
        {"idempotency_key": "mine", "action": "pick", "seat": [a1.pk, a2.pk, a3.pk]},
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone just took Balcony A-2. Your other seats are still selected." in html
    assert checked_labels(html) == {"Balcony A-1", "Balcony A-3"}
    assert not Order.objects.filter(idempotency_key="mine").exists()


@pytest.mark.django_db
def test_holding_seats_leads_to_the_order_and_tickets_show_their_seats(client: Client) -> None:
    event, _ = seated_event(BLOCK)
    buyer = UserFactory.create()
    client.force_login(buyer)
    a1 = seat(event, "Balcony B-1")

    response = client.post(
        f"/events/{event.pk}/seats/", {"idempotency_key": "k", "action": "pick", "seat": [a1.pk]}
    )

    order = Order.objects.get(buyer=buyer)
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    assert "Balcony B-1" in client.get(response["Location"]).content.decode()
    order_pay(buyer=buyer, order_id=order.pk, idempotency_key="p")
    assert "Seat Balcony B-1" in client.get("/tickets/").content.decode()


@pytest.mark.django_db
def test_best_available_on_the_page_and_its_errors(client: Client) -> None:
    event, tiers = seated_event(BLOCK)
    client.force_login(UserFactory.create())
    url = f"/events/{event.pk}/seats/"

    too_many = client.post(
        url,
        {"idempotency_key": "b", "action": "best", "best_tier": tiers["A"].pk, "best_quantity": 99},
    )
    assert too_many.status_code == 422
    nothing = client.post(url, {"idempotency_key": "c", "action": "pick"})
    assert nothing.status_code == 422
    assert "Choose at least one seat" in nothing.content.decode()

    ok = client.post(
        url,
        {"idempotency_key": "d", "action": "best", "best_tier": tiers["A"].pk, "best_quantity": 2},
    )
    assert ok.status_code == 302
    assert len(Order.objects.get(idempotency_key="d").seat_ids) == 2


@pytest.mark.django_db
def test_holding_needs_an_account(client: Client) -> None:
    event, _ = seated_event(BLOCK)
    response = client.post(f"/events/{event.pk}/seats/", {"idempotency_key": "k", "action": "pick"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]

"""Booking and payment pages: bad input is a form error on the page, and nothing is written."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from events.models import TicketTier
from tests.factories import TicketTierFactory, UserFactory, order_reserved
from ticketing.models import Order, Payment, SandboxCharge, Ticket


@pytest.fixture
def attendee_client(client: Client, attendee: User) -> Client:
    client.force_login(attendee)
    return client


def book(client: Client, tier: TicketTier, fields: dict[str, Any]) -> Any:
    return client.post(f"/events/{tier.event_id}/book", {"idempotency_key": "page-key", **fields})


def test_booking_form_reserves_and_redirects_to_the_order(
    attendee_client: Client, attendee: User, tier: TicketTier
) -> None:
    response = book(attendee_client, tier, {f"qty_{tier.pk}": "2"})

    order = Order.objects.get(buyer=attendee)
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/"
    tier.refresh_from_db()
    assert tier.sold_count == 2

    again = book(attendee_client, tier, {f"qty_{tier.pk}": "2"})  # a double submit
    assert again["Location"] == response["Location"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "greater than or equal to 0"),
        ("0", "Choose how many tickets"),
        ("", "Choose how many tickets"),
        ("abc", "Enter a whole number"),
        ("1.5", "Enter a whole number"),
        ("11", "less than or equal to 10"),
        ("99999999999999999999999", "less than or equal to 10"),
    ],
    ids=["negative", "zero", "empty", "text", "fraction", "over-max", "huge"],
)
def test_bad_quantity_is_a_form_error_and_books_nothing(
    attendee_client: Client, tier: TicketTier, value: str, message: str
) -> None:
    response = book(attendee_client, tier, {f"qty_{tier.pk}": value})

    assert response.status_code == 422
    assert message in response.content.decode()
    assert Order.objects.count() == 0
    tier.refresh_from_db()
    assert tier.sold_count == 0


def test_all_tiers_at_zero_is_a_form_error(attendee_client: Client, tier: TicketTier) -> None:
    balcony = TicketTierFactory.create(event=tier.event, name="Balcony")

    response = book(attendee_client, tier, {f"qty_{tier.pk}": "0", f"qty_{balcony.pk}": "0"})

    assert response.status_code == 422
    assert "Choose how many tickets" in response.content.decode()
    assert Order.objects.count() == 0


def test_unknown_tier_field_is_ignored_and_books_nothing(
    attendee_client: Client, tier: TicketTier
) -> None:
    foreign = TicketTierFactory.create()

    response = book(
        attendee_client, tier, {f"qty_{foreign.pk}": "2", "qty_not-a-uuid": "3", "qty_": "1"}
    )

    assert response.status_code == 422
    assert "Choose how many tickets" in response.content.decode()
    assert Order.objects.count() == 0
    foreign.refresh_from_db()
    assert foreign.sold_count == 0


def test_missing_idempotency_key_is_a_form_error(attendee_client: Client, tier: TicketTier) -> None:
    response = attendee_client.post(f"/events/{tier.event_id}/book", {f"qty_{tier.pk}": "1"})

    assert response.status_code == 422
    assert Order.objects.count() == 0


def test_sold_out_booking_is_409_with_a_way_forward(
    attendee_client: Client, attendee: User
) -> None:
    tier = TicketTierFactory.create(capacity=1)
    order_reserved(buyer=UserFactory.create(), tier=tier)

    response = book(attendee_client, tier, {f"qty_{tier.pk}": "1"})

    assert response.status_code == 409
    page = response.content.decode()
    assert "Join the waitlist" in page
    assert page.count("sold out") == 1  # one message, in the page's language, not two
    assert not Order.objects.filter(buyer=attendee).exists()


def test_asking_for_more_than_are_left_says_so_instead_of_sold_out(
    attendee_client: Client, attendee: User
) -> None:
    tier = TicketTierFactory.create(capacity=3)
    order_reserved(buyer=UserFactory.create(), tier=tier, quantity=2)

    response = book(attendee_client, tier, {f"qty_{tier.pk}": "2"})

    assert response.status_code == 409
    page = response.content.decode()
    assert "Not that many are left: choose fewer" in page
    assert "sold out" not in page
    assert not Order.objects.filter(buyer=attendee).exists()


def test_anonymous_booking_is_sent_to_login(client: Client, tier: TicketTier) -> None:
    response = book(client, tier, {f"qty_{tier.pk}": "1"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Order.objects.count() == 0


@pytest.mark.parametrize("card", ["1234", "abcd efgh ijkl mnop", "4" * 20, ""])
def test_payment_form_with_a_bad_card_number_is_a_form_error(
    attendee_client: Client, attendee: User, tier: TicketTier, card: str
) -> None:
    order = order_reserved(buyer=attendee, tier=tier)

    response = attendee_client.post(
        f"/orders/{order.pk}/", {"idempotency_key": "pay-key", "card_number": card}
    )

    assert response.status_code == 422
    assert response.context["form"].errors["card_number"]
    assert Payment.objects.count() == 0
    assert SandboxCharge.objects.count() == 0
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_payment_form_pays_and_issues_tickets(
    attendee_client: Client, attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)

    response = attendee_client.post(
        f"/orders/{order.pk}/", {"idempotency_key": "pay-key", "card_number": "4242 4242 4242 4242"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/"  # tickets, receipt and invoice
    assert Ticket.objects.filter(order=order).count() == 2


def test_declined_card_on_the_page_releases_the_hold_and_says_so(
    attendee_client: Client, attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier)

    response = attendee_client.post(
        f"/orders/{order.pk}/",
        {"idempotency_key": "pay-key", "card_number": "4000 0000 0000 0002"},
        follow=True,
    )

    assert response.status_code == 200
    assert "declined" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    tier.refresh_from_db()
    assert tier.sold_count == 0


def test_someone_elses_order_page_is_404(attendee_client: Client, tier: TicketTier) -> None:
    theirs = order_reserved(buyer=UserFactory.create(), tier=tier)

    assert attendee_client.get(f"/orders/{theirs.pk}/").status_code == 404
    response = attendee_client.post(
        f"/orders/{theirs.pk}/", {"idempotency_key": "k", "card_number": "4242424242424242"}
    )
    assert response.status_code == 404
    assert Payment.objects.count() == 0

"""The checkout page: summary, a name per ticket, the hold's time, a voucher, the card."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from events.models import TicketTier
from tests.factories import UserFactory, order_reserved
from ticketing.models import Order, Ticket
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(client: Client, attendee: User, tier: TicketTier) -> Order:
    tier.price = Decimal("30.00")
    tier.save()
    client.force_login(attendee)
    return Order.objects.get(pk=order_reserved(buyer=attendee, tier=tier, quantity=2).pk)


def pay(client: Client, order: Order, **fields: str) -> Any:
    """Submit the checkout form with two names and the sandbox's paying card."""
    data = {"pay": "1", "idempotency_key": "k", "card_number": "4242 4242 4242 4242"}
    data.update({"attendee_0": "Ada Lovelace", "attendee_1": "Grace Hopper"})
    data.update(fields)
    return client.post(f"/orders/{order.pk}/", data)


def test_checkout_shows_the_summary_a_name_per_ticket_and_the_hold(
    client: Client, held: Order
) -> None:
    response = client.get(f"/orders/{held.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert held.code in page
    assert 'name="attendee_0"' in page and 'name="attendee_1"' in page
    assert 'name="attendee_2"' not in page
    assert f'data-hold-expires="{held.expires_at.isoformat()[:19]}' in page
    assert 'name="voucher"' in page
    assert "60.00 EUR" in page


def test_paying_names_each_ticket_and_offers_the_receipt(client: Client, held: Order) -> None:
    response = pay(client, held)
    assert response.status_code == 302
    names = list(Ticket.objects.filter(order=held).values_list("attendee_name", flat=True))
    assert sorted(names) == ["Ada Lovelace", "Grace Hopper"]
    page = client.get(f"/orders/{held.pk}/").content.decode()
    assert f"/orders/{held.pk}/receipt.pdf" in page
    for ticket in Ticket.objects.filter(order=held):
        assert ticket.code in page


def test_a_blank_name_prints_the_buyers_name_and_a_long_one_is_a_form_error(
    client: Client, held: Order, attendee: User
) -> None:
    refused = pay(client, held, attendee_1="x" * 151)
    assert refused.status_code == 422
    assert "field-error" in refused.content.decode()
    held.refresh_from_db()
    assert held.status == "pending"  # nothing charged
    assert pay(client, held, attendee_1="  ").status_code == 302
    names = sorted(Ticket.objects.filter(order=held).values_list("attendee_name", flat=True))
    assert names == sorted(["Ada Lovelace", attendee.display_name])


def test_a_declined_card_says_so_on_the_page(client: Client, held: Order) -> None:
    response = pay(client, held, card_number="4000 0000 0000 0002")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "declined" in page and "Book again" in page


def test_a_voucher_applied_at_checkout_lowers_the_total(client: Client, held: Order) -> None:
    Voucher.objects.create(event=held.event, code="HALF", kind="percent", value=Decimal("50"))
    refused = client.post(f"/orders/{held.pk}/", {"apply_voucher": "1", "voucher": "NOPE"})
    assert refused.status_code == 422
    assert "no voucher with this code" in refused.content.decode()
    assert (
        client.post(f"/orders/{held.pk}/", {"apply_voucher": "1", "voucher": "half"}).status_code
        == 302
    )
    held.refresh_from_db()
    assert held.total == Decimal("30.00")
    assert pay(client, held).status_code == 302
    held.refresh_from_db()
    assert held.status == "paid" and held.total == Decimal("30.00")
    assert Voucher.objects.get(code="HALF").used == 1


def test_another_buyers_checkout_is_a_404(client: Client, held: Order) -> None:
    client.force_login(UserFactory.create())
    assert client.get(f"/orders/{held.pk}/").status_code == 404


def test_a_sold_out_event_offers_the_waitlist_instead_of_booking(
    client: Client, tier: TicketTier
) -> None:
    tier.sold_count = tier.capacity
    tier.save()
    page = client.get(tier.event.get_absolute_url()).content.decode()
    assert "Join the waitlist" in page
    assert ">Book</button>" not in page

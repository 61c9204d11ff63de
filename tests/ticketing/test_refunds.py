"""Refunds: the organizer's policy, partial refunds, idempotency through the processor, and
what a refund does to tickets, inventory and the buyer's inbox."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry, User
from checkin.services import checkin_list_default, ticket_scan
from core.errors import NotFound
from events.models import Event, TicketTier
from tests.api.conftest import login
from tests.factories import MembershipFactory, UserFactory, order_paid, order_reserved
from ticketing.aftersale.refunds import order_refund, refund_quote, refunds_retry
from ticketing.errors import (
    IdempotencyKeyReused,
    OrderNotRefundable,
    RefundsNotAllowed,
    RefundWindowClosed,
    SoldOut,
    TicketNotRefundable,
)
from ticketing.models import EventPolicy, Refund, SandboxRefund, Ticket
from ticketing.payments import ProviderUnavailable
from ticketing.payments.sandbox import SandboxProvider

# Real commits: refunds, releases and offers announce themselves after commit.
pytestmark = pytest.mark.django_db(transaction=True)


def policy(event: Event, **fields: object) -> EventPolicy:
    return EventPolicy.objects.create(event=event, **fields)


def test_partial_refund_of_one_of_three_tickets_refunds_the_right_amount(
    attendee: User, tier: TicketTier
) -> None:
    policy(tier.event, refund_fee_percent=Decimal("10"), refund_fee_fixed=Decimal("1.00"))
    outcome = order_paid(buyer=attendee, tier=tier, quantity=3)  # 3 x 25.00
    first, second, third = outcome.tickets

    refund = order_refund(
        actor=attendee, order_id=outcome.order.pk, ticket_ids=[second.pk], idempotency_key="r1"
    )

    # 25.00 less 10 % (2.50) less 1.00 fixed
    assert (refund.gross, refund.fee, refund.amount) == (
        Decimal("25.00"),
        Decimal("3.50"),
        Decimal("21.50"),
    )
    assert refund.status == Refund.Status.SUCCEEDED
    [at_processor] = SandboxRefund.objects.all()
    assert at_processor.amount == Decimal("21.50")
    assert at_processor.refund_id == refund.provider_refund_id
    assert at_processor.charge.charge_id == outcome.order.payments.get().provider_charge_id
    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "valid", second.pk: "void", third.pk: "valid"}
    assert Ticket.objects.get(pk=second.pk).void_reason == "refunded"
    tier.refresh_from_db()
    assert tier.sold_count == 2  # the seat is back on sale (nobody waiting)
    assert AuditEntry.objects.filter(action="order.refund").count() == 1


def test_refunding_the_rest_then_again_never_refunds_a_ticket_twice(
    attendee: User, tier: TicketTier
) -> None:
    outcome = order_paid(buyer=attendee, tier=tier, quantity=3)
    order_refund(
        actor=attendee,
        order_id=outcome.order.pk,
        ticket_ids=[outcome.tickets[0].pk],
        idempotency_key="one",
    )
    rest = order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="rest")
    assert rest.amount == Decimal("50.00")
    with pytest.raises(TicketNotRefundable):
        order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="again")
    with pytest.raises(TicketNotRefundable):
        order_refund(
            actor=attendee,
            order_id=outcome.order.pk,
            ticket_ids=[outcome.tickets[0].pk],
            idempotency_key="first-again",
        )
    assert sum(r.amount for r in SandboxRefund.objects.all()) == Decimal("75.00")


def test_fee_never_exceeds_the_price() -> None:
    strict = EventPolicy(refund_fee_percent=Decimal("50"), refund_fee_fixed=Decimal("20"))
    quote = refund_quote(strict, [Decimal("25.00"), Decimal("0.00")])
    assert quote.per_ticket == [Decimal("0.00"), Decimal("0.00")]
    assert quote.fee == Decimal("25.00")


def test_refund_after_the_window_is_refused_with_refund_window_closed(
    attendee: User, tier: TicketTier
) -> None:
    policy(tier.event, refund_until_hours=24)
    outcome = order_paid(buyer=attendee, tier=tier)
    Event.objects.filter(pk=tier.event_id).update(starts_at=timezone.now() + timedelta(hours=23))

    with pytest.raises(RefundWindowClosed) as caught:
        order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="late")

    assert caught.value.code == "REFUND_WINDOW_CLOSED"
    assert Ticket.objects.get().status == Ticket.Status.VALID
    assert not Refund.objects.exists() and not SandboxRefund.objects.exists()


def test_an_event_without_refunds_refuses_them(attendee: User, tier: TicketTier) -> None:
    policy(tier.event, refunds_allowed=False)
    outcome = order_paid(buyer=attendee, tier=tier)
    with pytest.raises(RefundsNotAllowed):
        order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="k")


def test_the_organizer_refunds_anything_even_after_the_window_and_without_fee(
    attendee: User, organizer: User, tier: TicketTier
) -> None:
    policy(tier.event, refunds_allowed=False, refund_fee_fixed=Decimal("5"))
    outcome = order_paid(buyer=attendee, tier=tier, quantity=2)
    refund = order_refund(
        actor=organizer,
        order_id=outcome.order.pk,
        idempotency_key="org",
        as_organizer=True,
        reason=Refund.Reason.ORGANIZER,
    )
    assert refund.amount == Decimal("50.00") and refund.fee == 0
    assert not Ticket.objects.filter(status=Ticket.Status.VALID).exists()


def test_another_organization_and_another_buyer_cannot_refund(
    attendee: User, tier: TicketTier
) -> None:
    outcome = order_paid(buyer=attendee, tier=tier)
    stranger = MembershipFactory.create().user
    with pytest.raises(NotFound):
        order_refund(
            actor=stranger, order_id=outcome.order.pk, idempotency_key="x", as_organizer=True
        )
    with pytest.raises(NotFound):
        order_refund(actor=UserFactory.create(), order_id=outcome.order.pk, idempotency_key="y")
    assert Ticket.objects.get().status == Ticket.Status.VALID


def test_an_unpaid_order_is_not_refundable(attendee: User, tier: TicketTier) -> None:
    order = order_reserved(buyer=attendee, tier=tier)
    with pytest.raises(OrderNotRefundable):
        order_refund(actor=attendee, order_id=order.pk, idempotency_key="k")


def test_same_key_same_refund_and_a_different_request_is_refused(
    attendee: User, tier: TicketTier
) -> None:
    outcome = order_paid(buyer=attendee, tier=tier, quantity=2)
    one = outcome.tickets[0].pk
    first = order_refund(
        actor=attendee, order_id=outcome.order.pk, ticket_ids=[one], idempotency_key="k"
    )
    again = order_refund(
        actor=attendee, order_id=outcome.order.pk, ticket_ids=[one], idempotency_key="k"
    )
    assert again.pk == first.pk
    assert SandboxRefund.objects.count() == 1
    with pytest.raises(IdempotencyKeyReused):
        order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="k")


def test_a_refunded_ticket_is_rejected_at_check_in(
    attendee: User, tier: TicketTier, door_staff: User
) -> None:
    outcome = order_paid(buyer=attendee, tier=tier)
    order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="k")
    result = ticket_scan(
        payload=outcome.tickets[0].qr_payload,
        checkin_list=checkin_list_default(tier.event),
        scanned_by=door_staff,
    )
    assert not result.valid and result.reason == "refunded"


def test_the_buyer_is_emailed_the_refund(attendee: User, tier: TicketTier) -> None:
    outcome = order_paid(buyer=attendee, tier=tier)
    mail.outbox.clear()
    order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="k")
    [message] = mail.outbox
    assert message.to == [attendee.email]
    assert message.subject == f"Refund for {tier.event.title}"
    assert "We refunded 25.00 EUR" in message.body


def test_a_refund_whose_answer_is_lost_is_sent_again_with_the_same_key(
    attendee: User, tier: TicketTier, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = order_paid(buyer=attendee, tier=tier)
    real_refund = SandboxProvider.refund

    def refund_then_lose_answer(self: SandboxProvider, **kwargs: object) -> object:
        real_refund(self, **kwargs)  # type: ignore[arg-type]
        raise ProviderUnavailable("lost")

    monkeypatch.setattr(SandboxProvider, "refund", refund_then_lose_answer)
    retries: list[object] = []
    monkeypatch.setattr("ticketing.aftersale.refunds._enqueue_refund_send", retries.append)
    order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="k")
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING
    assert retries == [refund.pk]  # a retry task is scheduled
    assert Ticket.objects.get().status == Ticket.Status.VOID  # void at once regardless

    monkeypatch.setattr(SandboxProvider, "refund", real_refund)
    assert refunds_retry(older_than=timedelta(0)) == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert SandboxRefund.objects.count() == 1  # the same key: charged back once


def test_a_released_seat_can_be_bought_again_when_nobody_waits(
    attendee: User, tier: TicketTier
) -> None:
    TicketTier.objects.filter(pk=tier.pk).update(capacity=1)
    outcome = order_paid(buyer=attendee, tier=tier)
    with pytest.raises(SoldOut):
        order_reserved(buyer=UserFactory.create(), tier=tier)
    order_refund(actor=attendee, order_id=outcome.order.pk, idempotency_key="k")
    assert order_reserved(buyer=UserFactory.create(), tier=tier).status == "pending"


# --- The doors: API and pages ----------------------------------------------------------------


def test_api_refund_partial_then_window_closed(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    api = login(client, attendee)
    outcome = order_paid(buyer=attendee, tier=tier, quantity=3)
    url = f"/orders/{outcome.order.pk}/refund"

    response = api.post(url, {"ticket_ids": [str(outcome.tickets[2].pk)], "idempotency_key": "a"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["amount"] == "25.00" and body["status"] == "succeeded"
    assert body["ticket_ids"] == [str(outcome.tickets[2].pk)]

    Event.objects.filter(pk=tier.event_id).update(starts_at=timezone.now() + timedelta(hours=1))
    response = api.post(url, {"idempotency_key": "b"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "REFUND_WINDOW_CLOSED"


def test_api_refund_bad_input_is_a_clean_error(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    api = login(client, attendee)
    outcome = order_paid(buyer=attendee, tier=tier)
    url = f"/orders/{outcome.order.pk}/refund"
    cases = [
        ({"ticket_ids": ["nope"], "idempotency_key": "a"}, 422, "VALIDATION_ERROR"),
        ({}, 422, "VALIDATION_ERROR"),
        ({"ticket_ids": [str(uuid.uuid4())], "idempotency_key": "a"}, 422, "TICKET_NOT_REFUNDABLE"),
    ]
    for body, status, code in cases:
        response = api.post(url, body)
        assert response.status_code == status, (body, response.content)
        assert response.json()["error"]["code"] == code
    response = api.post(f"/orders/{uuid.uuid4()}/refund", {"idempotency_key": "z"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_my_tickets_page_refunds_one_ticket(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    outcome = order_paid(buyer=attendee, tier=tier, quantity=2)
    client.force_login(attendee)
    page = client.get("/tickets/")
    assert f"/tickets/{outcome.tickets[0].pk}/refund" in page.content.decode()

    response = client.post(
        f"/tickets/{outcome.tickets[0].pk}/refund", {"idempotency_key": "page"}, follow=True
    )
    assert "Refunded: 25.00 EUR" in response.content.decode()
    assert Ticket.objects.filter(status=Ticket.Status.VALID).count() == 1


def test_organizer_pages_set_the_policy_and_refund_an_order(
    client: Client, attendee: User, organizer: User, tier: TicketTier
) -> None:
    outcome = order_paid(buyer=attendee, tier=tier)
    client.force_login(organizer)
    url = f"/manage/events/{tier.event_id}/policy"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"refund_until_hours": "-1", "refund_fee_percent": "150"})
    assert bad.status_code == 422
    response = client.post(
        url,
        {
            "refunds_allowed": "on",
            "refund_until_hours": "12",
            "refund_fee_percent": "5",
            "refund_fee_fixed": "0.50",
            "transfers_allowed": "on",
            "transfer_until_hours": "2",
            "waitlist_offer_minutes": "45",
        },
    )
    assert response.status_code == 302
    assert EventPolicy.objects.get(event=tier.event).waitlist_offer_minutes == 45

    orders = f"/manage/events/{tier.event_id}/orders"
    assert outcome.order.code in client.get(orders).content.decode()
    client.post(orders, {"order": str(outcome.order.pk), "idempotency_key": "o1"})
    assert Refund.objects.get().reason == Refund.Reason.ORGANIZER

    stranger = MembershipFactory.create().user
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    assert client.get(orders).status_code == 404

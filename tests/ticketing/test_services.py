"""ticketing.booking.services: reserve, pay and release, with every domain error they promise.

The hot path (ticketing.booking.hotpath) only accelerates these services, so this whole module
runs twice: with it on and with it off. Both must give the same answers.
"""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from checkin.signing import payload_verify
from core.errors import NotFound
from events.models import Event, TicketTier
from tests.factories import EventFactory, TicketTierFactory, UserFactory, order_reserved
from tests.ticketing.racing import sold
from ticketing.booking import hotpath
from ticketing.booking.core import orders_release_expired
from ticketing.booking.services import order_pay, order_reserve
from ticketing.errors import (
    HoldExpired,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    PaymentDeclined,
    QuantityLimit,
    SalesClosed,
    SoldOut,
    UnknownTier,
)
from ticketing.models import Order, OrderLine, Payment, SandboxCharge, Ticket
from ticketing.tasks import release_expired_holds

DECLINED_CARD = "4000000000000002"


@pytest.fixture(autouse=True, params=[True, False], ids=["hot-path-on", "hot-path-off"])
def hot_path(
    request: pytest.FixtureRequest, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> bool:
    settings.BOXOFFICE_HOT_PATH = request.param
    if not request.param:  # off means off: the accelerator is never asked
        for step in ("order_place", "payment_start", "payment_finish"):
            monkeypatch.setattr(hotpath, step, _must_not_run)
    return bool(request.param)


def _must_not_run(**kwargs: Any) -> None:
    raise AssertionError("the hot path ran while switched off")


def test_the_hot_path_serves_the_plain_case_when_on(
    hot_path: bool, attendee: User, tier: TicketTier, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed: list[Any] = []
    real = hotpath.order_place

    def counted(**kwargs: Any) -> Any:
        placed.append(1)
        return real(**kwargs)

    monkeypatch.setattr(hotpath, "order_place", counted)
    order = order_reserve(
        buyer=attendee, event_id=tier.event_id, items=[(tier.pk, 1)], idempotency_key="hp"
    )
    assert order.status == Order.Status.PENDING
    assert placed == ([1] if hot_path else [])


def expire(order: Order) -> None:
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


# --- order_reserve ---------------------------------------------------------------------------


def test_reserve_holds_seats_and_prices_the_order(attendee: User, tier: TicketTier) -> None:
    order = order_reserve(
        buyer=attendee, event_id=tier.event_id, items=[(tier.pk, 2)], idempotency_key="k1"
    )

    assert order.status == Order.Status.PENDING
    assert order.total == tier.price * 2
    assert order.currency == "EUR"
    assert order.expires_at > timezone.now()
    assert list(order.lines.values_list("tier_id", "quantity")) == [(tier.pk, 2)]
    assert sold(tier) == 2
    assert Ticket.objects.count() == 0  # tickets exist only once paid


def test_reserve_over_several_tiers_makes_one_order(attendee: User, event: Event) -> None:
    cheap = TicketTierFactory.create(event=event, name="Cheap", capacity=5)
    dear = TicketTierFactory.create(event=event, name="Dear", capacity=5)

    order = order_reserve(
        buyer=attendee,
        event_id=event.pk,
        items=[(cheap.pk, 1), (dear.pk, 2), (cheap.pk, 1)],
        idempotency_key="multi",
    )

    assert OrderLine.objects.filter(order=order).count() == 2
    assert (sold(cheap), sold(dear)) == (2, 2)
    assert order.total == cheap.price * 2 + dear.price * 2


def test_happy_path_two_tickets_are_paid_issued_and_emailed(
    attendee: User, tier: TicketTier, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="pay-1")

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.paid_at is not None
    assert len(outcome.tickets) == 2
    assert Ticket.objects.filter(order=order, holder=attendee).count() == 2
    assert sold(tier) == 2
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    for ticket in Ticket.objects.filter(order=order):
        claim = payload_verify(ticket.qr_payload)
        assert (claim.ticket_id, claim.event_id, claim.tier_id) == (
            ticket.pk,
            tier.event_id,
            tier.pk,
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [attendee.email]
    assert tier.event.title in message.subject
    # The QR codes are links to images drawn on demand; the calendar entry is the one attachment.
    assert [a[2] for a in message.attachments] == ["text/calendar"]
    assert message.body.count("/ticket-qr/") == 2


def test_reserving_more_than_is_left_is_sold_out(attendee: User) -> None:
    tier = TicketTierFactory.create(capacity=3)
    order_reserved(buyer=UserFactory.create(), tier=tier, quantity=2)

    with pytest.raises(SoldOut) as caught:
        order_reserved(buyer=attendee, tier=tier, quantity=2)

    assert caught.value.code == "SOLD_OUT"
    assert sold(tier) == 2
    assert Order.objects.filter(buyer=attendee).count() == 0  # the whole order rolled back


@pytest.mark.parametrize("quantity", [0, -1, -100, 11, True, 1.5, "2"])
def test_quantity_outside_one_to_max_per_order_is_refused(
    attendee: User, tier: TicketTier, quantity: Any
) -> None:
    assert tier.max_per_order == 10

    with pytest.raises(QuantityLimit) as caught:
        order_reserve(
            buyer=attendee, event_id=tier.event_id, items=[(tier.pk, quantity)], idempotency_key="q"
        )

    assert caught.value.code == "QUANTITY_LIMIT"
    assert Order.objects.count() == 0
    assert sold(tier) == 0


def test_an_order_without_items_is_refused(attendee: User, tier: TicketTier) -> None:
    with pytest.raises(QuantityLimit):
        order_reserve(buyer=attendee, event_id=tier.event_id, items=[], idempotency_key="none")

    assert Order.objects.count() == 0


@pytest.mark.parametrize("key", ["", "x" * 101])
def test_reserve_needs_an_idempotency_key_of_1_to_100_characters(
    attendee: User, tier: TicketTier, key: str
) -> None:
    with pytest.raises(IdempotencyKeyInvalid):
        order_reserve(
            buyer=attendee, event_id=tier.event_id, items=[(tier.pk, 1)], idempotency_key=key
        )

    assert Order.objects.count() == 0


def test_unknown_tier_is_refused(attendee: User, tier: TicketTier) -> None:
    with pytest.raises(UnknownTier) as caught:
        order_reserve(
            buyer=attendee, event_id=tier.event_id, items=[(uuid.uuid4(), 1)], idempotency_key="u"
        )

    assert caught.value.code == "UNKNOWN_TIER"
    assert Order.objects.count() == 0


def test_tier_id_that_is_not_a_uuid_is_an_unknown_tier(attendee: User, tier: TicketTier) -> None:
    with pytest.raises(UnknownTier):
        order_reserve(
            buyer=attendee, event_id=tier.event_id, items=[("not-a-uuid", 1)], idempotency_key="g"
        )

    assert Order.objects.count() == 0


def test_any_spelling_of_a_tier_id_is_the_same_tier(attendee: User, tier: TicketTier) -> None:
    order = order_reserve(
        buyer=attendee,
        event_id=tier.event_id,
        items=[(str(tier.pk).upper(), 1), (tier.pk.hex, 1), (tier.pk, 1)],
        idempotency_key="spellings",
    )

    assert list(order.lines.values_list("tier_id", "quantity")) == [(tier.pk, 3)]
    assert sold(tier) == 3


def test_tier_of_another_event_is_unknown_here(attendee: User, tier: TicketTier) -> None:
    foreign = TicketTierFactory.create()

    with pytest.raises(UnknownTier):
        order_reserve(
            buyer=attendee,
            event_id=tier.event_id,
            items=[(tier.pk, 1), (foreign.pk, 1)],
            idempotency_key="mixed",
        )

    assert (sold(tier), sold(foreign)) == (0, 0)
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "event_kwargs",
    [
        {"status": Event.Status.CANCELLED},
        {
            "starts_at": timezone.now() - timedelta(hours=5),
            "ends_at": timezone.now() - timedelta(hours=2),
        },
    ],
    ids=["cancelled", "past"],
)
def test_events_not_on_sale_refuse_bookings(attendee: User, event_kwargs: dict[str, Any]) -> None:
    tier = TicketTierFactory.create(event=EventFactory.create(**event_kwargs))

    with pytest.raises(SalesClosed) as caught:
        order_reserved(buyer=attendee, tier=tier)

    assert caught.value.code == "SALES_CLOSED"
    assert sold(tier) == 0
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "window",
    [
        {"sales_start": timezone.now() + timedelta(days=1)},
        {"sales_end": timezone.now() - timedelta(minutes=1)},
    ],
    ids=["not-yet", "already-over"],
)
def test_tier_outside_its_sales_window_refuses_bookings(
    attendee: User, window: dict[str, Any]
) -> None:
    tier = TicketTierFactory.create(**window)

    with pytest.raises(SalesClosed):
        order_reserved(buyer=attendee, tier=tier)

    assert sold(tier) == 0
    assert Order.objects.count() == 0


def test_same_idempotency_key_twice_returns_the_same_order_and_holds_once(
    attendee: User, tier: TicketTier
) -> None:
    first = order_reserved(buyer=attendee, tier=tier, quantity=2, idempotency_key="same")
    second = order_reserved(buyer=attendee, tier=tier, quantity=2, idempotency_key="same")

    assert first.pk == second.pk
    assert Order.objects.count() == 1
    assert sold(tier) == 2


def test_same_idempotency_key_for_a_different_request_is_refused(
    attendee: User, tier: TicketTier
) -> None:
    order_reserved(buyer=attendee, tier=tier, quantity=1, idempotency_key="k")

    with pytest.raises(IdempotencyKeyReused) as caught:
        order_reserved(buyer=attendee, tier=tier, quantity=2, idempotency_key="k")

    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert Order.objects.count() == 1
    assert sold(tier) == 1


def test_idempotency_keys_are_per_buyer(attendee: User, tier: TicketTier) -> None:
    mine = order_reserved(buyer=attendee, tier=tier, idempotency_key="shared")
    theirs = order_reserved(buyer=UserFactory.create(), tier=tier, idempotency_key="shared")

    assert mine.pk != theirs.pk
    assert sold(tier) == 2


# --- order_pay -------------------------------------------------------------------------------


def test_paying_twice_with_the_same_key_charges_once_and_returns_the_same_tickets(
    attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)

    first = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p")
    second = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p")

    assert {t.pk for t in first.tickets} == {t.pk for t in second.tickets}
    assert Ticket.objects.count() == 2
    assert SandboxCharge.objects.count() == 1
    assert Payment.objects.count() == 1


def test_paying_a_paid_order_with_a_new_key_does_not_charge_again(
    attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=1)
    first = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p1")

    again = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p2")

    assert [t.pk for t in again.tickets] == [t.pk for t in first.tickets]
    assert SandboxCharge.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_a_draft_event_does_not_exist_for_booking(attendee: User) -> None:
    tier = TicketTierFactory.create(event=EventFactory.create(status=Event.Status.DRAFT))

    with pytest.raises(NotFound):
        order_reserved(buyer=attendee, tier=tier)

    assert sold(tier) == 0
    assert Order.objects.count() == 0


def test_paying_an_expired_hold_is_refused_and_re_reserves_while_seats_remain(
    attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)
    expire(order)

    with pytest.raises(HoldExpired) as caught:
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="late")

    assert caught.value.code == "HOLD_EXPIRED"
    assert caught.value.details["rereserved"] is True
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.expires_at > timezone.now()
    assert sold(tier) == 2  # released once, held again: never counted twice
    assert SandboxCharge.objects.count() == 0
    # The fresh hold can be paid.
    outcome = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="again")
    assert outcome.paid and len(outcome.tickets) == 2
    assert sold(tier) == 2


def test_paying_an_expired_hold_whose_seats_are_gone_releases_it_for_good(
    attendee: User,
) -> None:
    tier = TicketTierFactory.create(capacity=2)
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)
    expire(order)
    orders_release_expired()
    rival = order_reserved(buyer=UserFactory.create(), tier=tier, quantity=2)

    with pytest.raises(HoldExpired) as caught:
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="late")

    assert caught.value.details["rereserved"] is False
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert sold(tier) == 2  # the rival's hold only
    assert rival.status == Order.Status.PENDING
    assert SandboxCharge.objects.count() == 0
    assert Ticket.objects.count() == 0


def test_declined_card_releases_the_hold(attendee: User, tier: TicketTier) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)

    with pytest.raises(PaymentDeclined) as caught:
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="d", source=DECLINED_CARD)

    assert caught.value.code == "PAYMENT_DECLINED"
    assert caught.value.details == {"decline_code": "card_declined"}
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert sold(tier) == 0
    assert Ticket.objects.count() == 0
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.failure_code) == (Payment.Status.FAILED, "card_declined")
    assert SandboxCharge.objects.get().succeeded is False


def test_after_a_decline_another_card_holds_the_tickets_again_and_pays(
    attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier)
    with pytest.raises(PaymentDeclined):
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="d", source=DECLINED_CARD)
    assert sold(tier) == 0
    # Replaying the declined request gives the same answer and charges nothing new.
    with pytest.raises(PaymentDeclined):
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="d", source=DECLINED_CARD)
    assert SandboxCharge.objects.count() == 1

    outcome = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="retry")

    assert outcome.paid
    assert Ticket.objects.count() == 1
    assert sold(tier) == 1


def test_after_a_decline_a_sold_out_tier_cannot_be_paid(attendee: User) -> None:
    tier = TicketTierFactory.create(capacity=1)
    order = order_reserved(buyer=attendee, tier=tier)
    with pytest.raises(PaymentDeclined):
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="d", source=DECLINED_CARD)
    order_reserved(buyer=UserFactory.create(), tier=tier)

    with pytest.raises(SoldOut):
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="retry")

    assert Ticket.objects.count() == 0
    assert sold(tier) == 1


def test_nobody_can_pay_someone_elses_order(attendee: User, tier: TicketTier) -> None:
    order = order_reserved(buyer=attendee, tier=tier)

    with pytest.raises(NotFound):
        order_pay(buyer=UserFactory.create(), order_id=order.pk, idempotency_key="steal")

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert Payment.objects.count() == 0
    assert SandboxCharge.objects.count() == 0


@pytest.mark.parametrize("order_id", [uuid.uuid4(), "not-a-uuid", None])
def test_paying_an_unknown_order_is_refused(attendee: User, order_id: Any) -> None:
    with pytest.raises(NotFound):
        order_pay(buyer=attendee, order_id=order_id, idempotency_key="x")

    assert Payment.objects.count() == 0


# --- orders_release_expired ------------------------------------------------------------------


def test_release_expired_gives_back_only_expired_holds(attendee: User) -> None:
    tier = TicketTierFactory.create(capacity=10)
    stale_a = order_reserved(buyer=attendee, tier=tier, quantity=2)
    stale_b = order_reserved(buyer=UserFactory.create(), tier=tier, quantity=3)
    fresh = order_reserved(buyer=UserFactory.create(), tier=tier, quantity=1)
    paid = order_reserved(buyer=UserFactory.create(), tier=tier, quantity=1)
    order_pay(buyer=paid.buyer, order_id=paid.pk, idempotency_key="p")
    expire(stale_a)
    expire(stale_b)
    Order.objects.filter(pk=paid.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert sold(tier) == 7

    released = orders_release_expired()

    assert released == 2
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {
        stale_a.pk: Order.Status.EXPIRED,
        stale_b.pk: Order.Status.EXPIRED,
        fresh.pk: Order.Status.PENDING,
        paid.pk: Order.Status.PAID,
    }
    assert sold(tier) == 2
    assert orders_release_expired() == 0  # running it again changes nothing
    assert sold(tier) == 2


def test_release_expired_works_in_batches(attendee: User) -> None:
    tier = TicketTierFactory.create(capacity=10)
    for _ in range(5):
        expire(order_reserved(buyer=UserFactory.create(), tier=tier))

    assert orders_release_expired(limit=2) == 5
    assert Order.objects.filter(status=Order.Status.EXPIRED).count() == 5
    assert sold(tier) == 0


def test_release_expired_holds_task_runs_the_service(attendee: User, tier: TicketTier) -> None:
    expire(order_reserved(buyer=attendee, tier=tier, quantity=4))

    assert release_expired_holds.delay().get() == 1
    assert sold(tier) == 0


def test_attendee_answers_are_checked_and_land_on_each_ticket(
    attendee: User, event: Event, tier: TicketTier
) -> None:
    from events.errors import AnswerInvalid, AnswerRequired
    from events.models import AttendeeQuestion
    from ticketing.booking.services import order_answers_check, order_attendees_set

    balcony = TicketTierFactory.create(event=event, name="Balcony")
    meal = AttendeeQuestion.objects.create(
        event=event, label="Meal", kind="choice", options=["Vegan", "Any"], required=True
    )
    step_free = AttendeeQuestion.objects.create(
        event=event, tier=balcony, label="Step-free seat", kind="yes_no"
    )
    order = order_reserve(
        buyer=attendee,
        event_id=event.pk,
        items=[(tier.pk, 1), (balcony.pk, 1)],
        idempotency_key="qa",
    )
    with pytest.raises(AnswerRequired):
        order_answers_check(buyer=attendee, order_id=order.pk)
    in_ticket_order = sorted([tier.pk, balcony.pk])  # tickets come in tier order
    with pytest.raises(AnswerInvalid):
        order_attendees_set(
            buyer=attendee,
            order_id=order.pk,
            names=["", ""],
            answers=[{str(meal.pk): "Fish"}, {str(meal.pk): "Any"}],
        )
    given = [
        {str(meal.pk): "Vegan" if tier_id == tier.pk else "Any", str(step_free.pk): "YES"}
        for tier_id in in_ticket_order
    ]
    order_attendees_set(buyer=attendee, order_id=order.pk, names=["", ""], answers=given)
    order_answers_check(buyer=attendee, order_id=order.pk)
    paid = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="qa-pay").tickets
    answers = {t.tier_id: t.answers for t in Ticket.objects.filter(pk__in=[t.pk for t in paid])}
    # The balcony's question is asked of balcony tickets only: its answer elsewhere is dropped.
    assert answers == {
        tier.pk: {str(meal.pk): "Vegan"},
        balcony.pk: {str(meal.pk): "Any", str(step_free.pk): "yes"},
    }

"""Promotion in-process (tasks inline): offers, holds, expiry, decline, crash safety, pages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from events.models import Event, TicketTier
from events.services import TierSpec, event_tiers_save
from tests.api.conftest import login
from tests.factories import TicketTierFactory, UserFactory, order_paid, order_reserved
from tests.ticketing.racing import gate_counter
from ticketing.aftersale.refunds import order_refund
from ticketing.booking.core import orders_release_expired
from ticketing.booking.gate import gate_sync
from ticketing.errors import SoldOut
from ticketing.models import EventPolicy, Order, SetAside
from waitlist.errors import NothingToOffer, OfferExpired
from waitlist.models import Offer, WaitlistEntry
from waitlist.services import (
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
    waitlist_offer_next,
    waitlist_offers_expire,
    waitlist_promote,
)

# Real commits: refunds, releases and offers announce themselves after commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def full(event: Event) -> tuple[TicketTier, list[Order]]:
    """A tier of 3, sold to 3 buyers."""
    tier = TicketTierFactory.create(event=event, capacity=3, price=Decimal("30.00"))
    paid = [order_paid(buyer=UserFactory.create(), tier=tier).order for _ in range(3)]
    return tier, paid


def line_up(tier: TicketTier, n: int) -> list[User]:
    people = UserFactory.create_batch(n)
    for person in people:
        waitlist_join(user=person, event=tier.event, tier_id=tier.pk)
    return people


def refund(order: Order) -> None:
    order_refund(actor=order.buyer, order_id=order.pk, idempotency_key=f"r-{order.pk}")


def open_offers() -> list[Offer]:
    return list(Offer.objects.filter(status=Offer.Status.OPEN).order_by("created_at", "id"))


def test_released_seats_are_offered_to_the_head_of_the_line_and_held(
    full: tuple[TicketTier, list[Order]],
) -> None:
    tier, paid = full
    people = line_up(tier, 5)
    mail.outbox.clear()
    for order in paid:
        refund(order)

    offers = open_offers()
    assert [o.user for o in offers] == people[:3]
    tier.refresh_from_db()
    assert tier.sold_count == 3  # held for the offers, not back on public sale
    assert SetAside.objects.get(tier=tier).quantity == 0
    for offer in offers:
        assert offer.order.status == Order.Status.PENDING
        assert offer.order.buyer == offer.user and offer.order.total == Decimal("30.00")
        assert offer.expires_at == offer.order.expires_at
    with pytest.raises(SoldOut):
        order_reserved(buyer=UserFactory.create(), tier=tier)
    offer_mails = [m for m in mail.outbox if "is held for you" in m.subject]
    assert sorted(m.to[0] for m in offer_mails) == sorted(p.email for p in people[:3])
    assert all(
        f"/waitlist/offers/{o.token}" in "".join(str(m.body) for m in offer_mails) for o in offers
    )
    assert [e.status for e in WaitlistEntry.objects.order_by("created_at", "id")] == [
        "offered",
        "offered",
        "offered",
        "waiting",
        "waiting",
    ]


def test_an_expired_offer_moves_to_the_next_person(full: tuple[TicketTier, list[Order]]) -> None:
    tier, paid = full
    people = line_up(tier, 5)
    for order in paid:
        refund(order)
    first = open_offers()[0]
    past = timezone.now() - timedelta(seconds=1)
    Offer.objects.filter(pk=first.pk).update(expires_at=past)
    Order.objects.filter(pk=first.order_id).update(expires_at=past)

    waitlist_offers_expire()

    first.refresh_from_db()
    assert first.status == Offer.Status.EXPIRED
    assert WaitlistEntry.objects.get(pk=first.entry_id).status == WaitlistEntry.Status.EXPIRED
    assert [o.user for o in open_offers()] == people[1:4]
    tier.refresh_from_db()
    assert tier.sold_count == 3
    with pytest.raises(OfferExpired):
        waitlist_offer_accept(user=people[0], token=first.token, idempotency_key="late")


def test_accepting_books_at_the_offered_price_through_the_payment_service(
    full: tuple[TicketTier, list[Order]],
) -> None:
    tier, paid = full
    [person] = line_up(tier, 1)
    refund(paid[0])
    TicketTier.objects.filter(pk=tier.pk).update(price=Decimal("99.00"))  # later price rise
    offer = open_offers()[0]

    outcome = waitlist_offer_accept(user=person, token=offer.token, idempotency_key="pay")

    assert outcome.paid and outcome.order.total == Decimal("30.00")
    assert [t.holder for t in outcome.tickets] == [person]
    offer.refresh_from_db()
    assert offer.status == Offer.Status.ACCEPTED
    assert WaitlistEntry.objects.get(user=person).status == WaitlistEntry.Status.CONVERTED
    # The link is one-time: a replay returns the same booking, another key pays nothing new.
    again = waitlist_offer_accept(user=person, token=offer.token, idempotency_key="pay")
    assert again.order.pk == outcome.order.pk


def test_a_declined_offer_goes_to_the_next_person_at_once(
    full: tuple[TicketTier, list[Order]],
) -> None:
    tier, paid = full
    first, second = line_up(tier, 2)
    refund(paid[0])
    offer = open_offers()[0]
    waitlist_offer_decline(user=first, token=offer.token)
    assert [o.user for o in open_offers()] == [second]


def test_with_nobody_left_waiting_seats_go_back_on_sale(
    full: tuple[TicketTier, list[Order]],
) -> None:
    tier, paid = full
    [person] = line_up(tier, 1)
    refund(paid[0])
    refund(paid[1])  # one more seat than people waiting
    tier.refresh_from_db()
    assert tier.sold_count == 2  # 1 offer hold + 1 paid; the extra seat is on sale
    assert order_reserved(buyer=UserFactory.create(), tier=tier).status == "pending"
    # The offered person leaves without answering; when the offer lapses, the seat is sold again.
    waitlist_offer_decline(user=person, token=open_offers()[0].token)
    tier.refresh_from_db()
    assert tier.sold_count == 2


def test_people_who_left_are_skipped_and_their_seat_returns_to_sale(
    full: tuple[TicketTier, list[Order]],
) -> None:
    tier, paid = full
    a, b = line_up(tier, 2)
    entry_a = WaitlistEntry.objects.get(user=a)
    waitlist_leave(user=a, entry_id=entry_a.pk)
    refund(paid[0])
    assert [o.user for o in open_offers()] == [b]


def test_promotion_run_twice_makes_no_second_offer(full: tuple[TicketTier, list[Order]]) -> None:
    tier, paid = full
    line_up(tier, 5)
    for order in paid:
        refund(order)
    assert waitlist_promote(event_id=tier.event_id) == 0
    assert waitlist_promote(event_id=tier.event_id) == 0
    assert Offer.objects.count() == 3
    assert Offer.objects.values("entry").distinct().count() == 3


def test_a_promotion_killed_midway_leaves_nothing_half_done(
    full: tuple[TicketTier, list[Order]], monkeypatch: pytest.MonkeyPatch
) -> None:
    tier, paid = full
    people = line_up(tier, 5)
    monkeypatch.setattr("waitlist.receivers.promote_waitlist.delay", lambda *a, **k: None)
    for order in paid:
        refund(order)
    assert SetAside.objects.get(tier=tier).quantity == 3 and not Offer.objects.exists()

    real_create = Offer.objects.create
    calls = {"n": 0}

    def crash_on_second(**kwargs: object) -> Offer:
        calls["n"] += 1
        if calls["n"] == 2:
            raise IntegrityError("worker killed")
        return real_create(**kwargs)

    monkeypatch.setattr(Offer.objects, "create", crash_on_second)
    with pytest.raises(IntegrityError):
        waitlist_promote(event_id=tier.event_id)
    assert not Offer.objects.exists() and not Order.objects.filter(status="pending").exists()
    assert SetAside.objects.get(tier=tier).quantity == 3

    monkeypatch.setattr(Offer.objects, "create", real_create)
    assert waitlist_promote(event_id=tier.event_id) == 3
    assert [o.user for o in open_offers()] == people[:3]  # nobody skipped


def test_any_tier_people_are_merged_into_every_line_first_come_first_served(event: Event) -> None:
    cheap = TicketTierFactory.create(event=event, capacity=1, name="Cheap")
    dear = TicketTierFactory.create(event=event, capacity=1, name="Dear")
    cheap_buyer = order_paid(buyer=UserFactory.create(), tier=cheap).order
    order_paid(buyer=UserFactory.create(), tier=dear)
    anyone, cheap_fan = UserFactory.create_batch(2)
    waitlist_join(user=anyone, event=event)  # any tier, joined first
    waitlist_join(user=cheap_fan, event=event, tier_id=cheap.pk)
    refund(cheap_buyer)
    [offer] = open_offers()
    assert offer.user == anyone and offer.tier == cheap


def test_raising_capacity_offers_the_new_seats_to_the_line_first(
    full: tuple[TicketTier, list[Order]], organizer: User
) -> None:
    tier, _ = full
    people = line_up(tier, 2)
    spec = TierSpec(name=tier.name, price=tier.price, capacity=4, id=tier.pk)
    event_tiers_save(actor=organizer, event=tier.event, tiers=[spec])
    assert [o.user for o in open_offers()] == people[:1]
    tier.refresh_from_db()
    assert tier.sold_count == 4


def test_offer_minutes_come_from_the_event_policy(full: tuple[TicketTier, list[Order]]) -> None:
    tier, paid = full
    EventPolicy.objects.create(event=tier.event, waitlist_offer_minutes=5)
    line_up(tier, 1)
    refund(paid[0])
    offer = open_offers()[0]
    assert timedelta(minutes=4) < offer.expires_at - timezone.now() <= timedelta(minutes=5)


def test_an_expired_hold_is_offered_too(event: Event) -> None:
    tier = TicketTierFactory.create(event=event, capacity=1)
    order = order_reserved(buyer=UserFactory.create(), tier=tier)
    [person] = line_up(tier, 1)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    orders_release_expired()
    assert [o.user for o in open_offers()] == [person]


# --- Organizer view, manual offer, API, pages -----------------------------------------------


def test_organizer_view_shows_length_offers_and_conversion_and_offers_next(
    client: Client, full: tuple[TicketTier, list[Order]], organizer: User
) -> None:
    tier, paid = full
    people = line_up(tier, 3)
    refund(paid[0])
    refund(paid[1])
    first, second = open_offers()
    waitlist_offer_accept(user=people[0], token=first.token, idempotency_key="k")
    waitlist_offer_decline(user=people[1], token=second.token)  # -> people[2] offered

    client.force_login(organizer)
    url = f"/manage/events/{tier.event_id}/waitlist"
    page = client.get(url).content.decode()
    assert 'class="waiting">0<' in page and 'class="offers-open">1<' in page
    assert 'class="conversion">50 %<' in page

    with pytest.raises(NothingToOffer):
        waitlist_offer_next(actor=organizer, event_id=tier.event_id, tier_id=tier.pk)
    late = UserFactory.create()
    waitlist_join(user=late, event=tier.event, tier_id=tier.pk)
    TicketTier.objects.filter(pk=tier.pk).update(capacity=4)
    response = client.post(f"{url}/offer-next", {"tier": str(tier.pk)}, follow=True)
    assert "1 offer(s) sent." in response.content.decode()
    assert Offer.objects.get(user=late).manual

    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 404


def test_api_join_position_and_leave(client: Client, full: tuple[TicketTier, list[Order]]) -> None:
    tier, _ = full
    line_up(tier, 2)
    me = UserFactory.create()
    api = login(client, me)
    url = f"/events/{tier.event_id}/waitlist"
    response = api.post(url, {"tier_id": str(tier.pk)})
    assert response.status_code == 201, response.content
    assert response.json()["position"] == 3
    assert (
        api.post(url, {"tier_id": str(tier.pk)}).json()["entry_id"] == response.json()["entry_id"]
    )
    assert [p["position"] for p in api.get(url).json()] == [3]
    bad = api.post(url, {"tier_id": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    other = TicketTierFactory.create(event=tier.event, capacity=10)
    avail = api.post(url, {"tier_id": str(other.pk)})
    assert avail.status_code == 409 and avail.json()["error"]["code"] == "TICKETS_AVAILABLE"
    assert (
        client.delete(
            f"/api/v1/waitlist/{response.json()['entry_id']}", headers=api.headers()
        ).status_code
        == 204
    )
    assert api.get(url).json() == []


def test_offer_page_is_only_for_the_offered_person(
    client: Client, full: tuple[TicketTier, list[Order]]
) -> None:
    tier, paid = full
    [person] = line_up(tier, 1)
    refund(paid[0])
    offer = open_offers()[0]
    client.force_login(UserFactory.create())
    assert client.get(f"/waitlist/offers/{offer.token}").status_code == 404
    client.force_login(person)
    assert "Pay 30.00 EUR" in client.get(f"/waitlist/offers/{offer.token}").content.decode()
    response = client.post(
        f"/waitlist/offers/{offer.token}",
        {"idempotency_key": "x", "card_number": "4000 0000 0000 0002"},
    )
    assert response.status_code == 409  # declined card: the form says so, the hold is released


def test_organizer_waitlist_page_takes_constant_queries(
    client: Client, organizer: User, event: Event
) -> None:
    client.force_login(organizer)
    url = f"/manage/events/{event.pk}/waitlist"
    counts = []
    for _ in range(2):  # one more tier, more people and offers each round
        tier = TicketTierFactory.create(event=event, capacity=1)
        buyer = order_paid(buyer=UserFactory.create(), tier=tier).order
        line_up(tier, 3)
        refund(buyer)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_admission_gate_gets_seats_back_only_when_nobody_waits(
    full: tuple[TicketTier, list[Order]],
) -> None:
    tier, paid = full
    gate_sync(event_ids=[tier.event_id])
    assert gate_counter(tier) == 0
    [person] = line_up(tier, 1)

    refund(paid[0])  # one person waiting: the seat is held for them, the gate stays shut
    assert gate_counter(tier) == 0
    with pytest.raises(SoldOut):
        order_reserved(buyer=UserFactory.create(), tier=tier)

    refund(paid[1])  # nobody else waiting: back on public sale, in Redis too
    assert gate_counter(tier) == 1
    assert order_reserved(buyer=UserFactory.create(), tier=tier).status == "pending"
    assert [o.user for o in open_offers()] == [person]

import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from analytics.selectors import event_figures, event_live
from checkin.services import checkin_list_default, ticket_scan
from events.models import Event, TicketTier
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, UserFactory
from ticketing.aftersale.refunds import order_refund
from ticketing.booking.services import order_pay, order_reserve
from ticketing.models import Order, SetAside
from waitlist.services import waitlist_join


def _buy(buyer: User, event: Event, tier: TicketTier, quantity: int) -> list[str]:
    order = order_reserve(
        buyer=buyer,
        event_id=event.pk,
        items=[(tier.pk, quantity)],
        idempotency_key=uuid.uuid4().hex,
    )
    outcome = order_pay(buyer=buyer, order_id=order.pk, idempotency_key=uuid.uuid4().hex)
    return [t.qr_payload for t in outcome.tickets]


@pytest.mark.django_db(transaction=True)
def test_figures_count_sold_held_revenue_and_admissions_per_tier(organizer: User) -> None:
    event = EventFactory.create(organization=organizer.organizations.get())
    day = TicketTierFactory.create(event=event, name="Day", price=Decimal("30.00"), capacity=50)
    vip = TicketTierFactory.create(event=event, name="VIP", price=Decimal("90.00"), capacity=5)
    buyer = UserFactory.create()
    payloads = _buy(buyer, event, day, 3)
    _buy(buyer, event, vip, 1)
    order_reserve(buyer=buyer, event_id=event.pk, items=[(day.pk, 2)], idempotency_key="held")
    ticket_scan(payload=payloads[0], checkin_list=checkin_list_default(event), scanned_by=None)

    figures = event_figures(event)

    by_name = {t.name: t for t in figures.tiers}
    assert (by_name["Day"].sold, by_name["Day"].held, by_name["Day"].admitted) == (3, 2, 1)
    assert by_name["Day"].revenue == Decimal("90.00")
    assert by_name["Day"].available == 45
    assert (by_name["VIP"].sold, by_name["VIP"].revenue) == (1, Decimal("90.00"))
    assert (figures.sold, figures.held, figures.admitted) == (4, 2, 1)
    assert figures.revenue == Decimal("180.00")


@pytest.mark.django_db(transaction=True)
def test_live_counters_agree_with_the_figures_counted_from_tickets(
    organizer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live counters have SQL of their own; here they meet the ORM's count of the same
    things: sales, a pending hold, seats set aside for the waitlist and admissions."""
    monkeypatch.setattr("waitlist.receivers.promote_waitlist.delay", lambda *a, **k: None)
    event = EventFactory.create(organization=organizer.organizations.get())
    day = TicketTierFactory.create(event=event, name="Day", price=Decimal("30.00"), capacity=10)
    vip = TicketTierFactory.create(event=event, name="VIP", price=Decimal("90.00"), capacity=3)
    payloads = _buy(UserFactory.create(), event, day, 3)
    for payload in payloads[:2]:
        ticket_scan(payload=payload, checkin_list=checkin_list_default(event), scanned_by=None)
    order_reserve(
        buyer=UserFactory.create(), event_id=event.pk, items=[(day.pk, 2)], idempotency_key="h"
    )
    vip_buyers = UserFactory.create_batch(3)
    for buyer in vip_buyers:
        _buy(buyer, event, vip, 1)
    waitlist_join(user=UserFactory.create(), event=event, tier_id=vip.pk)
    refunded = Order.objects.get(buyer=vip_buyers[0])
    order_refund(actor=vip_buyers[0], order_id=refunded.pk, idempotency_key="r")
    assert SetAside.objects.get(tier=vip).quantity == 1  # the refunded seat waits for the list

    live = event_live(event, cached=False)
    figures = event_figures(event)

    assert [
        (t["name"], t["sold"], t["held"], t["available"], t["checked_in"]) for t in live["tiers"]
    ] == [(t.name, t.sold, t.held, t.available, t.admitted) for t in figures.tiers]
    assert [(t["sold"], t["held"], t["checked_in"]) for t in live["tiers"]] == [
        (3, 2, 2),
        (2, 1, 0),
    ]
    assert (live["sold"], live["held"], live["checked_in"], live["capacity"]) == (
        figures.sold,
        figures.held,
        figures.admitted,
        figures.capacity,
    )
    assert [(entry["name"], entry["checked_in"]) for entry in live["lists"]] == [
        (checkin_list_default(event).name, 2)
    ]


@pytest.mark.django_db
def test_dashboard_is_404_for_an_organizer_of_another_organization(event: Event) -> None:
    stranger = MembershipFactory.create().user
    client = Client()
    client.force_login(stranger)
    response = client.get(f"/manage/events/{event.pk}/dashboard")
    assert response.status_code == 404


@pytest.mark.django_db
def test_dashboard_query_count_does_not_grow_with_tiers(
    organizer: User, django_assert_max_num_queries
) -> None:
    event = EventFactory.create(organization=organizer.organizations.get())
    client = Client()
    client.force_login(organizer)
    TicketTierFactory.create(event=event)
    with django_assert_max_num_queries(20) as few:
        assert client.get(f"/manage/events/{event.pk}/dashboard").status_code == 200
    for _ in range(6):
        TicketTierFactory.create(event=event)
    # The live counters are shared for LIVE_MAX_AGE: count afresh, as after that half second.
    cache.delete(f"analytics:live:{event.pk}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"/manage/events/{event.pk}/dashboard")
    assert response.status_code == 200
    assert response.content.count(b'.sold">') == 7  # one live row per tier

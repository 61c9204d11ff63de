"""Figures: revenue is payments less refunds; attendance counts admitted tickets still valid."""

from decimal import Decimal

from accounts.models import User
from analytics.selectors import event_figures
from checkin.services import checkin_list_default, ticket_scan
from events.models import Event, TicketTier
from tests.factories import TicketTierFactory, UserFactory, order_paid
from ticketing.aftersale.refunds import order_refund
from ticketing.models import EventPolicy
from ticketing.selectors import event_revenue_net, tier_revenue_net


def test_revenue_is_net_of_refunds_with_the_fee_kept(attendee: User, event: Event) -> None:
    tier = TicketTierFactory.create(event=event, price=Decimal("40.00"))
    EventPolicy.objects.create(event=event, refund_fee_fixed=Decimal("2.50"))
    paid = order_paid(buyer=attendee, tier=tier, quantity=2)
    order_paid(buyer=UserFactory.create(), tier=tier)
    order_refund(
        actor=attendee, order_id=paid.order.pk, ticket_ids=[paid.tickets[0].pk], idempotency_key="r"
    )

    # 3 x 40 paid, 37.50 given back (40 less the 2.50 fee)
    assert event_revenue_net(event.pk) == Decimal("82.50")
    assert tier_revenue_net(event.pk) == {tier.pk: Decimal("82.50")}
    assert event_figures(event).revenue == Decimal("82.50")


def test_an_admission_counts_only_while_its_ticket_is_valid(
    attendee: User, door_staff: User, event: Event, tier: TicketTier
) -> None:
    EventPolicy.objects.create(event=event, refunds_after_entry=True)
    paid = order_paid(buyer=attendee, tier=tier, quantity=2)
    for ticket in paid.tickets:
        assert ticket_scan(
            payload=ticket.qr_payload,
            checkin_list=checkin_list_default(event),
            scanned_by=door_staff,
        ).valid
    assert event_figures(event).admitted == 2

    # Refunded after entry (the organizer allows it): no longer attendance, and no revenue.
    order_refund(
        actor=attendee, order_id=paid.order.pk, ticket_ids=[paid.tickets[0].pk], idempotency_key="r"
    )

    figures = event_figures(event)
    assert figures.admitted == 1
    assert figures.revenue == tier.price

"""Test data in bulk: many ticket holders for one event, written straight to the tables."""

import uuid
from typing import Any

from django.utils import timezone

from accounts.models import Membership, User
from events.models import Event, TicketTier
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, UserFactory
from ticketing.models import Order, Ticket


def holders_with_tickets(event: Event, tier: TicketTier, count: int) -> list[User]:
    """`count` people, each with one paid order of one valid ticket for `event`."""
    tag = uuid.uuid4().hex[:8]
    users = User.objects.bulk_create(
        [
            User(email=f"holder{n}-{tag}@example.com", full_name=f"Holder {n}", password="!")
            for n in range(count)
        ]
    )
    now = timezone.now()
    orders = Order.objects.bulk_create(
        [
            Order(
                buyer=user,
                event=event,
                status=Order.Status.PAID,
                total=tier.price,
                currency=event.currency,
                expires_at=now,
                paid_at=now,
                idempotency_key=uuid.uuid4().hex,
                request_digest="bulk",
            )
            for user in users
        ]
    )
    Ticket.objects.bulk_create(
        [
            Ticket(
                order=order,
                event=event,
                tier=tier,
                holder=order.buyer,
                attendee_name=order.buyer.full_name,
                qr_payload=f"bulk-{order.pk}",
            )
            for order in orders
        ]
    )
    TicketTier.objects.filter(pk=tier.pk).update(sold_count=count)
    return users


# factory_boy's stubs type `Factory()` as the factory; these say what the tests get.
def make_event(**fields: Any) -> Event:
    return EventFactory(**fields)


def make_tier(**fields: Any) -> TicketTier:
    return TicketTierFactory(**fields)


def make_user(**fields: Any) -> User:
    return UserFactory(**fields)


def make_owner() -> User:
    return MembershipFactory(role=Membership.Role.OWNER).user

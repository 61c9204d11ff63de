"""Raising a sold-out tier's capacity puts the new tickets on sale at once (the gate re-syncs)."""

import pytest

from accounts.models import User
from events.services import TierSpec, event_update
from tests.factories import EventFactory, TicketTierFactory, UserFactory, order_reserved
from ticketing.booking.gate import gate_sync
from ticketing.errors import SoldOut


@pytest.mark.django_db
def test_raised_capacity_is_bookable_immediately(
    organizer: User, django_capture_on_commit_callbacks
) -> None:
    event = EventFactory.create(organization=organizer.organizations.get())
    tier = TicketTierFactory.create(event=event, capacity=1)
    order_reserved(buyer=UserFactory.create(), tier=tier)
    gate_sync()
    with pytest.raises(SoldOut):  # answered by the gate
        order_reserved(buyer=UserFactory.create(), tier=tier)

    with django_capture_on_commit_callbacks(execute=True):
        event_update(
            actor=organizer,
            event=event,
            tiers=[TierSpec(id=tier.pk, name=tier.name, price=tier.price, capacity=2)],
        )

    order = order_reserved(buyer=UserFactory.create(), tier=tier)
    tier.refresh_from_db()
    assert order.status == "pending"
    assert tier.sold_count == 2

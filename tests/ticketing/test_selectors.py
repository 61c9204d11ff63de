"""Selectors turn ids that are not theirs to show (or not ids at all) into a 404."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.http import Http404

from accounts.models import User
from checkin.selectors import event_for_door
from events.models import Event, TicketTier
from events.selectors import event_managed_by, published_event
from tests.factories import EventFactory, UserFactory, order_paid, order_reserved
from ticketing.selectors import order_of_buyer, tickets_of

BAD_IDS = [uuid.uuid4(), "not-a-uuid", ""]


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_published_event_of_a_bad_id_is_404(db: None, bad_id: Any) -> None:
    with pytest.raises(Http404):
        published_event(bad_id)


def test_draft_event_is_404_to_the_public(db: None) -> None:
    draft = EventFactory.create(status=Event.Status.DRAFT)

    with pytest.raises(Http404):
        published_event(draft.pk)


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("selector", [event_managed_by, event_for_door])
def test_scoped_event_selectors_turn_bad_ids_into_404(
    organizer: User, bad_id: Any, selector: Callable[[User, Any], Event]
) -> None:
    with pytest.raises(Http404):
        selector(organizer, bad_id)


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_order_of_buyer_turns_bad_ids_into_404(attendee: User, bad_id: Any) -> None:
    with pytest.raises(Http404):
        order_of_buyer(attendee, bad_id)


def test_order_of_buyer_is_404_for_someone_elses_order(attendee: User, tier: TicketTier) -> None:
    order = order_reserved(buyer=attendee, tier=tier)

    assert order_of_buyer(attendee, order.pk) == order
    with pytest.raises(Http404):
        order_of_buyer(UserFactory.create(), order.pk)


def test_tickets_of_lists_only_the_holders_tickets(attendee: User, tier: TicketTier) -> None:
    mine = order_paid(buyer=attendee, tier=tier, quantity=2)
    order_paid(buyer=UserFactory.create(), tier=tier, quantity=1)

    assert {t.pk for t in tickets_of(attendee)} == {t.pk for t in mine.tickets}

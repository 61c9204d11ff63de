"""Joining, place in line and leaving (promotion and offers build on this)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from core.errors import NotFound
from events.models import Event, TicketTier
from tests.factories import TicketTierFactory, UserFactory, order_reserved
from waitlist.errors import TicketsAvailable
from waitlist.models import WaitlistEntry
from waitlist.selectors import waiting_places
from waitlist.services import waitlist_join, waitlist_leave


@pytest.fixture
def sold_out(event: Event) -> TicketTier:
    tier = TicketTierFactory.create(event=event, capacity=1)
    order_reserved(buyer=UserFactory.create(), tier=tier)
    return tier


def position(user: User, event: Event) -> list[int]:
    return [place.position for place in waiting_places(user, event)]


@pytest.mark.django_db
def test_people_line_up_first_come_first_served(sold_out: TicketTier) -> None:
    event = sold_out.event
    first, second, third = UserFactory.create_batch(3)
    for user in (first, second, third):
        waitlist_join(user=user, event=event, tier_id=sold_out.pk)
    # Same join time: the earlier entry (lower id) stays ahead.
    WaitlistEntry.objects.update(created_at=timezone.now() - timedelta(minutes=1))

    assert [position(u, event) for u in (first, second, third)] == [[1], [2], [3]]


@pytest.mark.django_db
def test_joining_again_keeps_your_place(sold_out: TicketTier, attendee: User) -> None:
    first = waitlist_join(user=attendee, event=sold_out.event, tier_id=sold_out.pk)
    again = waitlist_join(user=attendee, event=sold_out.event, tier_id=sold_out.pk)

    assert again.pk == first.pk
    assert WaitlistEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_joining_twice_at_once_makes_one_entry(sold_out: TicketTier, attendee: User) -> None:
    barrier = threading.Barrier(6)
    ids: list[int] = []

    def join() -> None:
        barrier.wait()
        try:
            ids.append(waitlist_join(user=attendee, event=sold_out.event, tier_id=sold_out.pk).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=join) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert len(ids) == 6 and len(set(ids)) == 1
    assert WaitlistEntry.objects.count() == 1


@pytest.mark.django_db
def test_any_tier_is_its_own_line(sold_out: TicketTier, attendee: User) -> None:
    other = UserFactory.create()
    waitlist_join(user=other, event=sold_out.event, tier_id=sold_out.pk)
    waitlist_join(user=attendee, event=sold_out.event)  # any tier

    assert position(attendee, sold_out.event) == [1]
    assert waiting_places(attendee, sold_out.event)[0].entry.tier is None


@pytest.mark.django_db
def test_cannot_wait_for_tickets_that_are_on_sale(tier: TicketTier, attendee: User) -> None:
    with pytest.raises(TicketsAvailable):
        waitlist_join(user=attendee, event=tier.event, tier_id=tier.pk)
    assert WaitlistEntry.objects.count() == 0


@pytest.mark.django_db
def test_leaving_moves_the_people_behind_you_up(sold_out: TicketTier) -> None:
    first, second = UserFactory.create_batch(2)
    entry = waitlist_join(user=first, event=sold_out.event, tier_id=sold_out.pk)
    waitlist_join(user=second, event=sold_out.event, tier_id=sold_out.pk)

    waitlist_leave(user=first, entry_id=entry.pk)

    assert position(second, sold_out.event) == [1]
    assert position(first, sold_out.event) == []
    with pytest.raises(NotFound):  # not twice, and not someone else's
        waitlist_leave(user=second, entry_id=entry.pk)


@pytest.mark.django_db
def test_the_waitlist_page_joins_and_shows_your_place(sold_out: TicketTier, attendee: User) -> None:
    client = Client()
    client.force_login(attendee)
    url = f"/events/{sold_out.event_id}/waitlist"

    response = client.post(url, {"tier": str(sold_out.pk)}, follow=True)

    assert response.status_code == 200
    assert b"number 1" in response.content
    assert WaitlistEntry.objects.filter(user=attendee, tier=sold_out).count() == 1
    garbage = client.post(url, {"tier": "not-a-tier"}, follow=True)
    assert garbage.status_code == 200
    assert WaitlistEntry.objects.count() == 1

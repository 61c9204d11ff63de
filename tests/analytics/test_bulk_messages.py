import uuid
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import AuditEntry, User
from events.models import Event, TicketTier
from notifications.models import WEBHOOK_TOPICS, Delivery, Message, Topic, WebhookEndpoint
from tests.factories import MembershipFactory, UserFactory
from ticketing.booking.services import order_pay, order_reserve
from ticketing.models import Ticket


def _buy(event: Event, tier: TicketTier, quantity: int, name: str) -> list[Ticket]:
    buyer = UserFactory.create(full_name=name)
    order = order_reserve(
        buyer=buyer, event_id=event.pk, items=[(tier.pk, quantity)], idempotency_key=name
    )
    return order_pay(buyer=buyer, order_id=order.pk, idempotency_key=uuid.uuid4().hex).tickets


@pytest.fixture
def organizer_client(organizer: User) -> Client:
    client = Client()
    client.force_login(organizer)
    return client


@pytest.fixture
def hooked(event: Event) -> WebhookEndpoint:
    """An endpoint that hears every topic an organization can subscribe to."""
    return WebhookEndpoint.objects.create(
        organization=event.organization,
        url="https://hooks.example.test/boxoffice",
        topics=[str(t) for t in WEBHOOK_TOPICS],
    )


@pytest.mark.django_db
def test_resending_tickets_mails_the_holder_only_and_fires_no_webhook(
    organizer_client: Client,
    event: Event,
    tier: TicketTier,
    hooked: WebhookEndpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the sale's own mail and webhook
        first, second = _buy(event, tier, 2, "Resend Me")
    confirmations = Message.objects.filter(topic=Topic.ORDER_CONFIRMED).count()
    hooks = Delivery.objects.filter(channel="webhook").count()
    assert hooks == 1  # the endpoint does hear about sales
    mail.outbox.clear()
    url = f"/manage/events/{event.pk}/attendees/bulk"
    form = {"action": "resend", "scope": "selected", "ticket": [first.pk], "batch_key": "r1"}
    with django_capture_on_commit_callbacks(execute=True):
        assert organizer_client.post(url, form).status_code == 302
        organizer_client.post(url, form)  # sent twice: still one mail
    [message] = Message.objects.filter(topic=Topic.TICKETS_RESENT)
    assert message.user_id == first.holder_id
    assert Message.objects.filter(topic=Topic.ORDER_CONFIRMED).count() == confirmations
    assert Delivery.objects.filter(channel="webhook").count() == hooks
    [email] = mail.outbox
    assert first.code in email.body and second.code not in email.body
    # Each submission is audited (the second one sent nothing new, but it was asked for).
    entries = AuditEntry.objects.filter(action="attendees.tickets_resent")
    assert [(e.target_id, e.changes["tickets"]) for e in entries] == [(str(event.pk), 1)] * 2


@pytest.mark.django_db
def test_emailing_selected_attendees_reaches_each_holder_once_through_the_outbox(
    organizer_client: Client,
    organizer: User,
    event: Event,
    tier: TicketTier,
    hooked: WebhookEndpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pair = _buy(event, tier, 2, "Pair Buyer")
        [single] = _buy(event, tier, 1, "Single Buyer")
        [left_out] = _buy(event, tier, 1, "Not Chosen")
    hooks = Delivery.objects.filter(channel="webhook").count()
    url = f"/manage/events/{event.pk}/attendees/bulk"
    form = {
        "action": "email",
        "scope": "selected",
        "ticket": [pair[0].pk, pair[1].pk, single.pk],
        "subject": "Doors open at 19:00",
        "body": "Bring your ticket.\n\nThe side entrance is closed.",
        "batch_key": "m1",
    }
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert organizer_client.post(url, form).status_code == 302
    messages = Message.objects.filter(topic=Topic.ORGANIZER_MESSAGE)
    assert {m.user_id for m in messages} == {pair[0].holder_id, single.holder_id}
    assert Delivery.objects.filter(channel="webhook").count() == hooks
    recipients = sorted(address for m in mail.outbox for address in m.to)
    assert recipients == sorted([pair[0].holder.email, single.holder.email])
    assert left_out.holder.email not in recipients
    assert "Doors open at 19:00" in mail.outbox[0].subject
    assert "The side entrance is closed." in mail.outbox[0].body
    entry = AuditEntry.objects.get(action="attendees.emailed")
    assert entry.actor == organizer and entry.changes["recipients"] == 2


@pytest.mark.django_db
def test_a_message_without_subject_or_text_is_refused_and_nothing_is_written(
    organizer_client: Client, event: Event, tier: TicketTier
) -> None:
    [ticket] = _buy(event, tier, 1, "Somebody")
    url = f"/manage/events/{event.pk}/attendees/bulk"
    response = organizer_client.post(
        url,
        {"action": "email", "ticket": [ticket.pk], "subject": "  ", "body": "Hello"},
        follow=True,
    )
    assert "Give the message a subject and a text." in response.content.decode()
    assert not Message.objects.filter(topic=Topic.ORGANIZER_MESSAGE).exists()
    assert not AuditEntry.objects.filter(action="attendees.emailed").exists()
    stranger = Client()
    stranger.force_login(MembershipFactory.create().user)
    refused = stranger.post(url, {"action": "resend", "ticket": [ticket.pk]})
    assert refused.status_code == 404
    assert not Message.objects.filter(topic=Topic.TICKETS_RESENT).exists()

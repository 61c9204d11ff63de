"""An admission at the door becomes a `ticket.checked_in` webhook message, when subscribed."""

import pytest

from accounts.models import User
from checkin.services import checkin_list_default, ticket_scan
from events.models import TicketTier
from notifications.models import Message, Topic, WebhookEndpoint
from tests.factories import UserFactory, order_paid


def scan(payload: str, tier: TicketTier, door: User) -> bool:
    result = ticket_scan(
        payload=payload,
        checkin_list=checkin_list_default(tier.event),
        scanned_by=door,
        device_id="gate",
    )
    return result.valid


@pytest.mark.django_db
def test_an_admission_is_announced_to_a_subscribed_webhook_once(
    tier: TicketTier, door_staff: User
) -> None:
    WebhookEndpoint.objects.create(
        organization=tier.event.organization,
        url="https://example.com/hook",
        topics=[Topic.TICKET_CHECKED_IN],
    )
    (ticket,) = order_paid(buyer=UserFactory.create(), tier=tier).tickets

    assert scan(ticket.qr_payload, tier, door_staff)
    assert not scan(ticket.qr_payload, tier, door_staff)  # already used: no second message

    (message,) = Message.objects.filter(topic=Topic.TICKET_CHECKED_IN)
    assert message.data["ticket_id"] == str(ticket.pk)
    assert message.organization_id == tier.event.organization_id


@pytest.mark.django_db
def test_without_a_subscriber_an_admission_writes_nothing(
    tier: TicketTier, door_staff: User
) -> None:
    WebhookEndpoint.objects.create(
        organization=tier.event.organization,
        url="https://example.com/hook",
        topics=[Topic.ORDER_CONFIRMED],
    )
    (ticket,) = order_paid(buyer=UserFactory.create(), tier=tier).tickets

    assert scan(ticket.qr_payload, tier, door_staff)

    assert not Message.objects.filter(topic=Topic.TICKET_CHECKED_IN).exists()

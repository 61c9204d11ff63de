"""Transfers: a ticket changes hands by email; the old QR dies at once; history is kept."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import User
from checkin.services import checkin_list_default, ticket_scan
from checkin.signing import payload_verify
from core.errors import NotFound
from events.models import Event, TicketTier
from tests.api.conftest import login
from tests.factories import UserFactory, order_paid
from ticketing.aftersale.refunds import order_refund
from ticketing.aftersale.transfers import (
    ticket_transfer_accept,
    ticket_transfer_cancel,
    ticket_transfer_send,
)
from ticketing.errors import (
    TicketNotRefundable,
    TicketNotTransferable,
    TransferNotOpen,
    TransfersNotAllowed,
    TransferWindowClosed,
)
from ticketing.models import EventPolicy, Ticket, Transfer

# Real commits: refunds, releases and offers announce themselves after commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ticket(attendee: User, tier: TicketTier) -> Ticket:
    return order_paid(buyer=attendee, tier=tier).tickets[0]


def test_a_transferred_away_qr_is_rejected_at_check_in_and_the_new_one_admitted(
    attendee: User, ticket: Ticket, door_staff: User
) -> None:
    friend = UserFactory.create(email="friend@example.com")
    transfer = ticket_transfer_send(
        sender=attendee, ticket_id=ticket.pk, to_email="Friend@Example.com"
    )
    gate = checkin_list_default(ticket.event)

    new = ticket_transfer_accept(recipient=friend, token=transfer.token)

    old_scan = ticket_scan(payload=ticket.qr_payload, checkin_list=gate, scanned_by=door_staff)
    assert not old_scan.valid and old_scan.reason == "transferred"
    new_scan = ticket_scan(payload=new.qr_payload, checkin_list=gate, scanned_by=door_staff)
    assert new_scan.valid
    assert new.pk != ticket.pk and new.qr_payload != ticket.qr_payload
    assert payload_verify(new.qr_payload).ticket_id == new.pk
    assert new.holder == friend and new.order_id == ticket.order_id
    old = Ticket.objects.get(pk=ticket.pk)
    assert (old.status, old.void_reason) == ("void", "transferred")
    transfer.refresh_from_db()
    assert (transfer.status, transfer.recipient, transfer.new_ticket) == ("accepted", friend, new)


def test_the_recipient_is_emailed_a_link_and_the_sender_told_when_accepted(
    attendee: User, ticket: Ticket
) -> None:
    mail.outbox.clear()
    transfer = ticket_transfer_send(
        sender=attendee, ticket_id=ticket.pk, to_email="new@example.com"
    )
    [offer] = mail.outbox
    assert offer.to == ["new@example.com"]
    assert f"/transfers/{transfer.token}" in offer.body
    ticket_transfer_accept(
        recipient=UserFactory.create(email="new@example.com"), token=transfer.token
    )
    assert mail.outbox[1].to == [attendee.email]
    assert "accepted" in mail.outbox[1].subject


def test_only_the_addressee_may_accept_and_only_once(attendee: User, ticket: Ticket) -> None:
    transfer = ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="a@example.com")
    with pytest.raises(NotFound):
        ticket_transfer_accept(recipient=UserFactory.create(), token=transfer.token)
    recipient = UserFactory.create(email="a@example.com")
    first = ticket_transfer_accept(recipient=recipient, token=transfer.token)
    assert ticket_transfer_accept(recipient=recipient, token=transfer.token).pk == first.pk
    assert Ticket.objects.count() == 2
    with pytest.raises(NotFound):
        ticket_transfer_accept(recipient=recipient, token="no-such-token")


def test_the_sender_can_no_longer_use_refund_or_resend_a_ticket_given_away(
    attendee: User, ticket: Ticket
) -> None:
    transfer = ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="b@example.com")
    ticket_transfer_accept(
        recipient=UserFactory.create(email="b@example.com"), token=transfer.token
    )
    with pytest.raises(TicketNotRefundable):
        order_refund(actor=attendee, order_id=ticket.order_id, idempotency_key="k")
    with pytest.raises(TicketNotTransferable):
        ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="c@example.com")


def test_a_new_send_replaces_a_pending_one_and_cancel_keeps_the_ticket(
    attendee: User, ticket: Ticket
) -> None:
    first = ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="x@example.com")
    second = ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="y@example.com")
    first.refresh_from_db()
    assert first.status == Transfer.Status.CANCELLED
    with pytest.raises(TransferNotOpen):
        ticket_transfer_accept(
            recipient=UserFactory.create(email="x@example.com"), token=first.token
        )
    ticket_transfer_cancel(sender=attendee, transfer_id=second.pk)
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.VALID
    # History: every attempt is kept.
    assert list(Transfer.objects.order_by("created_at").values_list("to_email", "status")) == [
        ("x@example.com", "cancelled"),
        ("y@example.com", "cancelled"),
    ]


def test_organizers_can_forbid_transfers_or_stop_them_before_the_start(
    attendee: User, ticket: Ticket
) -> None:
    policy = EventPolicy.objects.create(event=ticket.event, transfers_allowed=False)
    with pytest.raises(TransfersNotAllowed):
        ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="z@example.com")

    policy.transfers_allowed, policy.transfer_until_hours = True, 6
    policy.save()
    transfer = ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="z@example.com")
    Event.objects.filter(pk=ticket.event_id).update(starts_at=timezone.now() + timedelta(hours=5))
    with pytest.raises(TransferWindowClosed):  # also when accepting after the cut-off
        ticket_transfer_accept(
            recipient=UserFactory.create(email="z@example.com"), token=transfer.token
        )
    with pytest.raises(TransferWindowClosed):
        ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="w@example.com")


def test_someone_elses_ticket_cannot_be_sent(ticket: Ticket) -> None:
    with pytest.raises(NotFound):
        ticket_transfer_send(
            sender=UserFactory.create(), ticket_id=ticket.pk, to_email="q@example.com"
        )


def test_api_send_and_accept(client: Client, attendee: User, ticket: Ticket) -> None:
    api = login(client, attendee)
    mail.outbox.clear()
    response = api.post(f"/tickets/{ticket.pk}/transfer", {"email": "api@example.com"})
    assert response.status_code == 201, response.content
    bad = api.post(f"/tickets/{ticket.pk}/transfer", {"email": "not an email"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    [link] = re.findall(r"/transfers/([\w-]+)", str(mail.outbox[0].body))  # the recipient's email
    token = link

    recipient = UserFactory.create(email="api@example.com")
    api_recipient = login(Client(), recipient)
    response = api_recipient.post(f"/transfers/{token}/accept")
    assert response.status_code == 200, response.content
    assert payload_verify(response.json()["qr_code"]).ticket_id != ticket.pk
    again = api.post(f"/tickets/{ticket.pk}/transfer", {"email": "x@example.com"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "TICKET_NOT_TRANSFERABLE"


def test_recipient_without_account_signs_up_then_accepts_on_the_page(
    client: Client, attendee: User, ticket: Ticket
) -> None:
    transfer = ticket_transfer_send(
        sender=attendee, ticket_id=ticket.pk, to_email="newbie@example.com"
    )
    page = client.get(f"/transfers/{transfer.token}")
    assert page.status_code == 200
    assert "/accounts/signup/?next=" in page.content.decode()

    response = client.post(
        f"/accounts/signup/?next=/transfers/{transfer.token}",
        {
            "email": "newbie@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 302, response.content
    response = client.post(f"/transfers/{transfer.token}", follow=True)
    assert "The ticket is yours" in response.content.decode()
    assert Ticket.objects.get(holder__email="newbie@example.com").status == Ticket.Status.VALID
    assert client.get("/tickets/transfers/").status_code == 200


def test_the_token_is_stored_only_as_its_hash(attendee: User, ticket: Ticket) -> None:
    transfer = ticket_transfer_send(
        sender=attendee, ticket_id=ticket.pk, to_email="hash@example.com"
    )
    stored = Transfer.objects.get(pk=transfer.pk)

    assert transfer.token and transfer.token not in stored.token_hash
    assert stored.token_hash == hashlib.sha256(transfer.token.encode()).hexdigest()
    # What a database reader sees does not accept the transfer; only the emailed token does.
    recipient = UserFactory.create(email="hash@example.com")
    with pytest.raises(NotFound):
        ticket_transfer_accept(recipient=recipient, token=stored.token_hash)
    assert ticket_transfer_accept(recipient=recipient, token=transfer.token).holder == recipient

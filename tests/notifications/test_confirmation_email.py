"""The confirmation email as production sends it: a real Celery worker, delivered over SMTP."""

import re
import time
import uuid
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.models import User
from events.models import TicketTier
from notifications.content import ORDER_HEADER
from notifications.ticket_links import ticket_qr_url
from tests.factories import order_paid
from tests.notifications.conftest import Inbox, WorkerFactory, wait_for
from tests.qr import qr_texts
from ticketing.models import Ticket


@pytest.mark.real_celery
@pytest.mark.django_db(transaction=True)
def test_paid_order_is_emailed_with_qr_links_that_scan_and_a_calendar_entry_by_the_worker(
    start_worker: WorkerFactory,
    smtp_server: tuple[Inbox, int],
    attendee: User,
    tier: TicketTier,
) -> None:
    inbox, _ = smtp_server
    worker = start_worker()
    tickets = order_paid(buyer=attendee, tier=tier, quantity=2).tickets

    wait_for(lambda: bool(inbox.messages), timeout=30, what="the confirmation", log=worker.log)
    time.sleep(1)  # a second copy (a task run twice) would arrive about now

    assert len(inbox.messages) == 1
    assert inbox.recipients == [[attendee.email]]
    message = inbox.messages[0]
    assert message["Subject"] == f"Your tickets for {tier.event.title}"
    assert message["To"] == attendee.email
    # Transactional mail: nothing to unsubscribe from.
    assert message["List-Unsubscribe"] is None
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None
    assert text_part is not None
    # No PNG parts: each ticket's QR is an image link the mail shows inline and the site serves.
    assert not [p for p in message.iter_attachments() if p.get_content_type() == "image/png"]
    html, text = html_part.get_content(), text_part.get_content()
    links = re.findall(r'<img src="([^"]+)"', html)
    assert len(links) == 2
    assert all(link in text for link in links)  # the plain part carries them too
    client = Client()
    decoded = []
    for link in links:
        response = client.get(urlsplit(link).path)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        decoded += qr_texts(response.content)
    assert sorted(decoded) == sorted(ticket.qr_payload for ticket in tickets)
    assert message[ORDER_HEADER] == str(tickets[0].order_id)
    calendars = [
        part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
    ]
    assert len(calendars) == 1
    ics = calendars[0].get_content()
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert f"UID:{tier.event.pk}@boxoffice" in ics
    assert "DTSTART:" + tier.event.starts_at.strftime("%Y%m%dT%H%M%SZ") in ics


@pytest.mark.django_db
def test_qr_link_of_a_forged_voided_or_reissued_ticket_shows_nothing(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    (ticket,) = order_paid(buyer=attendee, tier=tier).tickets
    path = urlsplit(ticket_qr_url(ticket)).path
    assert client.get(path).status_code == 200
    # The same response again comes from the cache, not a second drawing.
    assert qr_texts(client.get(path).content) == [ticket.qr_payload]

    forged = path.replace(str(ticket.pk), str(uuid.uuid4()))
    assert client.get(forged).status_code == 404
    assert client.get(path[:-10] + "xxxxxx.png").status_code == 404

    Ticket.objects.filter(pk=ticket.pk).update(qr_payload=ticket.qr_payload + "-reissued")
    assert client.get(path).status_code == 404
    Ticket.objects.filter(pk=ticket.pk).update(
        qr_payload=ticket.qr_payload, status=Ticket.Status.VOID
    )
    assert client.get(path).status_code == 404

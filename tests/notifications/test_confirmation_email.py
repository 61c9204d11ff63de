"""The confirmation email as production sends it: a real Celery worker, delivered over SMTP."""

import time

import pytest

from accounts.models import User
from events.models import TicketTier
from tests.factories import order_paid
from tests.notifications.conftest import Inbox, WorkerFactory, wait_for
from tests.qr import qr_texts


@pytest.mark.real_celery
@pytest.mark.django_db(transaction=True)
def test_paid_order_is_emailed_with_its_qr_codes_and_calendar_entry_by_the_worker(
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
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None
    pngs = [
        part.get_content()
        for part in message.iter_attachments()
        if part.get_content_type() == "image/png"
    ]
    assert len(pngs) == 2
    decoded = sorted(text for png in pngs for text in qr_texts(png))
    assert decoded == sorted(ticket.qr_payload for ticket in tickets)
    calendars = [
        part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
    ]
    assert len(calendars) == 1
    ics = calendars[0].get_content()
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert f"UID:{tier.event.pk}@boxoffice" in ics
    assert "DTSTART:" + tier.event.starts_at.strftime("%Y%m%dT%H%M%SZ") in ics

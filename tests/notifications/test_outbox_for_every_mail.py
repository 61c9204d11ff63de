"""Waitlist offers, transfers, the waitlist's cancellation notice and session changes go through
the outbox like every other message: a row written in the transaction of the change, delivered
once by a real Celery worker to a real SMTP server, however often its tasks run."""

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from accounts.models import User
from events import agenda
from events.models import Event, Session
from events.signals import session_changed
from notifications.models import Delivery, Message, Topic
from notifications.tasks import fan_out, send_deliveries
from tests.factories import TicketTierFactory, UserFactory, order_paid
from tests.notifications.conftest import Inbox, WorkerFactory, wait_for
from tests.notifications.helpers import holders_with_tickets
from ticketing.aftersale.refunds import order_refund
from ticketing.aftersale.transfers import ticket_transfer_accept, ticket_transfer_send
from waitlist.models import Offer
from waitlist.services import waitlist_join

pytestmark = pytest.mark.django_db(transaction=True)


def mails_to(inbox: Inbox, address: str, subject_part: str) -> list[Any]:
    return [m for m in inbox.to(address) if subject_part in str(m["Subject"])]


def run_its_tasks_again(message: Message) -> None:
    """What a redelivered task or a second beat run would do: must change nothing."""
    fan_out.delay(str(message.pk))
    emails = Delivery.objects.filter(message=message, channel="email")
    send_deliveries.delay([str(pk) for pk in emails.values_list("pk", flat=True)])
    time.sleep(2)


def wait_for_mail(inbox: Inbox, address: str, subject_part: str, worker: Any) -> None:
    wait_for(
        lambda: bool(mails_to(inbox, address, subject_part)),
        timeout=60,
        what=f"“{subject_part}” to {address}",
        log=worker.log,
    )


@pytest.mark.real_celery
def test_a_waitlist_offer_is_one_outbox_message_mailed_once(
    start_worker: WorkerFactory, smtp_server: tuple[Inbox, int], event: Event
) -> None:
    inbox, _ = smtp_server
    worker = start_worker()
    tier = TicketTierFactory.create(event=event, capacity=1, price=Decimal("30.00"))
    sold = order_paid(buyer=UserFactory.create(), tier=tier).order
    waiting: User = UserFactory.create()
    waitlist_join(user=waiting, event=event, tier_id=tier.pk)

    order_refund(actor=sold.buyer, order_id=sold.pk, idempotency_key="free-a-seat")
    wait_for_mail(inbox, waiting.email, "is held for you", worker)

    offer = Offer.objects.get(user=waiting)
    message = Message.objects.get(topic=Topic.WAITLIST_OFFER)
    assert message.data == {"offer_id": str(offer.pk)} and message.user_id == waiting.pk
    run_its_tasks_again(message)
    [mail] = mails_to(inbox, waiting.email, "is held for you")
    assert f"/waitlist/offers/{offer.token}" in mail.get_body(("plain",)).get_content()


@pytest.mark.real_celery
def test_a_transfer_mails_the_address_once_and_the_sender_once_when_accepted(
    start_worker: WorkerFactory, smtp_server: tuple[Inbox, int], tier: Any
) -> None:
    inbox, _ = smtp_server
    worker = start_worker()
    sender: User = UserFactory.create()
    ticket = order_paid(buyer=sender, tier=tier).tickets[0]

    transfer = ticket_transfer_send(sender=sender, ticket_id=ticket.pk, to_email="new@example.com")
    wait_for_mail(inbox, "new@example.com", "sent you a ticket", worker)
    offered = Message.objects.get(topic=Topic.TRANSFER_OFFERED)
    assert offered.data["email"] == "new@example.com" and offered.user_id is None

    ticket_transfer_accept(
        recipient=UserFactory.create(email="new@example.com"), token=transfer.token
    )
    wait_for_mail(inbox, sender.email, "was accepted", worker)

    run_its_tasks_again(offered)
    run_its_tasks_again(Message.objects.get(topic=Topic.TRANSFER_ACCEPTED))
    assert len(mails_to(inbox, "new@example.com", "sent you a ticket")) == 1
    assert len(mails_to(inbox, sender.email, "was accepted")) == 1
    [offer_mail] = mails_to(inbox, "new@example.com", "sent you a ticket")
    assert f"/transfers/{transfer.token}" in offer_mail.get_body(("plain",)).get_content()


@pytest.fixture
def conference(organizer: User) -> tuple[Event, Session]:
    event: Event = TicketTierFactory.create(
        event__organization=organizer.organizations.get(), event__time_zone="Europe/Berlin"
    ).event
    saved = agenda.session_save(
        actor=organizer,
        event=event,
        title="Keynote",
        starts_at=event.starts_at,
        ends_at=event.starts_at + timedelta(hours=1),
        room_name="Hall A",
    )
    return event, saved.session


def move(organizer: User, event: Event, session: Session, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "title": session.title,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "room_name": session.room.name if session.room else "",
    } | changes
    agenda.session_save(actor=organizer, event=event, session_id=session.pk, **fields)


@pytest.mark.real_celery
def test_moving_a_session_alerts_its_holders_and_starrers_once_in_the_events_zone(
    start_worker: WorkerFactory,
    smtp_server: tuple[Inbox, int],
    organizer: User,
    conference: tuple[Event, Session],
) -> None:
    inbox, _ = smtp_server
    event, session = conference
    holders = holders_with_tickets(event, event.tiers.get(), 2)
    starrer, bystander = UserFactory.create_batch(2)
    agenda.session_star(user=starrer, session_id=session.pk)
    worker = start_worker()

    later = session.starts_at + timedelta(hours=2)
    move(organizer, event, session, starts_at=later, ends_at=later + timedelta(hours=1))
    people = [*holders, starrer]
    for person in people:
        wait_for_mail(inbox, person.email, "Changed: Keynote", worker)

    message = Message.objects.get(topic=Topic.SESSION_CHANGED)
    run_its_tasks_again(message)
    for person in people:
        [mail] = mails_to(inbox, person.email, "Changed: Keynote")
        text = mail.get_body(("plain",)).get_content()
        new_start = later.astimezone(event.tz).strftime("%H:%M")
        assert "Starts:" in text and f"{new_start} CE" in text, text  # CET or CEST
    assert mails_to(inbox, bystander.email, "Changed") == []


def test_a_new_room_alerts_and_a_new_title_alone_does_not(
    organizer: User, conference: tuple[Event, Session]
) -> None:
    event, session = conference

    move(organizer, event, session, title="Keynote (updated)")
    assert not Message.objects.filter(topic=Topic.SESSION_CHANGED).exists()

    session.refresh_from_db()
    move(organizer, event, session, room_name="Hall B")
    [message] = Message.objects.filter(topic=Topic.SESSION_CHANGED)
    assert message.data["changes"] == {"room": ["Hall A", "Hall B"]}


def test_the_alert_is_written_in_the_transaction_of_the_change_or_not_at_all(
    organizer: User, conference: tuple[Event, Session]
) -> None:
    event, session = conference

    def fail_after_the_outbox_row(**kwargs: Any) -> None:
        assert Message.objects.filter(
            topic=Topic.SESSION_CHANGED
        ).exists()  # written, not committed
        raise RuntimeError("the change fails after its announcement")

    session_changed.connect(fail_after_the_outbox_row, weak=False)
    try:
        with pytest.raises(RuntimeError):
            move(organizer, event, session, room_name="Hall C")
    finally:
        session_changed.disconnect(fail_after_the_outbox_row)

    session.refresh_from_db()
    assert session.room is not None and session.room.name == "Hall A"
    assert not Message.objects.filter(topic=Topic.SESSION_CHANGED).exists()
    assert transaction.get_autocommit()


def test_the_pipeline_publishes_to_tasks_that_exist() -> None:
    """services names its tasks instead of importing them: the names must stay true."""
    from config.celery import app
    from notifications import services

    for name in (services.FAN_OUT, services.SEND_DELIVERIES, services.SEND_WEBHOOK):
        assert name in app.tasks, name

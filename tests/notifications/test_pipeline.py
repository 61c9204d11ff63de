"""The outbox and its deliveries, run in-process (Celery eager, locmem mail)."""

import threading
import time
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from events.models import Event, TicketTier
from events.services import VenueSpec, event_cancel, event_update
from notifications.content import ORDER_HEADER
from notifications.errors import InvalidReminders
from notifications.models import Delivery, Message, Notification, Preference, ReminderSchedule
from notifications.receivers import on_order_confirmed
from notifications.services import (
    deliveries_send,
    delivery_send,
    message_fan_out,
    notifications_redispatch,
    reminder_schedule_set,
    reminders_record,
)
from notifications.tasks import relay
from tests.factories import order_paid
from tests.notifications.helpers import (
    holders_with_tickets,
    make_event,
    make_tier,
    make_user,
)
from ticketing.models import Order
from ticketing.signals import order_confirmed, order_refunded

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


# --- The outbox row ------------------------------------------------------------------------------


def test_paid_order_writes_its_outbox_row_in_the_booking_transaction(
    attendee: User, tier: TicketTier
) -> None:
    order = order_paid(buyer=attendee, tier=tier).order
    message = Message.objects.get()
    assert message.topic == "order.confirmed"
    assert message.dedupe_key == f"order.confirmed:{order.pk}"
    assert message.status == Message.Status.PENDING


def test_rolled_back_change_leaves_no_message(db: None, attendee: User, tier: TicketTier) -> None:
    order = order_paid(buyer=attendee, tier=tier).order
    Message.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        order_confirmed.send(sender=Order, order_id=order.pk)
        raise RuntimeError("the booking failed after the signal")
    assert not Message.objects.exists()


def test_order_confirmed_listener_is_a_single_insert(
    attendee: User, tier: TicketTier, django_assert_num_queries: Any
) -> None:
    order = order_paid(buyer=attendee, tier=tier).order
    Message.objects.all().delete()
    # Other apps listen too (audit, invoicing); this listener's own cost is what is pinned here.
    with transaction.atomic(), django_assert_num_queries(1):
        on_order_confirmed(sender=Order, order_id=order.pk)
    # The same order announced twice is still one message.
    with transaction.atomic():
        order_confirmed.send(sender=Order, order_id=order.pk)
    assert Message.objects.count() == 1


# --- Fan-out and preferences ---------------------------------------------------------------------


def channels_of(message: Message) -> set[tuple[str, str]]:
    return set(Delivery.objects.filter(message=message).values_list("channel", "recipient"))


def test_tickets_go_by_email_and_in_app_even_with_every_choice_switched_off(
    attendee: User, tier: TicketTier
) -> None:
    Preference.objects.create(
        user=attendee,
        phone="+4915123456789",
        **{f"{k}_{c}": False for k in ("reminder", "update") for c in ("email", "sms", "inapp")},
    )
    order_paid(buyer=attendee, tier=tier)
    message = Message.objects.get()
    message_fan_out(message_id=message.pk)
    assert channels_of(message) == {("email", attendee.email), ("inapp", str(attendee.pk))}


def test_reminder_channels_follow_preferences(organizer: User) -> None:
    event = make_event(
        organization=organizer.organizations.get(), starts_at=timezone.now() + timedelta(hours=1)
    )
    tier = make_tier(event=event)
    sms_only, default, nothing = holders_with_tickets(event, tier, 3)
    Preference.objects.create(
        user=sms_only,
        phone="+4915123456789",
        reminder_email=False,
        reminder_sms=True,
        reminder_inapp=False,
    )
    Preference.objects.create(
        user=nothing, reminder_email=False, reminder_sms=False, reminder_inapp=False
    )
    assert reminders_record() == 1
    message = Message.objects.get(topic="event.reminder")
    message_fan_out(message_id=message.pk)
    assert channels_of(message) == {
        ("sms", "+4915123456789"),
        ("email", default.email),
        ("inapp", str(default.pk)),
    }


def test_second_fan_out_and_second_send_change_nothing(
    attendee: User, tier: TicketTier, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        order_paid(buyer=attendee, tier=tier)
    message = Message.objects.get()
    assert message.status == Message.Status.FANNED_OUT
    assert len(mail.outbox) == 1
    assert message_fan_out(message_id=message.pk) == []  # nothing pending, nothing new
    for delivery in Delivery.objects.filter(message=message):
        assert delivery_send(delivery_id=delivery.pk).status == "busy"
    assert Delivery.objects.filter(message=message).count() == 2
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(user=attendee).count() == 1


# --- Change and cancellation alerts --------------------------------------------------------------


@pytest.fixture
def berlin_event(organizer: User) -> Event:
    return make_event(
        organization=organizer.organizations.get(),
        title="Night Train",
        starts_at=datetime(2031, 1, 10, 19, 0, tzinfo=BERLIN),
        ends_at=datetime(2031, 1, 10, 22, 0, tzinfo=BERLIN),
        time_zone="Europe/Berlin",
    )


def test_moving_an_event_tells_every_holder_once_old_to_new_in_the_events_time_zone(
    organizer: User, berlin_event: Event, django_capture_on_commit_callbacks: Any
) -> None:
    tier = make_tier(event=berlin_event, price=Decimal("20.00"))
    holders = holders_with_tickets(berlin_event, tier, 3)
    with django_capture_on_commit_callbacks(execute=True):
        event_update(
            actor=organizer,
            event=berlin_event,
            starts_at=berlin_event.starts_at + timedelta(hours=1),
            ends_at=berlin_event.ends_at + timedelta(hours=1),
        )
    assert Message.objects.filter(topic="event.changed").count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(h.email for h in holders)
    text = mail.outbox[0].body
    assert "Starts: Fri 10 Jan 2031, 19:00 CET → Fri 10 Jan 2031, 20:00 CET" in text
    assert "Ends: Fri 10 Jan 2031, 22:00 CET → Fri 10 Jan 2031, 23:00 CET" in text
    assert mail.outbox[0].extra_headers["List-Unsubscribe"].startswith("<http")
    notification = Notification.objects.get(user=holders[0])
    assert "19:00 CET → Fri 10 Jan 2031, 20:00 CET" in notification.body


def test_moving_the_venue_is_announced_and_a_new_title_is_not(
    organizer: User, berlin_event: Event, django_capture_on_commit_callbacks: Any
) -> None:
    holders_with_tickets(berlin_event, make_tier(event=berlin_event), 1)
    with django_capture_on_commit_callbacks(execute=True):
        event_update(actor=organizer, event=berlin_event, title="Night Train (sold out)")
    assert not Message.objects.filter(topic="event.changed").exists()
    with django_capture_on_commit_callbacks(execute=True):
        event_update(
            actor=organizer, event=berlin_event, venue=VenueSpec(name="Arena", city="Hamburg")
        )
    assert len(mail.outbox) == 1
    assert "Venue: Main Hall, Berlin → Arena, Hamburg" in mail.outbox[0].body


def test_cancellation_tells_each_holder_what_happens_to_their_money(
    organizer: User, berlin_event: Event, django_capture_on_commit_callbacks: Any
) -> None:
    tier = make_tier(event=berlin_event, price=Decimal("35.50"))
    buyer, free_rider = make_user(), make_user()
    order_paid(buyer=buyer, tier=tier, quantity=2)
    free = make_tier(event=berlin_event, name="Guest list", price=Decimal("0"))
    order_paid(buyer=free_rider, tier=free)
    with django_capture_on_commit_callbacks(execute=True):
        event_cancel(actor=organizer, event=berlin_event)
    cancelled = {m.to[0]: m for m in mail.outbox if m.subject.startswith("Cancelled")}
    assert set(cancelled) == {buyer.email, free_rider.email}
    assert "You paid 71.00 EUR: all of it goes back" in cancelled[buyer.email].body
    assert "no money to return" in cancelled[free_rider.email].body
    assert "List-Unsubscribe" not in cancelled[buyer.email].extra_headers  # transactional
    ics = next(a for a in cancelled[buyer.email].attachments if a[0] == "event.ics")
    assert "METHOD:CANCEL" in ics[1] and "STATUS:CANCELLED" in ics[1]


# --- Reminders -----------------------------------------------------------------------------------


def test_reminders_come_once_each_at_24h_and_2h_in_the_events_time_zone(
    organizer: User, django_capture_on_commit_callbacks: Any
) -> None:
    starts = datetime(2031, 3, 1, 20, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    event = make_event(
        organization=organizer.organizations.get(), starts_at=starts, time_zone="Asia/Tokyo"
    )
    holders_with_tickets(event, make_tier(event=event), 2)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_record(now=starts - timedelta(hours=25)) == 0
        assert reminders_record(now=starts - timedelta(hours=23, minutes=59)) == 1
        assert reminders_record(now=starts - timedelta(hours=23, minutes=58)) == 0
        assert reminders_record(now=starts - timedelta(hours=3)) == 0
        assert reminders_record(now=starts - timedelta(hours=1, minutes=59)) == 1
        assert reminders_record(now=starts - timedelta(hours=1)) == 0
    assert Message.objects.filter(topic="event.reminder").count() == 2
    emails = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert len(emails) == 4
    assert "When: Sat 1 Mar 2031, 20:00 JST (Asia/Tokyo)" in emails[0].body


def test_an_event_published_late_gets_only_the_nearest_reminder(organizer: User) -> None:
    event = make_event(
        organization=organizer.organizations.get(),
        starts_at=timezone.now() + timedelta(minutes=90),
    )
    assert reminders_record() == 1
    assert Message.objects.get().data == {"offset_minutes": 120}
    assert reminders_record() == 0
    assert event.pk


def test_reminder_times_are_configurable_per_event(organizer: User) -> None:
    event = make_event(
        organization=organizer.organizations.get(), starts_at=timezone.now() + timedelta(hours=5)
    )
    ReminderSchedule.objects.create(event=event, offsets_minutes=[360])
    assert reminders_record() == 1
    assert Message.objects.get().data == {"offset_minutes": 360}
    ReminderSchedule.objects.filter(event=event).update(offsets_minutes=[])
    Message.objects.all().delete()
    assert reminders_record() == 0


def test_reminder_page_sets_the_hours_and_rejects_nonsense(
    client: Client, organizer: User, event: Event
) -> None:
    client.force_login(organizer)
    url = f"/manage/events/{event.pk}/reminders"
    assert client.get(url).status_code == 200
    response = client.post(url, {"hours": "48, 0.5"})
    assert response.status_code == 302
    assert ReminderSchedule.objects.get(event=event).offsets_minutes == [2880, 30]
    response = client.post(url, {"hours": "soon"})
    assert response.status_code == 422
    assert "not a number of hours" in response.content.decode()
    other = make_user()
    client.force_login(other)
    assert client.get(url).status_code == 404


# --- Re-dispatch ---------------------------------------------------------------------------------


def test_redispatch_sends_what_the_broker_never_got_and_what_a_dead_worker_held(
    attendee: User, tier: TicketTier, settings: Any
) -> None:
    settings.NOTIFICATIONS_REDISPATCH_GRACE_SECONDS = 0
    order_paid(buyer=attendee, tier=tier)  # no commit here: the dispatch never happened
    counts = notifications_redispatch()
    assert counts["messages"] == 1
    assert len(mail.outbox) == 1

    # A worker died holding a delivery: after the lease it is handed back and sent once.
    email = Delivery.objects.get(channel="email")
    Delivery.objects.filter(pk=email.pk).update(
        status=Delivery.Status.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    assert notifications_redispatch()["reclaimed"] == 1
    assert len(mail.outbox) == 2
    assert notifications_redispatch() == {"messages": 0, "pending": 0, "reclaimed": 0, "retries": 0}


def test_redispatch_leaves_a_delivery_inside_its_lease_alone(
    attendee: User, tier: TicketTier, settings: Any
) -> None:
    settings.NOTIFICATIONS_REDISPATCH_GRACE_SECONDS = 0
    order_paid(buyer=attendee, tier=tier)
    message = Message.objects.get()
    message_fan_out(message_id=message.pk)
    Delivery.objects.update(status=Delivery.Status.SENDING, claimed_at=timezone.now())
    assert notifications_redispatch()["reclaimed"] == 0
    assert mail.outbox == []


# --- The claim under concurrency (with its negative control) -------------------------------------


class SlowCountingSms:
    """An SMS gateway that takes a while and counts what it was asked to send."""

    sent: ClassVar[list[str]] = []
    lock = threading.Lock()

    def send(self, *, to: str, text: str, reference: str) -> str:
        time.sleep(0.3)
        with self.lock:
            self.sent.append(reference)
        return reference


def race_one_delivery(threads: int, *, batch: bool = False) -> list[str]:
    user = make_user()
    message = Message.objects.create(
        topic="event.reminder", audience="user", dedupe_key=f"race:{user.pk}", user=user
    )
    event = make_event()
    Message.objects.filter(pk=message.pk).update(event=event, data={"offset_minutes": 120})
    delivery = Delivery.objects.create(
        message=message, channel="sms", recipient="+4915123456789", user=user
    )
    SlowCountingSms.sent.clear()
    barrier = threading.Barrier(threads)

    def worker() -> None:
        try:
            barrier.wait()
            if batch:
                deliveries_send(delivery_ids=[delivery.pk])
            else:
                delivery_send(delivery_id=delivery.pk)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return list(SlowCountingSms.sent)


SMS_PATH = "tests.notifications.test_pipeline.SlowCountingSms"


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.django_db(transaction=True)
def test_eight_workers_racing_for_one_delivery_send_it_once(settings: Any, batch: bool) -> None:
    settings.SMS_BACKEND = SMS_PATH
    assert len(race_one_delivery(8, batch=batch)) == 1


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.django_db(transaction=True)
def test_without_the_claim_racing_workers_send_twice(settings: Any, batch: bool) -> None:
    """Negative control: the naive "was it sent already?" check lets duplicates through."""
    settings.SMS_BACKEND = SMS_PATH
    settings.BOXOFFICE_TEST_SWITCHES = {"notifications_unclaimed": True}
    assert len(race_one_delivery(8, batch=batch)) > 1


def test_reminder_times_outside_5_minutes_to_14_days_are_refused(event: Event) -> None:
    with pytest.raises(InvalidReminders):
        reminder_schedule_set(event=event, offsets_minutes=[3])
    with pytest.raises(InvalidReminders):
        reminder_schedule_set(event=event, offsets_minutes=[15 * 24 * 60])
    reminder_schedule_set(event=event, offsets_minutes=[60, 60, 1440])
    assert ReminderSchedule.objects.get(event=event).offsets_minutes == [1440, 60]


# --- Refunds (ticketing sends `order_refunded` inside its refund transaction) ---------------------


def test_refund_tells_the_buyer_how_much_comes_back(
    attendee: User, tier: TicketTier, django_capture_on_commit_callbacks: Any
) -> None:
    order = order_paid(buyer=attendee, tier=tier, quantity=2).order
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for _ in range(2):  # announced twice, one refund: one message
            order_refunded.send(
                sender=Order,
                order_id=order.pk,
                amount=Decimal("50.00"),
                currency="EUR",
                refund_id="re_1",
            )
    refunds = [m for m in mail.outbox if m.subject.startswith("Refund")]
    assert len(refunds) == 1
    assert refunds[0].to == [attendee.email]
    assert "We refunded 50.00 EUR" in refunds[0].body
    assert "List-Unsubscribe" not in refunds[0].extra_headers


def test_a_relay_run_confirms_its_batch_in_a_fixed_number_of_statements_plus_one_per_email(
    attendee: User, tier: TicketTier
) -> None:
    # Their after-commit dispatch never runs in this test's transaction: one relay finds all.
    orders = [order_paid(buyer=make_user(), tier=tier).order for _ in range(12)]
    assert mail.outbox == []
    with CaptureQueriesContext(connection) as queries:
        relay()
    assert sorted(m.extra_headers[ORDER_HEADER] for m in mail.outbox) == sorted(
        str(o.pk) for o in orders
    )
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2 * len(orders)
    assert Message.objects.filter(status=Message.Status.FANNED_OUT).count() == len(orders)
    # The order's buyer and event are on its message after the batch update, as after a save().
    message = Message.objects.get(dedupe_key=f"order.confirmed:{orders[0].pk}")
    assert (message.user_id, message.event_id) == (orders[0].buyer_id, orders[0].event_id)
    # One UPDATE per email, so a crash cannot send it twice; everything else once per run.
    # (It is prepared, so the log shows it as written, its values apart.)
    marked = [q for q in queries.captured_queries if "SET status = %s, sent_at" in q["sql"]]
    assert len(marked) == len(orders)
    assert len(queries.captured_queries) - len(marked) <= 20

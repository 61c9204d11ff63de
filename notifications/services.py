"""The delivery pipeline: outbox rows in, exactly one effect per (message, channel, recipient) out.

1. `*_record` functions run inside the transaction of the change (receivers call them) and write
   one Message row; after commit the message is handed to Celery, and if the broker is down the
   row simply waits for the re-dispatcher.
2. `message_fan_out` turns a message into Delivery rows, one per (channel, recipient); the unique
   key makes a second fan-out a no-op.
3. `delivery_send` claims a delivery with a conditional UPDATE (pending/retry -> sending) before
   it sends, so a task delivered twice, or two workers racing, send once.
4. `notifications_redispatch` (beat, and `manage.py notifications_redispatch`) hands back to
   Celery whatever was never enqueued, lost with a dead worker, or due for a retry.
"""

import functools
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from celery import current_app, signature
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.db import prepared_cursor
from core.sealed import ERASED_ADDRESS, TRANSFER_LINK, seal, unseal
from core.testswitches import switch_on
from events.models import Event, SessionStar
from notifications.channels import DeliveryFailed
from notifications.channels.email import Mailer, email_build
from notifications.channels.sms import sms_backend
from notifications.channels.webhook import webhook_post
from notifications.content import (
    MessageObsolete,
    Rendered,
    confirmed_orders,
    render,
)
from notifications.errors import InvalidReminders
from notifications.models import (
    SEALED_RECIPIENT,
    Audience,
    Channel,
    Delivery,
    DeliveryAttempt,
    Kind,
    MarketingConsent,
    Message,
    Notification,
    Preference,
    ReminderSchedule,
    Topic,
    WebhookEndpoint,
)
from notifications.preferences import unsubscribe_token
from ticketing.models import Order, Ticket
from waitlist.models import WaitlistEntry

logger = logging.getLogger(__name__)

# --- 1. Outbox rows, written in the caller's transaction ---------------------------------------


def message_record(
    *,
    topic: str,
    audience: str,
    dedupe_key: str,
    data: dict[str, Any] | None = None,
    user_id: Any = None,
    event_id: Any = None,
    organization_id: Any = None,
    endpoint_id: Any = None,
) -> uuid.UUID:
    """Write one outbox row in the current transaction (one INSERT); Celery gets it after commit.

    Recording the same `dedupe_key` again changes nothing. Returns the id it tried to insert.
    """
    message_id = uuid.uuid4()
    with prepared_cursor() as cursor:
        cursor.execute(
            _MESSAGE_INSERT,
            [
                message_id,
                topic,
                audience,
                dedupe_key,
                user_id,
                event_id,
                organization_id,
                endpoint_id,
                json.dumps(data or {}),
                Message.Status.PENDING.value,
                timezone.now(),
            ],
        )
    transaction.on_commit(lambda: message_dispatch(message_id=message_id))
    return message_id


# The row as `Message.objects.bulk_create([message], ignore_conflicts=True)` writes it. Plain SQL
# because every payment writes one and the ORM's insert costs ~0.5 ms of CPU to compile; a new
# NOT NULL column without a default fails here loudly, in every test that sends a message.
_MESSAGE_INSERT = """
INSERT INTO notifications_message (id, topic, audience, dedupe_key, user_id, event_id,
                                   organization_id, endpoint_id, data, status, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)
ON CONFLICT DO NOTHING
"""


def order_confirmed_record(*, order_id: Any) -> None:
    """The buyer's tickets, and the organization's `order.confirmed` webhooks (one INSERT)."""
    message_record(
        topic=Topic.ORDER_CONFIRMED,
        audience=Audience.ORDER,
        dedupe_key=f"order.confirmed:{order_id}",
        data={"order_id": str(order_id)},
    )


def order_refunded_record(*, order_id: Any, amount: Any, currency: str, refund_id: Any) -> None:
    """Tell the buyer (and webhooks) that money went back for an order."""
    message_record(
        topic=Topic.ORDER_REFUNDED,
        audience=Audience.ORDER,
        dedupe_key=f"order.refunded:{refund_id}",
        data={"order_id": str(order_id), "amount": str(amount), "currency": currency},
    )


def organizer_message_record(
    *,
    event_id: Any,
    organization_id: Any,
    user_ids: list[Any],
    subject: str,
    body: str,
    batch_key: str,
) -> None:
    """One organizer's message to each chosen ticket holder (no webhooks: nothing changed)."""
    for user_id in user_ids:
        message_record(
            topic=Topic.ORGANIZER_MESSAGE,
            audience=Audience.USER,
            dedupe_key=f"organizer.message:{batch_key}:{user_id}",
            data={"subject": subject, "body": body},
            user_id=user_id,
            event_id=event_id,
            organization_id=organization_id,
        )


def tickets_resent_record(
    *,
    event_id: Any,
    organization_id: Any,
    resends: list[tuple[Any, Any, list[Any]]],
    batch_key: str,
) -> None:
    """Each holder gets their tickets of each order again, to them only: a topic of its own so
    the organization's `order.confirmed` webhooks do not fire for a second time."""
    for holder_id, order_id, ticket_ids in resends:
        message_record(
            topic=Topic.TICKETS_RESENT,
            audience=Audience.USER,
            dedupe_key=f"tickets.resent:{batch_key}:{holder_id}:{order_id}",
            data={"order_id": str(order_id), "ticket_ids": [str(t) for t in ticket_ids]},
            user_id=holder_id,
            event_id=event_id,
            organization_id=organization_id,
        )


# What a ticket holder needs to hear about (a new title or description is not worth a message).
HOLDER_FIELDS = ("starts_at", "ends_at", "venue", "session")


def event_changed_record(
    *, event_id: Any, organization_id: Any, changes: dict[str, list[str]]
) -> None:
    """Every ticket holder hears once what changed (old -> new); webhooks get `event.changed`."""
    message_record(
        topic=Topic.EVENT_CHANGED,
        audience=Audience.EVENT_HOLDERS,
        dedupe_key=f"event.changed:{event_id}:{uuid.uuid4()}",
        data={"changes": changes},
        event_id=event_id,
        organization_id=organization_id,
    )


def event_cancelled_record(*, event_id: Any, organization_id: Any) -> None:
    """Every ticket holder hears once that the event is off and what happens to their money."""
    message_record(
        topic=Topic.EVENT_CANCELLED,
        audience=Audience.EVENT_HOLDERS,
        dedupe_key=f"event.cancelled:{event_id}",
        event_id=event_id,
        organization_id=organization_id,
    )


def session_changed_record(
    *,
    session_id: Any,
    event_id: Any,
    organization_id: Any,
    title: str,
    changes: dict[str, list[str]],
) -> None:
    """The event's ticket holders and whoever starred the session hear what changed, once."""
    message_record(
        topic=Topic.SESSION_CHANGED,
        audience=Audience.SESSION,
        dedupe_key=f"session.changed:{session_id}:{uuid.uuid4()}",
        data={"session_id": str(session_id), "title": title, "changes": changes},
        event_id=event_id,
        organization_id=organization_id,
    )


def waitlist_offer_record(*, offer_id: Any, user_id: Any, event_id: Any) -> None:
    """The person at the head of the line hears that a ticket is held for them."""
    message_record(
        topic=Topic.WAITLIST_OFFER,
        audience=Audience.USER,
        dedupe_key=f"waitlist.offer:{offer_id}",
        data={"offer_id": str(offer_id)},
        user_id=user_id,
        event_id=event_id,
    )


def waitlist_event_cancelled_record(*, event_id: Any) -> None:
    """Everyone still waiting who holds no ticket hears that the event is off."""
    message_record(
        topic=Topic.WAITLIST_EVENT_CANCELLED,
        audience=Audience.EVENT_WAITLIST,
        dedupe_key=f"waitlist.event_cancelled:{event_id}",
        event_id=event_id,
    )


def transfer_offered_record(*, transfer_id: Any, token: str, to_email: str, event_id: Any) -> None:
    """The address a ticket was sent to gets the link to accept it (it may have no account).

    The link's token waits sealed (core.sealed): the outbox must not hand a database reader
    what the transfer itself stores only as a hash.
    """
    message_record(
        topic=Topic.TRANSFER_OFFERED,
        audience=Audience.ADDRESS,
        dedupe_key=f"transfer.offered:{transfer_id}",
        data={
            "transfer_id": str(transfer_id),
            "email": to_email,
            "sealed_token": seal(token, purpose=TRANSFER_LINK),
        },
        event_id=event_id,
    )


def data_export_ready_record(*, export_id: Any, user_id: Any, link: str) -> None:
    """The person hears their data export is ready, with its signed, expiring link."""
    message_record(
        topic=Topic.DATA_EXPORT_READY,
        audience=Audience.USER,
        dedupe_key=f"privacy.export_ready:{export_id}",
        data={"export_id": str(export_id), "link": link},
        user_id=user_id,
    )


def signin_paused_record(*, user_id: Any) -> None:
    """The owner of a paused account gets the link that unlocks it. The message carries no
    token: the link is signed when the mail is written, so the outbox holds nothing that
    unlocks an account. One per minute at most, whatever announces it."""
    message_record(
        topic=Topic.SIGNIN_PAUSED,
        audience=Audience.USER,
        dedupe_key=f"account.signin_paused:{user_id}:{timezone.now():%Y%m%d%H%M}",
        data={},
        user_id=user_id,
    )


def account_erased_record(*, erasure_id: str, email: str, outcomes: list[dict[str, Any]]) -> None:
    """An erased account's last message: what happened to each of its tickets.

    The account no longer knows its address, so the message carries it sealed (and so does
    its delivery): the database keeps no readable copy once the mail is out.
    """
    message_record(
        topic=Topic.ACCOUNT_ERASED,
        audience=Audience.ADDRESS,
        dedupe_key=f"privacy.account_erased:{erasure_id}",
        data={"sealed_email": seal(email, purpose=ERASED_ADDRESS), "outcomes": outcomes},
    )


def marketing_consent_open(user: User) -> bool:
    """Whether `user` has a recorded marketing consent that was not withdrawn."""
    return MarketingConsent.objects.filter(user=user, withdrawn_at=None).exists()


def marketing_message_record(
    *, campaign_key: str, user_id: Any, subject: str, body: str, url: str = "/"
) -> uuid.UUID | None:
    """One marketing message to one person; None (nothing recorded) without their consent.

    The fan-out checks consent again when it sends, so a consent withdrawn in between wins.
    """
    if not MarketingConsent.objects.filter(user_id=user_id, withdrawn_at=None).exists():
        return None
    return message_record(
        topic=Topic.MARKETING_NEWS,
        audience=Audience.USER,
        dedupe_key=f"marketing:{campaign_key}:{user_id}",
        data={"subject": subject, "body": body, "url": url},
        user_id=user_id,
    )


def transfer_accepted_record(*, transfer_id: Any, sender_id: Any, event_id: Any) -> None:
    """The sender hears that their ticket was accepted and their copy no longer works."""
    message_record(
        topic=Topic.TRANSFER_ACCEPTED,
        audience=Audience.USER,
        dedupe_key=f"transfer.accepted:{transfer_id}",
        data={"transfer_id": str(transfer_id)},
        user_id=sender_id,
        event_id=event_id,
    )


CHECKIN_SUBSCRIBERS_TTL_S = 30


def ticket_admitted_record(
    *, ticket_id: Any, event_id: Any, scan_id: Any, scanned_at: datetime
) -> None:
    """`ticket.checked_in` for an admission, if the event's organization has a webhook for it.

    Whether it has is cached for a short while: the door admits hundreds a minute.
    """
    key = f"checkin-webhooks:{event_id}"
    organization_id = cache.get(key)
    if organization_id is None:
        found = (
            Event.objects.filter(
                pk=event_id,
                organization__webhook_endpoints__is_active=True,
                organization__webhook_endpoints__topics__contains=[Topic.TICKET_CHECKED_IN],
            )
            .values_list("organization_id", flat=True)
            .first()
        )
        organization_id = str(found) if found else ""
        cache.set(key, organization_id, CHECKIN_SUBSCRIBERS_TTL_S)
    if organization_id:
        ticket_checked_in_record(
            ticket_id=ticket_id,
            event_id=event_id,
            organization_id=organization_id,
            scanned_at=scanned_at.isoformat(),
        )


def ticket_checked_in_record(
    *, ticket_id: Any, event_id: Any, organization_id: Any, scanned_at: str
) -> None:
    """`ticket.checked_in` for the organization's webhooks (nobody is emailed)."""
    message_record(
        topic=Topic.TICKET_CHECKED_IN,
        audience=Audience.ORGANIZATION,
        dedupe_key=f"ticket.checked_in:{ticket_id}:{scanned_at}",
        data={"ticket_id": str(ticket_id), "scanned_at": scanned_at},
        event_id=event_id,
        organization_id=organization_id,
    )


class _Breaker:
    """After a failed publish, skip publishing for a while: the first booking during a broker
    outage pays for the connection attempts (redis-py retries a refused connection for seconds),
    the ones after it do not. What is skipped waits in the outbox for the re-dispatcher."""

    open_until = 0.0

    def closed(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + settings.NOTIFICATIONS_BROKER_BACKOFF_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0


broker_breaker = _Breaker()

# The Celery tasks that run this pipeline (notifications/tasks.py), named rather than imported:
# the tasks call into this module, so this module only refers to them by their registered name.
FAN_OUT = "notifications.tasks.fan_out"
RELAY = "notifications.tasks.relay"
SEND_DELIVERIES = "notifications.tasks.send_deliveries"
SEND_WEBHOOK = "notifications.tasks.send_webhook"


def _publish(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish one task, without publish retries (eager in tests, routed by CELERY_TASK_ROUTES)."""
    options: dict[str, Any] = {"retry": False}
    if countdown is not None:
        options["countdown"] = countdown
    signature(task_name, args=args).apply_async(**options)


class _RelaySchedule:
    """When the relay run this process last asked for will start.

    A relay run takes every pending outbox row there is when it starts. A row committed before
    that moment needs no task of its own, so in a rush each process publishes one relay task
    per NOTIFICATIONS_RELAY_DELAY_SECONDS instead of one fan-out task per booking, and the
    worker fans out and renders hundreds of messages per task.
    """

    MARGIN_S = 0.05  # the ETA is wall-clock time in the worker: a little slack for the clocks

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.starts_at = 0.0

    def needs_task(self, delay: float) -> bool:
        now = time.monotonic()
        with self.lock:
            if now < self.starts_at - self.MARGIN_S:
                return False
            self.starts_at = now + delay
            return True

    def forget(self) -> None:
        with self.lock:
            self.starts_at = 0.0


relay_schedule = _RelaySchedule()


def message_dispatch(*, message_id: Any) -> bool:
    """After commit: make sure a relay run starts after this message's row exists.

    A broker that is down is logged, and the re-dispatcher catches up.
    """
    if not broker_breaker.closed():
        return False
    delay = settings.NOTIFICATIONS_RELAY_DELAY_SECONDS
    # An eager relay (tests, or a deployment without a worker) runs now, ignoring the countdown:
    # there is no later run for this row to ride on, so each message asks for its own.
    eager = bool(current_app.conf.task_always_eager)
    if not eager and not relay_schedule.needs_task(delay):
        return True
    try:
        # No publish retries: a booking must not wait on a dead broker; the beat job catches up.
        _publish(RELAY, countdown=delay)
    except Exception:
        relay_schedule.forget()
        broker_breaker.trip()
        logger.warning("Broker unavailable; message %s waits for re-dispatch", message_id)
        return False
    return True


# --- 2. Fan-out: recipients and channels -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    channel: str
    recipient: str
    user_id: Any = None
    endpoint_id: Any = None


def _preference(user: User) -> Preference:
    try:
        return user.notification_preference
    except Preference.DoesNotExist:
        return Preference(user=user)


def _person_targets(user: User, kind: str) -> list[Target]:
    # Marketing needs a recorded, unwithdrawn consent; channel choices alone are not consent.
    if kind == Kind.MARKETING and not marketing_consent_open(user):
        return []
    preference = _preference(user)
    recipients: dict[str, str] = {
        Channel.EMAIL: user.email,
        Channel.SMS: preference.phone,
        Channel.INAPP: str(user.pk),
    }
    return [
        Target(channel, recipients[channel], user_id=user.pk)
        for channel in sorted(preference.channels_for(kind))
        if recipients[channel]
    ]


def _webhook_targets(
    organization_id: Any, topic: str, known: dict[tuple[Any, str], list[Target]] | None = None
) -> list[Target]:
    """The organization's active endpoints for `topic` (`known`: the answers of this batch)."""
    if organization_id is None:
        return []
    if known is not None and (organization_id, topic) in known:
        return known[(organization_id, topic)]
    endpoints = WebhookEndpoint.objects.filter(
        organization_id=organization_id, is_active=True, topics__contains=[topic]
    )
    targets = [Target(Channel.WEBHOOK, str(e.pk), endpoint_id=e.pk) for e in endpoints]
    if known is not None:
        known[(organization_id, topic)] = targets
    return targets


def _holder_ids(event_id: Any, *, any_status: bool) -> QuerySet[Ticket, Any]:
    tickets = Ticket.objects.filter(event_id=event_id, order__status=Order.Status.PAID)
    if not any_status:
        tickets = tickets.filter(status=Ticket.Status.VALID)
    return tickets.values("holder_id")


def _people(who: Q) -> Iterable[User]:
    return (
        User.objects.filter(who)
        .select_related("notification_preference")
        .order_by("pk")
        .iterator(chunk_size=2000)
    )


def _holders(event_id: Any, *, any_status: bool) -> Iterable[User]:
    return _people(Q(pk__in=_holder_ids(event_id, any_status=any_status)))


def _session_audience(message: Message) -> Iterable[User]:
    """Ticket holders of the event, and whoever starred the session (a free agenda, say)."""
    starred = SessionStar.objects.filter(session_id=message.data["session_id"]).values("user_id")
    return _people(Q(pk__in=_holder_ids(message.event_id, any_status=False)) | Q(pk__in=starred))


def _waiting_without_ticket(event_id: Any) -> Iterable[User]:
    waiting = WaitlistEntry.objects.filter(
        event_id=event_id, status=WaitlistEntry.Status.WAITING
    ).values("user_id")
    return _people(Q(pk__in=waiting) & ~Q(pk__in=_holder_ids(event_id, any_status=True)))


def _event_json(event: Event) -> dict[str, Any]:
    return {
        "id": str(event.pk),
        "title": event.title,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "time_zone": event.time_zone,
        "status": event.status,
        "venue": {"name": event.venue.name, "city": event.venue.city},
        "url": settings.SITE_URL + event.get_absolute_url(),
    }


def _order_json(order: Order) -> dict[str, Any]:
    return {
        "id": str(order.pk),
        "code": order.code,
        "ref": order.ref,
        "status": order.status,
        "total": str(order.total),
        "currency": order.currency,
        "buyer_email": order.buyer.email,
        "tickets": [
            {"id": str(t.pk), "ref": t.ref, "tier": t.tier.name, "attendee_name": t.attendee_name}
            for t in order.tickets.all()
        ],
    }


def _webhook_payload(message: Message, order: Order | None) -> dict[str, Any]:
    """The JSON body every endpoint gets for this message; built once, the same on every retry."""
    data: dict[str, Any] = {}
    if message.event is not None:
        data["event"] = _event_json(message.event)
    if order is not None:
        data["order"] = _order_json(order)
    if message.topic == Topic.EVENT_CHANGED:
        data["changes"] = message.data["changes"]
    elif message.topic == Topic.ORDER_REFUNDED:
        data["refund"] = {"amount": message.data["amount"], "currency": message.data["currency"]}
    elif message.topic == Topic.TICKET_CHECKED_IN:
        data["ticket"] = {"id": message.data["ticket_id"], "scanned_at": message.data["scanned_at"]}
    elif message.topic == Topic.WEBHOOK_TEST:
        data["test"] = True
    return {
        "id": str(message.pk),
        "type": message.topic,
        "created_at": message.created_at.isoformat(),
        "data": data,
    }


def _orders_for_fan_out(order_ids: Iterable[Any]) -> dict[str, Order]:
    # No tickets: only a webhook payload needs them, and it loads them for its own order.
    orders = Order.objects.select_related("buyer__notification_preference", "event__venue").filter(
        pk__in=list(order_ids)
    )
    return {str(order.pk): order for order in orders}


def _targets(
    message: Message,
    orders: dict[str, Order] | None = None,
    webhooks: dict[tuple[Any, str], list[Target]] | None = None,
) -> tuple[list[Target], Order | None]:
    """Who gets `message`; `orders` and `webhooks`: what a batch has already loaded."""
    kind = message.kind
    if message.audience == Audience.ORDER:
        order_id = str(message.data["order_id"])
        if orders is None or order_id not in orders:
            orders = _orders_for_fan_out([order_id])
        order = orders[order_id]
        message.user, message.event = order.buyer, order.event
        message.organization_id = order.event.organization_id
        targets = _person_targets(order.buyer, kind)
        return targets + _webhook_targets(message.organization_id, message.topic, webhooks), order
    if message.audience == Audience.USER:
        return ([] if message.user is None else _person_targets(message.user, kind)), None
    if message.audience == Audience.EVENT_HOLDERS:
        targets = [
            target
            for user in _holders(
                message.event_id, any_status=message.topic == Topic.EVENT_CANCELLED
            )
            for target in _person_targets(user, kind)
        ]
        return targets + _webhook_targets(message.organization_id, message.topic), None
    if message.audience == Audience.SESSION:
        people = _session_audience(message)
        return [target for user in people for target in _person_targets(user, kind)], None
    if message.audience == Audience.EVENT_WAITLIST:
        people = _waiting_without_ticket(message.event_id)
        return [target for user in people for target in _person_targets(user, kind)], None
    if message.audience == Audience.ADDRESS:
        if "sealed_email" in message.data:  # an erased account's: readable only by the sender
            return [Target(Channel.EMAIL, SEALED_RECIPIENT + message.data["sealed_email"])], None
        return [Target(Channel.EMAIL, message.data["email"])], None
    if message.audience == Audience.ORGANIZATION:
        return _webhook_targets(message.organization_id, message.topic), None
    endpoint_id = message.endpoint_id
    return [Target(Channel.WEBHOOK, str(endpoint_id), endpoint_id=endpoint_id)], None


def message_fan_out(*, message_id: Any) -> list[tuple[uuid.UUID, str]]:
    """Create the message's deliveries (once) and return (id, channel) of those still pending."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("event__venue", "user__notification_preference")
            .filter(pk=message_id)
            .first()
        )
        if message is None:  # lost a dedupe race to an equal message, which goes out instead
            return []
        if message.status == Message.Status.PENDING:
            Delivery.objects.bulk_create(
                _deliveries_of(message), ignore_conflicts=True, batch_size=1000
            )
            message.save()
    return list(
        Delivery.objects.filter(message_id=message_id, status=Delivery.Status.PENDING)
        .order_by("created_at", "pk")
        .values_list("pk", "channel")
    )


def _deliveries_of(
    message: Message,
    orders: dict[str, Order] | None = None,
    webhooks: dict[tuple[Any, str], list[Target]] | None = None,
) -> list[Delivery]:
    """The deliveries of a pending message; marks it fanned out (the caller saves it)."""
    targets, order = _targets(message, orders, webhooks)
    if any(t.channel == Channel.WEBHOOK for t in targets):
        message.data = {**message.data, "payload": _webhook_payload(message, order)}
    message.status, message.fanned_out_at = Message.Status.FANNED_OUT, timezone.now()
    return [
        Delivery(
            message=message,
            channel=t.channel,
            recipient=t.recipient,
            user_id=t.user_id,
            endpoint_id=t.endpoint_id,
        )
        for t in targets
    ]


def _messages_mark_fanned_out(messages: list[Message]) -> None:
    """What message_fan_out's save() writes (status, payload, whom it concerns), for a whole
    batch in one statement. bulk_update builds a CASE per row and field and resolves each in
    Python: for a relay run of a hundred messages that cost more CPU than sending their mail."""
    meta = Message._meta

    def column(name: str) -> str:
        return connection.ops.quote_name(str(meta.get_field(name).column))  # type: ignore[union-attr]

    def key_type(name: str) -> str:
        target = meta.get_field(name).target_field  # type: ignore[union-attr]
        return str(target.db_type(connection))

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    sql = (
        f"UPDATE {connection.ops.quote_name(meta.db_table)} AS m SET "  # noqa: S608 - our names
        f"{column('status')} = %s, {column('fanned_out_at')} = %s, "
        f"{column('user')} = v.u::{key_type('user')}, "
        f"{column('event')} = v.e::{key_type('event')}, "
        f"{column('organization')} = v.o::{key_type('organization')}, "
        f"{column('data')} = v.d::jsonb "
        "FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[]) "
        f"AS v(id, u, e, o, d) WHERE m.{column('id')} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                Message.Status.FANNED_OUT,
                messages[0].fanned_out_at,
                [m.pk for m in messages],
                [text(m.user_id) for m in messages],
                [text(m.event_id) for m in messages],
                [text(m.organization_id) for m in messages],
                [json.dumps(m.data) for m in messages],
            ],
        )


def outbox_relay(*, limit: int = 1000) -> tuple[list[tuple[uuid.UUID, str]], bool]:
    """Fan out up to `limit` pending messages at once; (pending deliveries, more waiting).

    The batch form of `message_fan_out`, with the same targets: rows another relay or fan-out
    holds are skipped (it does them), the orders of a batch load in one query and each
    organization's endpoints once.
    """
    with transaction.atomic():
        messages = list(
            Message.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("event__venue", "user__notification_preference")
            .filter(status=Message.Status.PENDING)
            .order_by("created_at")[:limit]
        )
        if not messages:
            return [], False
        orders = _orders_for_fan_out(
            m.data["order_id"] for m in messages if m.audience == Audience.ORDER
        )
        webhooks: dict[tuple[Any, str], list[Target]] = {}
        deliveries = [d for m in messages for d in _deliveries_of(m, orders, webhooks)]
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=1000)
        _messages_mark_fanned_out(messages)
    pending = list(
        Delivery.objects.filter(
            message_id__in=[m.pk for m in messages], status=Delivery.Status.PENDING
        )
        .order_by("created_at", "pk")
        .values_list("pk", "channel")
    )
    return pending, len(messages) == limit


def deliveries_enqueue(deliveries: list[tuple[Any, str]]) -> int:
    """Publish send tasks (batches for people, one task per webhook); returns how many went out."""
    people = [pk for pk, channel in deliveries if channel != Channel.WEBHOOK]
    hooks = [pk for pk, channel in deliveries if channel == Channel.WEBHOOK]
    size = settings.NOTIFICATIONS_BATCH_SIZE
    published: list[Any] = []
    if not broker_breaker.closed():
        return 0
    try:
        for start in range(0, len(people), size):
            batch = people[start : start + size]
            _publish(SEND_DELIVERIES, [str(pk) for pk in batch])
            published += batch
        for pk in hooks:
            _publish(SEND_WEBHOOK, str(pk))
            published.append(pk)
    except Exception:
        broker_breaker.trip()
        logger.warning("Broker unavailable; %d deliveries wait for re-dispatch", len(deliveries))
    if published:
        Delivery.objects.filter(pk__in=published).update(enqueued_at=timezone.now())
    return len(published)


# --- 3. Sending one delivery -------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    status: str  # a Delivery.Status, or "busy" when another worker has it / it is finished
    retry_in: float | None = None


def retry_delay(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^(attempt-1), capped."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return float(secrets.SystemRandom().uniform(delay / 2, delay))


def _claim(delivery_id: Any, now: datetime) -> bool:
    """pending/retry -> sending, atomically: of two tasks for one delivery, one gets it."""
    if switch_on("notifications_unclaimed"):  # test-only: the naive check the claim replaces
        return not Delivery.objects.filter(
            pk=delivery_id, status__in=[Delivery.Status.SENT, Delivery.Status.FAILED]
        ).exists()
    due = Q(status=Delivery.Status.PENDING) | Q(
        status=Delivery.Status.RETRY, next_attempt_at__lte=now + timedelta(seconds=1)
    )
    claimed = Delivery.objects.filter(due, pk=delivery_id).update(
        status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    return claimed == 1


def _email_headers(
    delivery: Delivery, user: User | None, kind: str
) -> tuple[dict[str, str], str | None]:
    domain = urlsplit(settings.SITE_URL).hostname or "boxoffice.local"
    # The same id on every attempt: a mail system that already has it can drop a repeat.
    headers = {"Message-ID": f"<{delivery.pk}@{domain}>", "Auto-Submitted": "auto-generated"}
    if kind == Kind.TRANSACTIONAL or user is None:
        return headers, None
    url = settings.SITE_URL + reverse(
        "notifications:unsubscribe", kwargs={"token": unsubscribe_token(user, kind)}
    )
    headers["List-Unsubscribe"] = f"<{url}>"
    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers, url


def _send_now(
    delivery: Delivery,
    mailer: Mailer | None,
    cache: dict[Any, Rendered],
    notifications: list[Notification] | None = None,
    orders: dict[str, Order] | None = None,
) -> int:
    """One try over the delivery's channel; returns the response code. Raises DeliveryFailed.

    With `notifications`, an in-app entry is appended there for the caller to insert in bulk;
    `orders`: the confirmed orders of a batch, loaded at once.
    """
    message = delivery.message
    if delivery.channel == Channel.WEBHOOK:
        endpoint = delivery.endpoint
        if endpoint is None:
            raise DeliveryFailed("The endpoint was deleted.", retryable=False)
        body = json.dumps(message.data["payload"], separators=(",", ":")).encode()
        return webhook_post(
            url=endpoint.url,
            secret=endpoint.secret,
            body=body,
            event_id=str(message.pk),
            topic=message.topic,
        )
    user = delivery.user
    if user is None and message.audience != Audience.ADDRESS:
        raise DeliveryFailed("The recipient's account was deleted.", retryable=False)
    is_email = delivery.channel == Channel.EMAIL
    headers, unsubscribe_url = (
        _email_headers(delivery, user, message.kind) if is_email else ({}, None)
    )
    # A transactional message reads the same everywhere: the email and the in-app entry share it.
    key = (message.pk, user.pk if user else delivery.recipient, is_email and bool(unsubscribe_url))
    if key not in cache:
        order = (orders or {}).get(str(message.data.get("order_id")))
        cache[key] = render(message, user, unsubscribe_url=unsubscribe_url, order=order)
    rendered = cache[key]
    if delivery.channel == Channel.INAPP and user is not None:  # people only, never an address
        entry = Notification(
            message=message,
            user=user,
            title=rendered.subject[:200],
            body=rendered.short,
            url=rendered.url,
        )
        if notifications is not None:
            notifications.append(entry)
        else:  # the unique (message, user) makes a repeat a no-op
            Notification.objects.bulk_create([entry], ignore_conflicts=True)
        return 200
    if delivery.channel == Channel.SMS:
        sms_backend().send(to=delivery.recipient, text=rendered.short, reference=str(delivery.pk))
        return 200
    email = email_build(
        to=_address(delivery.recipient),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        attachments=rendered.attachments,
        headers={**headers, **rendered.headers},
    )
    return (mailer or Mailer()).send(email)


def _address(recipient: str) -> str:
    if recipient.startswith(SEALED_RECIPIENT):
        return unseal(recipient.removeprefix(SEALED_RECIPIENT), purpose=ERASED_ADDRESS)
    return recipient


def _webhook_outcome(endpoint_id: Any, succeeded: bool) -> None:
    if succeeded:
        WebhookEndpoint.objects.filter(pk=endpoint_id).exclude(consecutive_failures=0).update(
            consecutive_failures=0
        )
        return
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_id, is_active=True, consecutive_failures__gte=limit
    ).update(is_active=False, disabled_reason=f"Disabled after {limit} failed attempts in a row.")
    if disabled:
        logger.warning("Webhook endpoint %s disabled after %d failures", endpoint_id, limit)


def delivery_send(
    *,
    delivery_id: Any,
    mailer: Mailer | None = None,
    cache: dict[Any, Rendered] | None = None,
) -> SendResult:
    """Send one delivery if nobody has; safe to call any number of times, from any worker."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return SendResult("busy")
    delivery = Delivery.objects.select_related(
        "message__event__venue", "user__notification_preference", "endpoint"
    ).get(pk=delivery_id)
    endpoint = delivery.endpoint
    if delivery.channel == Channel.WEBHOOK and not (endpoint and endpoint.is_active):
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.SKIPPED, last_error="The endpoint is disabled."
        )
        return SendResult(Delivery.Status.SKIPPED)
    started = time.monotonic()
    try:
        code = _send_now(delivery, mailer, {} if cache is None else cache)
    except DeliveryFailed as exc:
        return _failed(delivery, exc, started)
    except MessageObsolete as exc:
        return _skipped(delivery_id, exc)
    duration = int((time.monotonic() - started) * 1000)
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.SENT,
            sent_at=timezone.now(),
            response_code=code,
            last_error="",
        )
        DeliveryAttempt.objects.create(
            delivery_id=delivery_id,
            number=delivery.attempts,
            succeeded=True,
            response_code=code,
            duration_ms=duration,
        )
        if delivery.endpoint_id:
            _webhook_outcome(delivery.endpoint_id, True)
    return SendResult(Delivery.Status.SENT)


def _skipped(delivery_id: Any, exc: MessageObsolete) -> SendResult:
    Delivery.objects.filter(pk=delivery_id).update(
        status=Delivery.Status.SKIPPED, last_error=str(exc)[:2000]
    )
    return SendResult(Delivery.Status.SKIPPED)


def _failed(delivery: Delivery, exc: DeliveryFailed, started: float) -> SendResult:
    webhook = delivery.channel == Channel.WEBHOOK
    limit = settings.WEBHOOK_MAX_ATTEMPTS if webhook else settings.NOTIFICATIONS_MAX_ATTEMPTS
    retry = exc.retryable and delivery.attempts < limit
    delay = (
        retry_delay(
            delivery.attempts,
            base=settings.NOTIFICATIONS_RETRY_BASE_SECONDS,
            cap=settings.NOTIFICATIONS_RETRY_MAX_SECONDS,
        )
        if retry
        else None
    )
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.RETRY if retry else Delivery.Status.FAILED,
            next_attempt_at=timezone.now() + timedelta(seconds=delay) if delay else None,
            response_code=exc.code,
            last_error=str(exc)[:2000],
        )
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            succeeded=False,
            response_code=exc.code,
            error=str(exc)[:2000],
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        if delivery.endpoint_id:
            _webhook_outcome(delivery.endpoint_id, False)
    logger.info("Delivery %s attempt %d failed: %s", delivery.pk, delivery.attempts, exc)
    return SendResult(Delivery.Status.RETRY if retry else Delivery.Status.FAILED, delay)


def _claim_many(delivery_ids: list[Any], now: datetime) -> set[uuid.UUID]:
    """The batch form of `_claim`: one UPDATE ... RETURNING for the whole batch."""
    ids = [uuid.UUID(str(pk)) for pk in delivery_ids]
    if switch_on("notifications_unclaimed"):
        done = [Delivery.Status.SENT, Delivery.Status.FAILED]
        return set(
            Delivery.objects.filter(pk__in=ids)
            .exclude(status__in=done)
            .values_list("pk", flat=True)
        )
    table = Delivery._meta.db_table
    with prepared_cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 "  # noqa: S608 - our table name
            "WHERE id = ANY(%s) AND (status = %s OR (status = %s AND next_attempt_at <= %s)) "
            "RETURNING id",
            [
                Delivery.Status.SENDING,
                now,
                ids,
                Delivery.Status.PENDING,
                Delivery.Status.RETRY,
                now + timedelta(seconds=1),
            ],
        )
        return {row[0] for row in cursor.fetchall()}


def _delivery_mark_sent(delivery_id: Any, code: int) -> None:
    """The moment a message is out, it is marked so (a crash later in the batch cannot send it
    again); one plain statement per email, prepared once, not an ORM update each time."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    with prepared_cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, response_code = %s "  # noqa: S608 - quoted name
            "WHERE id = %s",
            [Delivery.Status.SENT, timezone.now(), code, delivery_id],
        )


def deliveries_send(*, delivery_ids: list[Any]) -> dict[Any, SendResult]:
    """Send a batch (email, SMS, in-app) over one SMTP connection; each delivery's result.

    Claimed in one statement; each email or SMS is marked sent the moment it is, so a crash
    later in the batch cannot send it again. In-app entries and the log go in at the end, in
    bulk: an in-app entry is unique per (message, user), so a repeat of it is harmless.
    """
    now = timezone.now()
    claimed = _claim_many(delivery_ids, now)
    results: dict[Any, SendResult] = {
        pk: SendResult("busy") for pk in delivery_ids if uuid.UUID(str(pk)) not in claimed
    }
    deliveries = list(
        Delivery.objects.select_related(
            "message__event__venue", "user__notification_preference", "endpoint"
        ).filter(pk__in=claimed)
    )
    orders = confirmed_orders(
        [
            d.message.data["order_id"]
            for d in deliveries
            if d.message.topic == Topic.ORDER_CONFIRMED and d.channel != Channel.WEBHOOK
        ]
    )
    mailer, cache = Mailer(), dict[Any, Rendered]()
    notifications: list[Notification] = []
    in_app: list[Any] = []
    log: list[DeliveryAttempt] = []
    try:
        for delivery in deliveries:
            started = time.monotonic()
            try:
                code = _send_now(delivery, mailer, cache, notifications, orders)
            except DeliveryFailed as exc:
                results[delivery.pk] = _failed(delivery, exc, started)
                continue
            except MessageObsolete as exc:
                results[delivery.pk] = _skipped(delivery.pk, exc)
                continue
            if delivery.channel == Channel.INAPP:
                in_app.append(delivery.pk)
            else:
                _delivery_mark_sent(delivery.pk, code)
            log.append(
                DeliveryAttempt(
                    delivery=delivery,
                    number=delivery.attempts,
                    succeeded=True,
                    response_code=code,
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
            )
            results[delivery.pk] = SendResult(Delivery.Status.SENT)
    finally:
        mailer.close()
        with transaction.atomic():
            Notification.objects.bulk_create(notifications, ignore_conflicts=True)
            Delivery.objects.filter(pk__in=in_app).update(
                status=Delivery.Status.SENT, sent_at=timezone.now(), response_code=200
            )
            DeliveryAttempt.objects.bulk_create(log)
    return results


def delivery_retry_enqueue(*, delivery_id: Any, channel: str, delay: float) -> None:
    """Schedule the next try; if the broker refuses, the re-dispatcher finds the row when due."""
    if not broker_breaker.closed():
        return
    try:
        if channel == Channel.WEBHOOK:
            _publish(SEND_WEBHOOK, str(delivery_id), countdown=delay)
        else:
            _publish(SEND_DELIVERIES, [str(delivery_id)], countdown=delay)
    except Exception:
        broker_breaker.trip()
        logger.warning("Broker unavailable; retry of %s waits for re-dispatch", delivery_id)


# --- 4. Re-dispatch: nothing stays stuck ------------------------------------------------------


def notifications_redispatch(*, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Hand back to Celery every message or delivery that should be moving and is not."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.NOTIFICATIONS_REDISPATCH_GRACE_SECONDS)
    counts = {"messages": 0, "pending": 0, "reclaimed": 0, "retries": 0}
    # Messages whose fan-out task never ran (broker down at commit, task lost).
    stuck_messages = list(
        Message.objects.filter(status=Message.Status.PENDING, created_at__lt=now - grace)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in stuck_messages:
        deliveries_enqueue(message_fan_out(message_id=message_id))
        counts["messages"] += 1
    # A worker killed mid-send leaves `sending`; the task time limit ended any live attempt long
    # before the lease runs out, so handing it back cannot make two senders.
    lease_end = now - timedelta(seconds=settings.NOTIFICATIONS_SENDING_LEASE_SECONDS)
    lost = Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=lease_end)
    reclaimed = list(lost.values_list("pk", "channel")[:limit])
    Delivery.objects.filter(
        pk__in=[pk for pk, _ in reclaimed],
        status=Delivery.Status.SENDING,
        claimed_at__lt=lease_end,
    ).update(status=Delivery.Status.PENDING, enqueued_at=None)
    counts["reclaimed"] = len(reclaimed)
    deliveries_enqueue(reclaimed)
    waiting = list(
        Delivery.objects.filter(
            Q(status=Delivery.Status.PENDING, created_at__lt=now - grace)
            & ~Q(pk__in=[pk for pk, _ in reclaimed])
            & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - grace * 10))
            | Q(status=Delivery.Status.RETRY, next_attempt_at__lt=now - grace)
        )
        .order_by("created_at")
        .values_list("pk", "channel", "status")[:limit]
    )
    counts["pending"] = sum(1 for *_, status in waiting if status == Delivery.Status.PENDING)
    counts["retries"] = len(waiting) - counts["pending"]
    deliveries_enqueue([(pk, channel) for pk, channel, _ in waiting])
    return counts


# --- 5. Reminders -------------------------------------------------------------------------------


def _offsets(event: Event) -> list[int]:
    try:
        custom = event.reminder_schedule.offsets_minutes
    except ReminderSchedule.DoesNotExist:
        custom = None
    return sorted(custom if custom is not None else settings.NOTIFICATIONS_REMINDER_OFFSETS)


def reminders_record(*, now: datetime | None = None) -> int:
    """Record the reminders that are due (beat, every minute); each one exactly once.

    Of an event's offsets whose time has come only the nearest is sent, so an event published two
    hours before it starts gets the 2-hour reminder and not a late "tomorrow" one. The key has
    the start time in it: an event moved later gets its reminders again for the new time.
    """
    now = now or timezone.now()
    horizon = now + timedelta(minutes=settings.NOTIFICATIONS_REMINDER_MAX_MINUTES)
    events = Event.objects.filter(
        status=Event.Status.PUBLISHED, starts_at__gt=now, starts_at__lte=horizon
    ).select_related("reminder_schedule")
    due: dict[str, Message] = {}
    for event in events:
        passed = [m for m in _offsets(event) if event.starts_at - timedelta(minutes=m) <= now]
        if not passed:
            continue
        offset = min(passed)
        key = f"reminder:{event.pk}:{offset}:{event.starts_at.isoformat()}"
        due[key] = Message(
            topic=Topic.EVENT_REMINDER,
            audience=Audience.EVENT_HOLDERS,
            dedupe_key=key,
            data={"offset_minutes": offset},
            event=event,
            organization_id=event.organization_id,
        )
    if not due:
        return 0
    existing = set(Message.objects.filter(dedupe_key__in=due).values_list("dedupe_key", flat=True))
    new = [message for key, message in due.items() if key not in existing]
    Message.objects.bulk_create(new, ignore_conflicts=True)
    for message in new:
        transaction.on_commit(functools.partial(message_dispatch, message_id=message.pk))
    return len(new)


def reminder_schedule_set(*, event: Event, offsets_minutes: list[int] | None) -> None:
    """Set when an event's reminders go out (None: the defaults, [] for none)."""
    if offsets_minutes is not None and (
        len(offsets_minutes) > 5
        or any(not 5 <= m <= settings.NOTIFICATIONS_REMINDER_MAX_MINUTES for m in offsets_minutes)
    ):
        raise InvalidReminders()
    if offsets_minutes is None:
        ReminderSchedule.objects.filter(event=event).delete()
        return
    ReminderSchedule.objects.update_or_create(
        event=event, defaults={"offsets_minutes": sorted(set(offsets_minutes), reverse=True)}
    )


def email_send(
    *,
    subject: str,
    body: str,
    to: list[str],
    html: str | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> None:
    """Send one already-rendered email now (allauth's account mail; not part of the outbox)."""
    message = email_build(
        to=to[0], subject=subject, text=body, html=html, attachments=attachments or []
    )
    message.to = list(to)
    message.send()

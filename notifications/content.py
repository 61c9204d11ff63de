"""What each kind of message says, per recipient: subject, text, HTML, a short form, attachments.

Times are always shown in the event's own time zone (with its name), whatever the reader's.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User
from checkin.qr import qr_png
from events.models import Event
from notifications.ics import event_ics
from notifications.models import Kind, Message, Topic
from ticketing.models import Order


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    short: str  # SMS and the notification centre
    url: str  # a path on this site
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


def local_time(value: datetime | str, time_zone: str) -> str:
    """`Sat 6 Dec 2026, 19:00 CET` in the given zone."""
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        raise ValueError(f"Not a date and time: {value!r}")
    return dateformat.format(moment.astimezone(zoneinfo.ZoneInfo(time_zone)), "D j M Y, H:i T")


FIELD_LABELS = {"starts_at": "Starts", "ends_at": "Ends", "venue": "Venue", "session": "Session"}


def change_lines(event: Event, changes: dict[str, list[str]]) -> list[str]:
    """`Starts: Sat 6 Dec 2026, 19:00 CET → Sat 6 Dec 2026, 20:00 CET` for each change."""
    time_zone = event.time_zone
    lines = []
    rank = {name: n for n, name in enumerate(FIELD_LABELS)}
    ranked = sorted(changes.items(), key=lambda item: rank.get(item[0], len(rank)))
    for name, (old, new) in ranked:
        if name in ("starts_at", "ends_at"):
            old, new = local_time(old, time_zone), local_time(new, time_zone)
        lines.append(f"{FIELD_LABELS.get(name, name.replace('_', ' ').title())}: {old} → {new}")
    return lines


def _paid_total(user: User, event: Event) -> tuple[Decimal, str]:
    total = Order.objects.filter(buyer=user, event=event, status=Order.Status.PAID).aggregate(
        total=Sum("total")
    )["total"]
    return total or Decimal("0"), event.currency


def _where(event: Event) -> str:
    venue = event.venue
    return ", ".join(part for part in (venue.name, venue.address, venue.city) if part)


def _generic(
    message: Message,
    user: User,
    *,
    subject: str,
    heading: str,
    lines: list[str],
    url: str,
    action: str,
    short: str,
    attachments: list[tuple[str, bytes, str]],
    unsubscribe_url: str | None,
) -> Rendered:
    context = {
        "user": user,
        "heading": heading,
        "lines": lines,
        "action_url": settings.SITE_URL + url,
        "action": action,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": settings.SITE_URL + reverse("notifications:preferences"),
        "transactional": message.kind == Kind.TRANSACTIONAL,
    }
    return Rendered(
        subject=subject,
        text=render_to_string("notifications/email/generic.txt", context),
        html=render_to_string("notifications/email/generic.html", context),
        short=short,
        url=url,
        attachments=attachments,
    )


def render(message: Message, user: User, *, unsubscribe_url: str | None = None) -> Rendered:
    """The message as `user` reads it, in their language."""
    with translation.override(user.language or settings.LANGUAGE_CODE):
        return _render(message, user, unsubscribe_url=unsubscribe_url)


def _render(message: Message, user: User, *, unsubscribe_url: str | None = None) -> Rendered:
    topic = message.topic
    data: dict[str, Any] = message.data
    if topic == Topic.ORDER_CONFIRMED:
        return _order_confirmed(data["order_id"])
    event = message.event
    if event is None:
        raise ValueError(f"{topic} needs an event")
    when = f"{local_time(event.starts_at, event.time_zone)} ({event.time_zone})"
    cancelled = topic == Topic.EVENT_CANCELLED
    ics = [("event.ics", event_ics(event, cancelled=cancelled), "text/calendar")]
    if topic == Topic.EVENT_CHANGED:
        lines = change_lines(event, data["changes"])
        return _generic(
            message,
            user,
            subject=f"Changed: {event.title}",
            heading=f"{event.title} has changed",
            lines=[*lines, "Your tickets stay valid; nothing else to do."],
            url=event.get_absolute_url(),
            action="See the event",
            short=f"{event.title} changed. " + "; ".join(lines),
            unsubscribe_url=unsubscribe_url,
            attachments=ics,
        )
    if topic == Topic.EVENT_CANCELLED:
        total, currency = _paid_total(user, event)
        money = (
            f"You paid {total} {currency}: all of it goes back to the card or account you paid "
            f"with, automatically. Banks usually show it within 5 to 10 business days."
            if total
            else "Your tickets were free, so there is no money to return."
        )
        return _generic(
            message,
            user,
            subject=f"Cancelled: {event.title}",
            heading=f"{event.title} on {when} is cancelled",
            lines=[f"We are sorry: {event.title} will not take place.", money],
            url=reverse("ticketing:my_tickets"),
            action="My tickets",
            short=f"{event.title} on {when} is cancelled. {money}",
            unsubscribe_url=unsubscribe_url,
            attachments=ics,
        )
    if topic == Topic.EVENT_REMINDER:
        minutes = int(data["offset_minutes"])
        soon = f"in {minutes // 60} hours" if minutes % 60 == 0 else f"in {minutes} minutes"
        if minutes == 24 * 60:
            soon = "tomorrow"
        return _generic(
            message,
            user,
            subject=f"Reminder: {event.title} starts {soon}",
            heading=f"{event.title} starts {soon}",
            lines=[f"When: {when}", f"Where: {_where(event)}", "Your tickets are in the app."],
            url=reverse("ticketing:my_tickets"),
            action="Show my tickets",
            short=f"Reminder: {event.title} starts {soon}, {when}, at {_where(event)}.",
            unsubscribe_url=unsubscribe_url,
            attachments=ics,
        )
    if topic == Topic.ORDER_REFUNDED:
        amount = f"{data.get('amount', '')} {data.get('currency', '')}".strip()
        return _generic(
            message,
            user,
            subject=f"Refund for {event.title}",
            heading=f"Your refund of {amount}",
            lines=[
                f"We refunded {amount} for your order for {event.title}.",
                "It goes back to the card or account you paid with; banks usually show it "
                "within 5 to 10 business days.",
            ],
            url=reverse("ticketing:my_tickets"),
            action="My tickets",
            short=f"Refund of {amount} for {event.title} is on its way.",
            attachments=[],
            unsubscribe_url=None,
        )
    raise ValueError(f"No content for {topic}")


def _order_confirmed(order_id: str) -> Rendered:
    order = (
        Order.objects.select_related("buyer", "event", "event__venue")
        .prefetch_related("tickets__tier", "tickets__seat")
        .get(pk=order_id)
    )
    tickets = list(order.tickets.all())
    event = order.event
    context = {
        "order": order,
        "event": event,
        "tickets": tickets,
        "site_url": settings.SITE_URL,
        # The invoice, numbered in the paying transaction; read by relation, not by import.
        "documents": list(order.documents.all()),
    }
    attachments = [
        (f"ticket-{n}.png", qr_png(ticket.qr_payload), "image/png")
        for n, ticket in enumerate(tickets, start=1)
    ]
    attachments.append(("event.ics", event_ics(event), "text/calendar"))
    return Rendered(
        subject=_("Your tickets for %(title)s") % {"title": event.title},
        text=render_to_string("notifications/order_confirmed.txt", context),
        html=render_to_string("notifications/order_confirmed.html", context),
        short=(
            f"Your {len(tickets)} ticket(s) for {event.title}, "
            f"{local_time(event.starts_at, event.time_zone)}, are confirmed."
        ),
        url=reverse("ticketing:order", kwargs={"order_id": order.pk}),
        attachments=attachments,
    )

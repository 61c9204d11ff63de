"""What each kind of message says, per recipient: subject, text, HTML, a short form, attachments.

Times are always shown in the event's own time zone (with its name), whatever the reader's.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User
from accounts.signin_guard import unlock_minutes, unlock_url
from core.money import format_money
from core.sealed import TRANSFER_LINK, unseal
from core.timefmt import local_time
from events.models import Event
from notifications.ics import event_ics
from notifications.models import Kind, Message, Topic
from notifications.paths import path_to
from notifications.ticket_links import ticket_qr_url
from ticketing.models import Order, Transfer
from waitlist.models import Offer


class MessageObsolete(Exception):
    """What the message is about was settled before it went out (an offer taken or lapsed)."""


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    short: str  # SMS and the notification centre
    url: str  # a path on this site
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # extra email headers


# Support desks and mail filters find an order's confirmation by it (and the bench matches on it).
ORDER_HEADER = "X-Boxoffice-Order"


FIELD_LABELS = {
    "starts_at": gettext_lazy("Starts"),
    "ends_at": gettext_lazy("Ends"),
    "venue": gettext_lazy("Venue"),
    "room": gettext_lazy("Room"),
    "session": gettext_lazy("Session"),
}


def change_lines(event: Event, changes: dict[str, list[str]]) -> list[str]:
    """`Starts: Sat 6 Dec 2026, 19:00 CET → Sat 6 Dec 2026, 20:00 CET` for each change."""
    time_zone = event.time_zone
    lines = []
    rank = {name: n for n, name in enumerate(FIELD_LABELS)}
    ranked = sorted(changes.items(), key=lambda item: rank.get(item[0], len(rank)))
    for name, (old, new) in ranked:
        if name in ("starts_at", "ends_at"):
            old, new = local_time(old, time_zone), local_time(new, time_zone)
        label = FIELD_LABELS.get(name, name.replace("_", " ").title())
        lines.append(f"{label}: {old} → {new}")
    return lines


def _paid_total(user: User, event: Event) -> tuple[Decimal, str]:
    total = Order.objects.filter(buyer=user, event=event, status=Order.Status.PAID).aggregate(
        total=Sum("total")
    )["total"]
    return total or Decimal("0"), event.currency


def _title(event: Event) -> str:
    """The event's title in the language the message is being written in."""
    return event.text_in("title", translation.get_language())


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


def _own_template(
    template: str, subject: str, short: str, url: str, context: dict[str, Any]
) -> Rendered:
    """A message with its own text and HTML templates (notifications/<template>.txt|html)."""
    context = {**context, "site_url": settings.SITE_URL}
    return Rendered(
        subject=subject,
        text=render_to_string(f"notifications/{template}.txt", context),
        html=render_to_string(f"notifications/{template}.html", context),
        short=short,
        url=url,
    )


def _waitlist_offer(offer_id: str) -> Rendered:
    offer = Offer.objects.select_related("user", "event", "event__venue", "tier", "order").get(
        pk=offer_id
    )
    if offer.status != Offer.Status.OPEN:
        raise MessageObsolete("The offer was settled before the message went out.")
    url = reverse("waitlist:offer", kwargs={"token": offer.token})
    event = offer.event
    title = _title(event)
    return _own_template(
        "waitlist_offer",
        _("A ticket for %(title)s is held for you") % {"title": title},
        _("A %(tier)s ticket for %(title)s is held for you until %(until)s.")
        % {
            "tier": offer.tier.name,
            "title": title,
            "until": local_time(offer.expires_at, event, "H:i T"),
        },
        url,
        {"offer": offer, "event": event, "link": settings.SITE_URL + url},
    )


def _transfer(transfer_id: str, *, accepted: bool, sealed_token: str = "") -> Rendered:
    transfer = Transfer.objects.select_related(
        "sender", "recipient", "ticket__event", "ticket__tier"
    ).get(pk=transfer_id)
    event = transfer.ticket.event
    title = _title(event)
    if accepted:
        return _own_template(
            "transfer",
            _("Your ticket for %(title)s was accepted") % {"title": title},
            _("%(email)s accepted your ticket for %(title)s.")
            % {"email": transfer.to_email, "title": title},
            reverse("ticketing:my_tickets"),
            {"transfer": transfer, "event": event, "accepted": True},
        )
    if transfer.status != Transfer.Status.PENDING:
        raise MessageObsolete("The transfer was settled before the message went out.")
    token = unseal(sealed_token, purpose=TRANSFER_LINK)
    url = reverse("ticketing:transfer_accept", kwargs={"token": token})
    sent = {"sender": transfer.sender.display_name, "title": title}
    return _own_template(
        "transfer",
        _("%(sender)s sent you a ticket for %(title)s") % sent,
        _("%(sender)s sent you a ticket for %(title)s.") % sent,
        url,
        {"transfer": transfer, "event": event, "link": settings.SITE_URL + url, "accepted": False},
    )


def render(
    message: Message,
    user: User | None,
    *,
    unsubscribe_url: str | None = None,
    order: Order | None = None,
) -> Rendered:
    """The message as `user` reads it, in their language (None: an address that may have no
    account, written in the site's language).

    `order`: the confirmed order, preloaded by `confirmed_orders` when a batch has it at hand.
    """
    language = user.language if user is not None else settings.LANGUAGE_CODE
    with translation.override(language or settings.LANGUAGE_CODE):
        return _render(message, user, unsubscribe_url=unsubscribe_url, order=order)


def _render(
    message: Message,
    user: User | None,
    *,
    unsubscribe_url: str | None = None,
    order: Order | None = None,
) -> Rendered:
    topic = message.topic
    data: dict[str, Any] = message.data
    if topic == Topic.ORDER_CONFIRMED:
        if order is None:
            order = confirmed_orders([data["order_id"]])[str(data["order_id"])]
        return _order_confirmed(order)
    if topic == Topic.TICKETS_RESENT:
        resent = confirmed_orders([data["order_id"]])[str(data["order_id"])]
        return _order_confirmed(
            resent, only={str(t) for t in data["ticket_ids"]}, holder=message.user
        )
    if topic == Topic.WAITLIST_OFFER:
        return _waitlist_offer(data["offer_id"])
    if topic in (Topic.TRANSFER_OFFERED, Topic.TRANSFER_ACCEPTED):
        return _transfer(
            data["transfer_id"],
            accepted=topic == Topic.TRANSFER_ACCEPTED,
            sealed_token=data.get("sealed_token", ""),
        )
    if topic == Topic.DATA_EXPORT_READY:
        return _own_template(
            "privacy_export_ready",
            _("Your Boxoffice data export is ready"),
            _("Your data export is ready to download."),
            data["link"],
            {"link": settings.SITE_URL + data["link"]},
        )
    if topic == Topic.SIGNIN_PAUSED and user is not None:
        return _own_template(
            "signin_paused",
            _("Your Boxoffice sign-in is paused"),
            _("Sign-ins to your account are paused after many wrong passwords."),
            "/account/unlock",
            {"link": unlock_url(user.email), "minutes": unlock_minutes()},
        )
    if topic == Topic.ACCOUNT_ERASED:
        return _own_template(
            "account_erased",
            _("Your Boxoffice account was erased"),
            _("Your account was erased."),
            "/",
            {"outcomes": data.get("outcomes", [])},
        )
    if topic == Topic.MARKETING_NEWS and user is not None:
        return _generic(
            message,
            user,
            subject=data["subject"],
            heading=data["subject"],
            lines=[data["body"]],
            url=data.get("url", "/"),
            action=_("Have a look"),
            short=data["body"][:140],
            attachments=[],
            unsubscribe_url=unsubscribe_url,
        )
    event = message.event
    if event is None:
        raise ValueError(f"{topic} needs an event")
    title = _title(event)
    if topic == Topic.WAITLIST_EVENT_CANCELLED:
        return _own_template(
            "event_cancelled",
            _("Cancelled: %(title)s") % {"title": title},
            _("%(title)s on %(when)s is cancelled.")
            % {"title": title, "when": local_time(event.starts_at, event)},
            event.get_absolute_url(),
            {"event": event, "waiting": True},
        )
    if user is None:
        raise ValueError(f"{topic} is written to a person")
    when = f"{local_time(event.starts_at, event.time_zone)} ({event.time_zone})"
    cancelled = topic == Topic.EVENT_CANCELLED
    ics = [("event.ics", event_ics(event, cancelled=cancelled), "text/calendar")]
    if topic == Topic.ORGANIZER_MESSAGE:
        paragraphs = [" ".join(p.split()) for p in data["body"].split("\n\n") if p.strip()]
        return _generic(
            message,
            user,
            subject=f"{data['subject']} · {title}",
            heading=data["subject"],
            lines=[
                *paragraphs,
                _("From the organizer of %(title)s, %(when)s.") % {"title": title, "when": when},
            ],
            url=event.get_absolute_url(),
            action=_("See the event"),
            short=f"{title}: {data['subject']}",
            unsubscribe_url=unsubscribe_url,
            attachments=[],
        )
    if topic == Topic.EVENT_CHANGED:
        lines = change_lines(event, data["changes"])
        return _generic(
            message,
            user,
            subject=_("Changed: %(title)s") % {"title": title},
            heading=_("%(title)s has changed") % {"title": title},
            lines=[*lines, _("Your tickets stay valid; nothing else to do.")],
            url=event.get_absolute_url(),
            action=_("See the event"),
            short=_("%(title)s changed.") % {"title": title} + " " + "; ".join(lines),
            unsubscribe_url=unsubscribe_url,
            attachments=ics,
        )
    if topic == Topic.SESSION_CHANGED:
        names = {"session": data["title"], "title": title}
        lines = change_lines(event, data["changes"])
        return _generic(
            message,
            user,
            subject=_("Changed: %(session)s at %(title)s") % names,
            heading=_("“%(session)s” has changed") % names,
            lines=[
                *lines,
                _("It is part of %(title)s; everything else stays as it was.") % names,
            ],
            url=event.get_absolute_url(),
            action=_("See the programme"),
            short=_("“%(session)s” at %(title)s changed.") % names + " " + "; ".join(lines),
            unsubscribe_url=unsubscribe_url,
            attachments=[],
        )
    if topic == Topic.EVENT_CANCELLED:
        total, currency = _paid_total(user, event)
        money = (
            _(
                "You paid %(amount)s: all of it goes back to the card or account you paid "
                "with, automatically. Banks usually show it within 5 to 10 business days."
            )
            % {"amount": format_money(total, currency)}
            if total
            else _("Your tickets were free, so there is no money to return.")
        )
        cancelled_on = _("%(title)s on %(when)s is cancelled") % {"title": title, "when": when}
        return _generic(
            message,
            user,
            subject=_("Cancelled: %(title)s") % {"title": title},
            heading=cancelled_on,
            lines=[_("We are sorry: %(title)s will not take place.") % {"title": title}, money],
            url=reverse("ticketing:my_tickets"),
            action=_("My tickets"),
            short=f"{cancelled_on}. {money}",
            unsubscribe_url=unsubscribe_url,
            attachments=ics,
        )
    if topic == Topic.EVENT_REMINDER:
        minutes = int(data["offset_minutes"])
        if minutes == 24 * 60:
            starts = _("%(title)s starts tomorrow")
        elif minutes % 60 == 0:
            starts = ngettext(
                "%(title)s starts in %(hours)d hour",
                "%(title)s starts in %(hours)d hours",
                minutes // 60,
            )
        else:
            starts = ngettext(
                "%(title)s starts in %(minutes)d minute",
                "%(title)s starts in %(minutes)d minutes",
                minutes,
            )
        starts = starts % {"title": title, "hours": minutes // 60, "minutes": minutes}
        where = _where(event)
        return _generic(
            message,
            user,
            subject=_("Reminder: %(starts)s") % {"starts": starts},
            heading=starts,
            lines=[
                _("When: %(when)s") % {"when": when},
                _("Where: %(where)s") % {"where": where},
                _("Your tickets are in the app."),
            ],
            url=reverse("ticketing:my_tickets"),
            action=_("Show my tickets"),
            short=_("Reminder: %(starts)s, %(when)s, at %(where)s.")
            % {"starts": starts, "when": when, "where": where},
            unsubscribe_url=unsubscribe_url,
            attachments=ics,
        )
    if topic == Topic.ORDER_REFUNDED:
        amount = format_money(data["amount"], data["currency"])
        return _generic(
            message,
            user,
            subject=_("Refund for %(title)s") % {"title": title},
            heading=_("Your refund of %(amount)s") % {"amount": amount},
            lines=[
                _("We refunded %(amount)s for your order for %(title)s.")
                % {"amount": amount, "title": title},
                _(
                    "It goes back to the card or account you paid with; banks usually show it "
                    "within 5 to 10 business days."
                ),
            ],
            url=reverse("ticketing:my_tickets"),
            action=_("My tickets"),
            short=_("Refund of %(amount)s for %(title)s is on its way.")
            % {"amount": amount, "title": title},
            attachments=[],
            unsubscribe_url=None,
        )
    raise ValueError(f"No content for {topic}")


def confirmed_orders(order_ids: list[Any]) -> dict[str, Order]:
    """Orders with what their confirmation shows, in four queries however many there are."""
    orders = (
        Order.objects.select_related("buyer", "event", "event__venue")
        .prefetch_related("tickets__tier", "tickets__seat", "documents")
        .filter(pk__in=order_ids)
    )
    return {str(order.pk): order for order in orders}


_ICS_CACHE: dict[tuple[Any, ...], bytes] = {}
_ICS_CACHE_SIZE = 256


def _event_ics(event: Event) -> bytes:
    """An event's calendar entry, built once per process for as long as the event is unchanged
    (a rush confirms thousands of orders of the same event)."""
    venue = event.venue
    title = event.text_in("title", translation.get_language())
    key: tuple[Any, ...] = (event.pk, event.updated_at, event.starts_at, event.ends_at, title)
    key += (venue.name, venue.address, venue.city, settings.SITE_URL)
    ics = _ICS_CACHE.get(key)
    if ics is None:
        if len(_ICS_CACHE) >= _ICS_CACHE_SIZE:
            _ICS_CACHE.clear()
        ics = _ICS_CACHE[key] = event_ics(event)
    return ics


def _order_confirmed(
    order: Order, only: set[str] | None = None, holder: User | None = None
) -> Rendered:
    """The order's tickets; `only` those ids for `holder`, who is sent them again (someone a
    ticket was transferred to holds it under the buyer's order)."""
    # The QR codes are links to images rendered on demand (notifications.ticket_links), not
    # PNG parts: drawing them was most of the CPU a confirmation cost, per order, in a rush.
    tickets = [
        (ticket, ticket_qr_url(ticket))
        for ticket in order.tickets.all()
        if only is None or str(ticket.pk) in only
    ]
    event = order.event
    site = settings.SITE_URL
    context = {
        "order": order,
        "event": event,
        "tickets": tickets,
        "greeting_name": (holder or order.buyer).display_name,
        "site_url": site,
        "receipt_url": site + path_to("invoicing:receipt", "order_id", order.pk),
        # The invoice, numbered in the paying transaction; read by relation, not by import.
        "documents": [
            (document, site + path_to("invoicing:document", "document_id", document.pk))
            for document in order.documents.all()
        ],
    }
    attachments = [("event.ics", _event_ics(event), "text/calendar")]
    return Rendered(
        subject=_("Your tickets for %(title)s") % {"title": _title(event)},
        text=render_to_string("notifications/order_confirmed.txt", context),
        html=render_to_string("notifications/order_confirmed.html", context),
        short=ngettext(
            "Your %(count)d ticket for %(title)s, %(when)s, is confirmed.",
            "Your %(count)d tickets for %(title)s, %(when)s, are confirmed.",
            len(tickets),
        )
        % {
            "count": len(tickets),
            "title": _title(event),
            "when": local_time(event.starts_at, event.time_zone),
        },
        url=path_to("ticketing:order", "order_id", order.pk),
        attachments=attachments,
        headers={ORDER_HEADER: str(order.pk)},
    )

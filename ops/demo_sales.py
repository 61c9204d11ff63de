"""Sales for `make run`'s demo events, so an organizer's first look at the dashboards, the
attendee table and the check-in figures shows something to read instead of zeros.

Every order goes through the booking services (holds, payment, tickets, seats, the outbox), every
refund and transfer through the after-sale services, and every scan and rating through the
check-in and feedback services: the figures are what the real code makes of them. Only the
clock is moved: orders are dated over the last four weeks, and one event took place three days
ago, with its door scans and its ratings.

The demo buyers are not logins. Their confirmation emails are fanned out and then marked
skipped ("demo data"), so the console log of `make run` is not flooded with a few hundred mails;
their in-app notices are delivered as usual.
"""

import random
import unicodedata
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncHour
from django.utils import timezone

from accounts.models import Organization, User
from analytics.models import PageViewHour
from analytics.summaries import summaries_rebuild
from checkin.services import checkin_list_default, ticket_scan
from events.feedback import feedback_submit
from events.models import Category, Event, Feedback, TicketTier
from events.services import TierSpec, VenueSpec, event_create, event_publish
from notifications.models import Channel, Delivery, Message, Preference
from notifications.services import message_fan_out
from ticketing.aftersale.refunds import order_refund
from ticketing.aftersale.transfers import ticket_transfer_accept, ticket_transfer_send
from ticketing.booking.services import order_pay, order_reserve
from ticketing.models import EventSeat, Order, Payment, Refund, Ticket, Transfer
from ticketing.seating.services import order_reserve_seats

DEMO_DOMAIN = "example.com"
FIRST_NAMES = [
    "Amara", "Ben", "Chloé", "Daniel", "Elif", "Finn", "Greta", "Hugo", "Ines", "Jonas",
    "Kemal", "Lena", "Mateo", "Noor", "Oliver", "Paula", "Quentin", "Rosa", "Samir", "Tanja",
    "Uma", "Viktor", "Wen", "Yara",
]  # fmt: skip
LAST_NAMES = [
    "Abara", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Horvat", "Ivanova",
    "Jensen", "Kowalczyk", "Laine", "Moreau", "Novak",
]  # fmt: skip
# How far each demo event has sold: (tier, tickets) by title; orders hold 1-4 tickets each.
SOLD = {
    "PyCon Riverside 2027": {"Conference pass": 140, "Student": 38},
    "Jazz Festival by the Lake": {"Day ticket": 260, "Weekend": 95},
    "Hands-on Django Workshop": {"Seat": 9},
    "Data Engineering Meetup": {"Free entry": 54},
    "Symphony Night": {"Parterre": 70, "Balcony": 30},
    # One ticket left, to try the last-ticket race by hand.
    "Last-Ticket Indie Gig": {"Standing": 2},
}
PAST_TITLE = "Python Pub Quiz, November edition"
PAST_SOLD = 68
PAST_ADMITTED = 55
PAST_COMMENTS = [
    "Great questions and a friendly crowd.",
    "The Django round was brutal. Loved it.",
    "Too loud near the bar, otherwise perfect.",
    "Come back in spring!",
    "",
]
SALES_DAYS = 28
# After the sale: whole orders refunded by their buyers, and tickets passed on to a friend.
REFUNDED = {"Jazz Festival by the Lake": 4, "PyCon Riverside 2027": 2}
TRANSFERRED = {"PyCon Riverside 2027": 3, "Jazz Festival by the Lake": 2}
BUYERS = 96


def demo_sales_seed(
    *, organization: Organization, organizer: User, door: User, attendee: User
) -> bool:
    """Sell the demo events' tickets, hold one past event with scans and ratings, count page
    views and rebuild the summary tables; False (and nothing done) if the demo already sold."""
    if Order.objects.filter(event__organization=organization).exists():
        return False
    rng = random.Random(2027)  # noqa: S311 - demo data, the same every time
    now = timezone.now()
    buyers = _demo_buyers(rng)
    events = {e.title: e for e in Event.objects.filter(organization=organization)}
    for title, tiers in SOLD.items():
        event = events.get(title)
        if event is None:
            continue
        for tier_name, tickets in tiers.items():
            tier = event.tiers.get(name=tier_name)
            _sell(rng, event, tier, tickets, buyers, now)
    _after_sale(rng, events, buyers, now)
    symphony = events.get("Symphony Night")
    if symphony is not None:  # the demo attendee's own tickets, to see "My tickets" filled
        _order(symphony, symphony.tiers.get(name="Parterre"), 2, attendee, now - timedelta(days=3))
    past = _past_event(rng, organization, organizer, door, attendee, buyers, now)
    _page_views(rng, [*events.values(), past], now)
    _demo_mail_skipped(organization)
    summaries_rebuild()
    return True


def _demo_buyers(rng: random.Random) -> list[User]:
    people = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(people)
    buyers = []
    for first, last in people[:BUYERS]:
        # "Chloé García" writes to chloe.garcia@: the accents dropped, not the letters.
        plain = unicodedata.normalize("NFKD", f"{first}.{last}".lower())
        local = plain.encode("ascii", "ignore").decode()
        buyer = User.objects.create_user(
            email=f"{local}@{DEMO_DOMAIN}", full_name=f"{first} {last}"
        )
        # Demo people read their messages in the app: reminders and event changes would
        # otherwise print to the console log of `make run` for weeks.
        Preference.objects.create(user=buyer, reminder_email=False, update_email=False)
        buyers.append(buyer)
    return buyers


def _sell(
    rng: random.Random,
    event: Event,
    tier: TicketTier,
    tickets: int,
    buyers: list[User],
    now: datetime,
) -> None:
    while tickets > 0:
        quantity = min(tickets, rng.choice([1, 1, 1, 2, 2, 3, 4]))
        _order(event, tier, quantity, rng.choice(buyers), _sale_time(rng, now))
        tickets -= quantity


def _sale_time(rng: random.Random, now: datetime) -> datetime:
    """A time in the last SALES_DAYS days, more of them recent and in the daytime (UTC)."""
    days_ago = int(SALES_DAYS * rng.random() ** 1.6)
    hour = min(23, max(6, int(rng.gauss(14, 4))))
    moment = (now - timedelta(days=days_ago)).replace(
        hour=hour, minute=rng.randrange(60), second=rng.randrange(60)
    )
    return min(moment, now - timedelta(minutes=5))


def _order(event: Event, tier: TicketTier, quantity: int, buyer: User, at: datetime) -> Order:
    """One paid order through the booking services, then dated `at`."""
    key = str(uuid.uuid4())
    if EventSeat.objects.filter(tier=tier).exists():
        order = order_reserve_seats(
            buyer=buyer, event_id=event.pk, idempotency_key=key, best_available=(tier.pk, quantity)
        )
    else:
        order = order_reserve(
            buyer=buyer, event_id=event.pk, items=[(tier.pk, quantity)], idempotency_key=key
        )
    order_pay(buyer=buyer, order_id=order.pk, idempotency_key=key)
    _date(order.pk, at)
    return order


def _date(order_id: Any, at: datetime) -> None:
    paid = at + timedelta(seconds=40)
    with transaction.atomic():
        Order.objects.filter(pk=order_id).update(
            created_at=at, paid_at=paid, expires_at=at + timedelta(minutes=15)
        )
        Payment.objects.filter(order_id=order_id).update(created_at=at, updated_at=paid)
        Ticket.objects.filter(order_id=order_id).update(issued_at=paid)
        Message.objects.filter(data__order_id=str(order_id)).update(created_at=paid)


def _after_sale(
    rng: random.Random, events: dict[str, Event], buyers: list[User], now: datetime
) -> None:
    """Refunds and transfers through the after-sale services, dated a few days after the sale."""
    for title, count in REFUNDED.items():
        orders = Order.objects.filter(event__title=title, event__in=events.values()).order_by("pk")
        for order in rng.sample(list(orders), count):
            refund = order_refund(
                actor=order.buyer, order_id=order.pk, idempotency_key=str(uuid.uuid4())
            )
            at = _days_after(rng, order.paid_at, now)
            Refund.objects.filter(pk=refund.pk).update(created_at=at, refunded_at=at)
            Message.objects.filter(dedupe_key=f"order.refunded:{refund.pk}").update(created_at=at)
    for title, count in TRANSFERRED.items():
        tickets = Ticket.objects.filter(
            event__title=title, event__in=events.values(), status=Ticket.Status.VALID
        ).order_by("pk")
        for ticket in rng.sample(list(tickets.select_related("holder", "order")), count):
            friend = rng.choice([b for b in buyers if b != ticket.holder])
            sent = ticket_transfer_send(
                sender=ticket.holder, ticket_id=ticket.pk, to_email=friend.email
            )
            new = ticket_transfer_accept(recipient=friend, token=sent.token)
            at = _days_after(rng, ticket.order.paid_at, now)
            Transfer.objects.filter(pk=sent.pk).update(created_at=at, decided_at=at)
            Ticket.objects.filter(pk=new.pk).update(issued_at=at)
            Message.objects.filter(data__transfer_id=str(sent.pk)).update(created_at=at)


def _days_after(rng: random.Random, moment: datetime | None, now: datetime) -> datetime:
    start = moment or now
    return min(start + timedelta(days=rng.uniform(0.5, 6)), now - timedelta(minutes=2))


def _past_event(
    rng: random.Random,
    organization: Organization,
    organizer: User,
    door: User,
    attendee: User,
    buyers: list[User],
    now: datetime,
) -> Event:
    """A quiz night three days ago: all but a dozen seats sold, most guests scanned in, rated.

    It is created, sold and scanned while still ahead (as the services require), then moved to
    the evening it took place on."""
    starts = (now - timedelta(days=3)).replace(hour=18, minute=0, second=0, microsecond=0)
    event = event_create(
        actor=organizer,
        organization=organization,
        title=PAST_TITLE,
        description="Eight rounds of Python trivia, teams of up to four, prizes for the top three.",
        category=Category.objects.filter(slug="meetup").first(),
        time_zone="Europe/Berlin",
        venue=VenueSpec(name="The Crooked Pint", city="Berlin", address="1 Crooked Pint Street"),
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=3),
        tiers=[TierSpec(name="Quiz seat", price=Decimal("8.00"), capacity=80)],
    )
    event_publish(actor=organizer, event=event)
    tier = event.tiers.get()
    guests = [attendee, *rng.sample(buyers, 40)]
    orders = [_order(event, tier, 1, attendee, starts - timedelta(days=9))]
    sold = 1
    while sold < PAST_SOLD:
        quantity = min(PAST_SOLD - sold, rng.choice([1, 2, 2, 3]))
        at = starts - timedelta(days=SALES_DAYS * rng.random() ** 0.7, hours=rng.random() * 6)
        orders.append(_order(event, tier, quantity, rng.choice(guests[1:]), at))
        sold += quantity
    gate = checkin_list_default(event)
    tickets = list(Ticket.objects.filter(order__in=orders).order_by("issued_at"))
    for ticket in rng.sample(tickets, PAST_ADMITTED):
        # Doors at 17:30; most come in the half hour before the first round.
        minutes = max(-30, min(75, int(rng.gauss(-8, 18))))
        ticket_scan(
            payload=ticket.qr_payload,
            checkin_list=gate,
            scanned_by=door,
            device_id="demo-door",
            scanned_at=starts + timedelta(minutes=minutes, seconds=rng.randrange(60)),
        )
    Event.objects.filter(pk=event.pk).update(starts_at=starts, ends_at=starts + timedelta(hours=3))
    event.refresh_from_db()
    raters = {o.buyer for o in orders if o.buyer != attendee}  # the attendee rates it by hand
    for buyer in rng.sample(sorted(raters, key=lambda u: u.email), min(24, len(raters))):
        feedback = feedback_submit(
            author=buyer,
            event=event,
            rating=rng.choices([5, 4, 3, 2], weights=[9, 7, 2, 1])[0],
            comment=rng.choice(PAST_COMMENTS),
        )
        Feedback.objects.filter(pk=feedback.pk).update(
            created_at=starts + timedelta(hours=rng.uniform(4, 40))
        )
    return event


def _page_views(rng: random.Random, events: list[Event], now: datetime) -> None:
    """Event page views per hour, about fifteen for each order paid in that hour and a few
    more besides: what the Redis counters would have flushed."""
    paid = (
        Order.objects.filter(event__in=events, paid_at__isnull=False)
        .values_list("event_id", TruncHour("paid_at"))
        .annotate(orders=Count("pk"))
    )
    orders_by_hour: dict[tuple[Any, datetime], int] = {
        (event_id, hour): orders for event_id, hour, orders in paid
    }
    for event in events:
        for days_ago in range(SALES_DAYS):
            hour = (now - timedelta(days=days_ago)).replace(
                hour=rng.randrange(8, 22), minute=0, second=0, microsecond=0
            )
            orders_by_hour.setdefault((event.pk, hour), 0)
    PageViewHour.objects.bulk_create(
        PageViewHour(
            event_id=event_id,
            hour=hour,
            views=(views := orders * 15 + rng.randrange(3, 25)),
            visitors=max(1, int(views * rng.uniform(0.55, 0.75))),
            updated_at=now,
        )
        for (event_id, hour), orders in orders_by_hour.items()
        if hour <= now
    )


def _demo_mail_skipped(organization: Organization) -> None:
    """Fan out what the demo announced and mark the demo buyers' mail skipped (see the module);
    each delivery is dated like its message, so an order's timeline reads in order."""
    orders = Order.objects.filter(event__organization=organization).values_list("pk", flat=True)
    messages = Message.objects.filter(
        Q(data__order_id__in=[str(pk) for pk in orders]) | Q(event__organization=organization)
    )
    for message_id in messages.filter(status=Message.Status.PENDING).values_list("pk", flat=True):
        message_fan_out(message_id=message_id)
    Delivery.objects.filter(
        message__in=messages,
        channel=Channel.EMAIL,
        status=Delivery.Status.PENDING,
        recipient__endswith=f"@{DEMO_DOMAIN}",
    ).update(status=Delivery.Status.SKIPPED, last_error="Demo data: not sent.")
    Delivery.objects.filter(message__in=messages).update(
        created_at=Subquery(Message.objects.filter(pk=OuterRef("message_id")).values("created_at"))
    )

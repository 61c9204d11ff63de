"""A randomized after-sale scenario driven through the real services, and the truth to check
summary figures against: counts and sums over the raw rows."""

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from accounts.models import User
from checkin.models import Admission
from checkin.services import checkin_list_default, ticket_scan
from core.errors import DomainError
from events.models import Event, TicketTier
from tests.factories import UserFactory
from ticketing.aftersale.cancellation import event_cancel_with_refunds
from ticketing.aftersale.refunds import order_refund
from ticketing.aftersale.transfers import ticket_transfer_accept, ticket_transfer_send
from ticketing.booking.services import order_pay, order_reserve
from ticketing.models import Order, OrderLine, Payment, Refund, RefundLine, Ticket, Transfer
from waitlist.models import Offer, WaitlistEntry
from waitlist.services import waitlist_join

FIGURES = (
    "orders",
    "tickets",
    "gross",
    "refunded_tickets",
    "refunds",
    "fees",
    "net",
    "transfers",
    "checkins",
    "waitlist_joins",
    "waitlist_offers",
    "waitlist_accepted",
)


@dataclass
class Scenario:
    organizer: User
    events: list[Event]
    rng: random.Random
    steps: list[str] = field(default_factory=list)

    def tiers(self) -> list[TicketTier]:
        return [t for e in self.events for t in e.tiers.all()]

    def buy(self) -> None:
        tier = self.rng.choice(self.tiers())
        buyer = UserFactory.create()
        try:
            order = order_reserve(
                buyer=buyer,
                event_id=tier.event_id,
                items=[(tier.pk, self.rng.randint(1, 3))],
                idempotency_key=uuid.uuid4().hex,
            )
            if self.rng.random() < 0.85:  # some holds are never paid
                order_pay(buyer=buyer, order_id=order.pk, idempotency_key=uuid.uuid4().hex)
            self.steps.append("buy")
        except DomainError:
            # Sold out (or the event is cancelled): wait in line instead.
            self._join_waitlist(buyer, tier)

    def _join_waitlist(self, user: User, tier: TicketTier) -> None:
        try:
            waitlist_join(user=user, event=tier.event, tier_id=tier.pk)
            self.steps.append("waitlist")
        except DomainError:
            pass

    def _valid_ticket(self) -> Ticket | None:
        return (
            Ticket.objects.filter(event__in=self.events, status=Ticket.Status.VALID)
            .order_by("?")
            .first()
        )

    def refund(self) -> None:
        ticket = self._valid_ticket()
        if ticket is None:
            return
        try:
            order_refund(
                actor=self.organizer,
                order_id=ticket.order_id,
                ticket_ids=[ticket.pk],
                idempotency_key=uuid.uuid4().hex,
                as_organizer=True,
                reason=Refund.Reason.ORGANIZER,
            )
            self.steps.append("refund")
        except DomainError:  # used at the door, where the event's policy forbids it
            pass

    def transfer(self) -> None:
        ticket = self._valid_ticket()
        if ticket is None:
            return
        recipient = UserFactory.create()
        try:
            sent = ticket_transfer_send(
                sender=ticket.holder, ticket_id=ticket.pk, to_email=recipient.email
            )
            ticket_transfer_accept(recipient=recipient, token=sent.token)
            self.steps.append("transfer")
        except DomainError:
            pass

    def scan(self) -> None:
        ticket = self._valid_ticket()
        if ticket is None:
            return
        ticket_scan(
            payload=ticket.qr_payload,
            checkin_list=checkin_list_default(ticket.event),
            scanned_by=None,
        )
        self.steps.append("scan")

    def cancel_event(self) -> None:
        live = [e for e in self.events if e.status == Event.Status.PUBLISHED]
        if len(live) < 2:  # keep one event selling
            return
        event = self.rng.choice(live)
        event_cancel_with_refunds(actor=self.organizer, event_id=event.pk)
        event.refresh_from_db()
        self.steps.append("cancel")

    def step(self) -> None:
        action = self.rng.choices(
            [self.buy, self.refund, self.transfer, self.scan, self.cancel_event],
            weights=[8, 2, 2, 3, 0.3],
        )[0]
        action()


def truth(events: list[Event]) -> dict[tuple[Any, Any], dict[str, Any]]:
    """Figures per (event id, tier id) counted over raw rows, with no summary involved."""
    figures: dict[tuple[Any, Any], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    paid = Order.objects.filter(event__in=events, paid_at__isnull=False)
    for order in paid.prefetch_related("lines"):
        lines = sorted(order.lines.all(), key=lambda line: line.pk)
        figures[(order.event_id, lines[0].tier_id)]["orders"] += 1
        for line in lines:
            row = figures[(order.event_id, line.tier_id)]
            row["tickets"] += line.quantity
            row["gross"] += line.unit_price * line.quantity
    prices = {
        (line.order_id, line.tier_id): line.unit_price
        for line in OrderLine.objects.filter(order__event__in=events)
    }
    refunded = RefundLine.objects.filter(ticket__event__in=events).select_related("ticket")
    for refund_line in refunded:
        ticket = refund_line.ticket
        row = figures[(ticket.event_id, ticket.tier_id)]
        row["refunded_tickets"] += 1
        row["refunds"] += refund_line.amount
        row["fees"] += prices[(ticket.order_id, ticket.tier_id)] - refund_line.amount
    for transfer in Transfer.objects.filter(
        ticket__event__in=events, status=Transfer.Status.ACCEPTED
    ).select_related("ticket"):
        figures[(transfer.ticket.event_id, transfer.ticket.tier_id)]["transfers"] += 1
    admitted = Ticket.objects.filter(
        event__in=events,
        status=Ticket.Status.VALID,
        pk__in=Admission.objects.values("ticket_id"),
    )
    for admitted_ticket in admitted:
        ticket = admitted_ticket
        figures[(ticket.event_id, ticket.tier_id)]["checkins"] += 1
    for entry in WaitlistEntry.objects.filter(event__in=events):
        figures[(entry.event_id, entry.tier_id)]["waitlist_joins"] += 1
    for offer in Offer.objects.filter(event__in=events):
        figures[(offer.event_id, offer.tier_id)]["waitlist_offers"] += 1
        if offer.status == Offer.Status.ACCEPTED:
            figures[(offer.event_id, offer.tier_id)]["waitlist_accepted"] += 1
    for row in figures.values():
        row["net"] = row["gross"] - row["refunds"]
    return {key: row for key, row in figures.items() if any(row.values())}


def money_truth(events: list[Event]) -> Decimal:
    """Revenue net of refunds as the money moved: succeeded payments less refunds."""
    paid = Payment.objects.filter(
        order__event__in=events, status=Payment.Status.SUCCEEDED
    ).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    refunded = Refund.objects.filter(order__event__in=events).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal("0")
    return paid - refunded

"""A stateful model of one event's life, driven through the real services in random order.

`BookingMachine` registers, pays, refunds (whole orders and single tickets), transfers and
accepts, lines people up on the waitlist and takes its offers, scans at two check-in lists,
lets holds lapse and cancels the event, for several buyers at once. After every step it checks
the invariants that span steps (`booking_invariants`):

- per tier: sold_count = valid tickets + pending holds + seats set aside for the waitlist
  (while the event is on; once it is cancelled, no holds are left and only tickets that got
  in may still be valid);
- no seat was let in twice at one list: admissions per list, counted per original ticket
  (a transferred ticket and the tickets it became are one seat), are at most one;
- every admitted ticket was paid for (its order is paid by a succeeded payment), and stays
  valid (the refund-after-entry policy is off);
- revenue (ticketing.selectors.event_revenue_net) = what the machine paid less what it was
  refunded, and = payments - refunds in the database.

Other suites reuse it: subclass `BookingMachine` (add rules or invariants) and call
`run_machine(YourMachine)` from a `transaction=True` test. Every example books a fresh
event, so examples do not share state.
"""

import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import Membership, User
from checkin.models import Admission, CheckinList
from checkin.services import checkin_list_create, checkin_list_default, ticket_scan
from core.errors import DomainError
from events.models import Event, TicketTier
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, UserFactory
from ticketing.aftersale.cancellation import event_cancel_with_refunds
from ticketing.aftersale.refunds import order_refund
from ticketing.aftersale.transfers import ticket_transfer_accept, ticket_transfer_send
from ticketing.booking.core import orders_release_expired
from ticketing.booking.services import order_pay, order_reserve
from ticketing.models import Order, Payment, Refund, SetAside, Ticket, Transfer
from ticketing.selectors import event_revenue_net
from waitlist.models import Offer
from waitlist.services import waitlist_join, waitlist_offer_accept, waitlist_promote

BUYERS = 3
index = st.integers(min_value=0, max_value=50)


class BookingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.event: Event = EventFactory.create(hold_minutes=10)
        self.organizer: User = MembershipFactory.create(
            organization=self.event.organization, role=Membership.Role.OWNER
        ).user
        self.door: User = MembershipFactory.create(
            organization=self.event.organization, role=Membership.Role.DOOR
        ).user
        self.tiers: list[TicketTier] = [
            TicketTierFactory.create(event=self.event, capacity=3, price=Decimal("20.00")),
            TicketTierFactory.create(event=self.event, capacity=2, price=Decimal("35.50")),
        ]
        self.buyers: list[User] = [UserFactory.create() for _ in range(BUYERS)]
        self.lists: list[CheckinList] = [
            checkin_list_default(self.event),
            checkin_list_create(event=self.event, actor=self.organizer, name="Side", tier_ids=[]),
        ]
        self.pending_transfers: list[tuple[Transfer, str]] = []  # (transfer, plain token)
        self.paid_in = Decimal("0")  # what the services said they charged
        self.paid_orders: set[Any] = set()  # counted once: paying a paid order replays it
        self.paid_back = Decimal("0")  # and refunded
        self.refused: dict[str, int] = {}  # domain errors by code: what the services refused

    # --- helpers --------------------------------------------------------------------------

    def key(self) -> str:
        return uuid.uuid4().hex

    def refuse(self, exc: DomainError) -> None:
        self.refused[exc.code] = self.refused.get(exc.code, 0) + 1

    def pick(self, items: list[Any], i: int) -> Any:
        return items[i % len(items)] if items else None

    def orders(self, status: str) -> list[Order]:
        return list(Order.objects.filter(event=self.event, status=status).order_by("created_at"))

    def valid_tickets(self) -> list[Ticket]:
        return list(
            Ticket.objects.filter(event=self.event, status=Ticket.Status.VALID)
            .select_related("holder", "order")
            .order_by("issued_at", "id")
        )

    def count_payment(self, order: Order) -> None:
        if order.status == Order.Status.PAID and order.pk not in self.paid_orders:
            self.paid_orders.add(order.pk)
            self.paid_in += order.total

    def on(self) -> bool:
        return Event.objects.filter(pk=self.event.pk, status=Event.Status.PUBLISHED).exists()

    # --- rules ----------------------------------------------------------------------------

    @rule(buyer=index, tier=index, quantity=st.integers(min_value=1, max_value=2))
    def register(self, buyer: int, tier: int, quantity: int) -> None:
        chosen = self.pick(self.tiers, tier)
        try:
            order_reserve(
                buyer=self.pick(self.buyers, buyer),
                event_id=self.event.pk,
                items=[(chosen.pk, quantity)],
                idempotency_key=self.key(),
            )
        except DomainError as exc:
            self.refuse(exc)

    @rule(i=index)
    def pay(self, i: int) -> None:
        order = self.pick(self.orders(Order.Status.PENDING), i)
        if order is None:
            return
        try:
            outcome = order_pay(buyer=order.buyer, order_id=order.pk, idempotency_key=self.key())
        except DomainError as exc:
            self.refuse(exc)
            return
        self.count_payment(outcome.order)

    @rule(i=index)
    def refund_order(self, i: int) -> None:
        order = self.pick(self.orders(Order.Status.PAID), i)
        if order is None:
            return
        try:
            refund = order_refund(actor=order.buyer, order_id=order.pk, idempotency_key=self.key())
        except DomainError as exc:
            self.refuse(exc)
            return
        self.paid_back += refund.amount

    @rule(i=index)
    def refund_one_ticket(self, i: int) -> None:
        ticket = self.pick(self.valid_tickets(), i)
        if ticket is None:
            return
        try:
            refund = order_refund(
                actor=ticket.order.buyer,
                order_id=ticket.order_id,
                ticket_ids=[ticket.pk],
                idempotency_key=self.key(),
            )
        except DomainError as exc:
            self.refuse(exc)
            return
        self.paid_back += refund.amount

    @rule(i=index, to=index)
    def transfer_send(self, i: int, to: int) -> None:
        ticket = self.pick(self.valid_tickets(), i)
        if ticket is None:
            return
        recipient = self.pick(self.buyers, to)
        try:
            sent = ticket_transfer_send(
                sender=ticket.holder, ticket_id=ticket.pk, to_email=recipient.email
            )
        except DomainError as exc:
            self.refuse(exc)
            return
        self.pending_transfers.append((sent, sent.token))

    @rule(i=index)
    def transfer_accept(self, i: int) -> None:
        if not self.pending_transfers:
            return
        transfer, token = self.pending_transfers.pop(i % len(self.pending_transfers))
        recipient = User.objects.get(email=transfer.to_email)
        try:
            ticket_transfer_accept(recipient=recipient, token=token)
        except DomainError as exc:
            self.refuse(exc)

    @rule(buyer=index, tier=index)
    def waitlist_join(self, buyer: int, tier: int) -> None:
        try:
            waitlist_join(
                user=self.pick(self.buyers, buyer),
                event=self.event,
                tier_id=self.pick(self.tiers, tier).pk,
            )
        except DomainError as exc:
            self.refuse(exc)

    @rule()
    def waitlist_offer(self) -> None:
        waitlist_promote(event_id=self.event.pk, manual=True)

    @rule(i=index)
    def waitlist_accept(self, i: int) -> None:
        offers = list(
            Offer.objects.filter(event=self.event, status=Offer.Status.OPEN).order_by("id")
        )
        offer = self.pick(offers, i)
        if offer is None:
            return
        try:
            outcome = waitlist_offer_accept(
                user=offer.user, token=offer.token, idempotency_key=self.key()
            )
        except DomainError as exc:
            self.refuse(exc)
            return
        # The offer's order may have been paid already through the order itself (`pay`):
        # accepting then replays that payment and charges nothing.
        self.count_payment(outcome.order)

    @rule(i=index, at=index)
    def scan(self, i: int, at: int) -> None:
        tickets = list(
            Ticket.objects.filter(event=self.event).order_by("issued_at", "id")
        )  # void ones too: the door must refuse them
        ticket = self.pick(tickets, i)
        if ticket is None:
            return
        try:
            ticket_scan(
                payload=ticket.qr_payload,
                checkin_list=self.pick(self.lists, at),
                scanned_by=self.door,
            )
        except DomainError as exc:  # a cancelled event's door is closed: NotFound
            self.refuse(exc)

    @rule(i=index)
    def hold_lapses(self, i: int) -> None:
        order = self.pick(self.orders(Order.Status.PENDING), i)
        if order is None:
            return
        Order.objects.filter(pk=order.pk).update(expires_at=order.created_at)
        orders_release_expired(event_id=self.event.pk)

    @precondition(lambda self: self.on())
    @rule()
    def cancel_event(self) -> None:
        job = event_cancel_with_refunds(actor=self.organizer, event_id=self.event.pk)
        # The job ran inline (tasks are eager): its refunds are the money given back.
        self.paid_back += Refund.objects.filter(
            order__event=self.event, reason=Refund.Reason.EVENT_CANCELLED
        ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
        assert job.pk

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def booking_invariants(self) -> None:
        self.inventory_matches_tickets_and_holds()
        self.no_seat_admitted_twice_at_a_list()
        self.every_admitted_ticket_was_paid_for()
        self.an_admitted_ticket_stays_valid()
        self.revenue_is_payments_less_refunds()

    def inventory_matches_tickets_and_holds(self) -> None:
        if not self.on():
            # Cancelled: no hold is left, and a ticket stays valid only if it got in.
            assert not Order.objects.filter(event=self.event, status="pending").exists()
            assert not (
                Ticket.objects.filter(event=self.event, status=Ticket.Status.VALID)
                .filter(admissions__isnull=True)
                .exists()
            )
            return
        for tier in TicketTier.objects.filter(event=self.event):
            valid = Ticket.objects.filter(tier=tier, status=Ticket.Status.VALID).count()
            held = (
                Order.objects.filter(lines__tier=tier, status=Order.Status.PENDING).aggregate(
                    n=Sum("lines__quantity")
                )["n"]
                or 0
            )
            aside = SetAside.objects.filter(tier=tier).values_list("quantity", flat=True).first()
            assert tier.sold_count == valid + held + (aside or 0), (
                tier.name,
                tier.sold_count,
                valid,
                held,
                aside,
            )
            assert 0 <= tier.sold_count <= tier.capacity

    def no_seat_admitted_twice_at_a_list(self) -> None:
        root_of: dict[Any, Any] = {}
        for old, new in Transfer.objects.filter(
            ticket__event=self.event, status=Transfer.Status.ACCEPTED
        ).values_list("ticket_id", "new_ticket_id"):
            root_of[new] = old
        for checkin_list in self.lists:
            seats = []
            for ticket_id in Admission.objects.filter(checkin_list=checkin_list).values_list(
                "ticket_id", flat=True
            ):
                while ticket_id in root_of:
                    ticket_id = root_of[ticket_id]
                seats.append(ticket_id)
            assert len(seats) == len(set(seats)), "one seat got in twice"

    def every_admitted_ticket_was_paid_for(self) -> None:
        unpaid = Admission.objects.filter(ticket__event=self.event).exclude(
            ticket__order__status=Order.Status.PAID,
            ticket__order__payments__status=Payment.Status.SUCCEEDED,
        )
        assert not unpaid.exists()

    def an_admitted_ticket_stays_valid(self) -> None:
        # The policy (refunds after entry) is off here: nothing moves a ticket that got in.
        moved = Ticket.objects.filter(event=self.event, admissions__isnull=False).exclude(
            status=Ticket.Status.VALID
        )
        assert not moved.exists(), (
            "an admitted ticket was moved",
            list(moved.values_list("id", "void_reason")),
        )

    def revenue_is_payments_less_refunds(self) -> None:
        net = event_revenue_net(self.event.pk)
        assert net == self.paid_in - self.paid_back, (net, self.paid_in, self.paid_back)
        paid = Payment.objects.filter(
            order__event=self.event, status=Payment.Status.SUCCEEDED
        ).aggregate(n=Sum("amount"))["n"] or Decimal("0")
        refunded = Refund.objects.filter(order__event=self.event).aggregate(n=Sum("amount"))[
            "n"
        ] or Decimal("0")
        assert net == paid - refunded


def bounded_examples() -> int:
    """Bounded for `make test` (well under a minute)."""
    return 12


def run_machine(
    machine: type[BookingMachine],
    *,
    steps: int = 15,
    examples: int | None = None,
    derandomize: bool = True,
    shrink: bool = True,
) -> None:
    """Drive `machine` with this suite's bounded, reproducible settings (in a test that may
    commit: `@pytest.mark.django_db(transaction=True)`, so refunds and offers run on commit)."""
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples if examples is not None else bounded_examples(),
            stateful_step_count=steps,
            deadline=None,
            derandomize=derandomize,  # by default a fixed seed: the same examples every run
            database=None,
            # Without shrinking a failure is reported as found: for checks that only need to
            # know the machine fails, not the smallest way it does.
            phases=list(Phase) if shrink else [Phase.explicit, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )

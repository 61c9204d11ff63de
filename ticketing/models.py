import uuid
from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.refs import REF_PATTERN, ref_display
from events.models import Event, TicketTier, Venue


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    LIVE_STATUSES = (Status.PENDING, Status.PAID)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="orders")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(max_length=3)
    expires_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=100)
    # A digest of what was asked for, so a reused key with a different request is caught.
    request_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The seats asked for (assigned seating), kept after a release so paying late can re-hold them.
    # A database default too: the rush path and seed_scale insert orders with their own columns.
    seat_ids = ArrayField(models.UUIDField(), default=list, blank=True, db_default=[])
    # The short reference people read out (core.refs); set by the database on insert.
    ref = models.CharField(max_length=8, db_default="", editable=False)
    # The name to print on each ticket, in ticket order, given at checkout (blank: the buyer's).
    attendee_names = ArrayField(
        models.CharField(max_length=150), default=list, blank=True, db_default=[]
    )
    # The answers to the event's attendee questions, per ticket in ticket order
    # ({question id: answer}), given at checkout; copied onto each ticket when it is issued.
    attendee_answers = models.JSONField(default=list, blank=True, db_default=[])

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="one_order_per_idempotency_key"
            ),
            models.UniqueConstraint(fields=["event", "ref"], name="unique_order_ref_per_event"),
            models.CheckConstraint(condition=Q(ref__regex=REF_PATTERN), name="order_ref_format"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="pending"),
                name="pending_order_expiry",
            )
        ]

    def __str__(self) -> str:
        return f"Order {self.ref} ({self.status})"

    @property
    def code(self) -> str:
        """The order's reference as people read it (core.refs)."""
        if not isinstance(self.ref, str):  # built in Python by the fast path: ask the row
            self.refresh_from_db(fields=["ref"])
        return ref_display(self.ref)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    tier = models.ForeignKey(TicketTier, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.UniqueConstraint(fields=["order", "tier"], name="one_line_per_tier"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.tier.name}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        VOID = "void", _("Void")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="tickets")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="tickets")
    tier = models.ForeignKey(TicketTier, on_delete=models.PROTECT, related_name="tickets")
    holder = models.ForeignKey(User, on_delete=models.PROTECT, related_name="tickets")
    attendee_name = models.CharField(max_length=150)

    class VoidReason(models.TextChoices):
        REFUNDED = "refunded", _("Refunded")
        TRANSFERRED = "transferred", _("Transferred to someone else")
        CANCELLED = "cancelled", _("Cancelled")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    # Why a void ticket is void: the door names it ("refunded" vs "transferred"). Blank while
    # valid, and for tickets voided before the reason was recorded. A database default too:
    # ticketing.booking.hotpath inserts tickets with its own column list.
    void_reason = models.CharField(
        max_length=12, choices=VoidReason.choices, blank=True, default="", db_default=""
    )
    qr_payload = models.TextField()
    issued_at = models.DateTimeField(auto_now_add=True)
    seat = models.ForeignKey(
        "EventSeat", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    # The short reference on the ticket (core.refs); set by the database on insert.
    ref = models.CharField(max_length=8, db_default="", editable=False)
    # The attendee's answers to the event's questions ({question id: answer}; events.questions).
    answers = models.JSONField(default=dict, blank=True, db_default={})

    class Meta:
        ordering = ["issued_at", "id"]
        indexes = [models.Index(fields=["holder", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["seat"], condition=Q(status="valid"), name="one_valid_ticket_per_seat"
            ),
            models.UniqueConstraint(fields=["event", "ref"], name="unique_ticket_ref_per_event"),
            models.CheckConstraint(condition=Q(ref__regex=REF_PATTERN), name="ticket_ref_format"),
        ]

    def __str__(self) -> str:
        return f"Ticket {self.ref} {self.tier.name}"

    @property
    def code(self) -> str:
        """The ticket's reference as people read it (core.refs)."""
        if not isinstance(self.ref, str):  # built in Python by the fast path: ask the row
            self.refresh_from_db(fields=["ref"])
        return ref_display(self.ref)


class Payment(models.Model):
    """One attempt to charge an order. At most one is in flight and one succeeds per order."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # charge sent, outcome not yet known
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", "Refunded"  # charged after its hold was gone, so given back

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=20)
    provider_charge_id = models.CharField(max_length=100, blank=True)
    provider_refund_id = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=100)
    request_digest = models.CharField(max_length=64, default="")
    failure_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="one_payment_per_idempotency_key"
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="succeeded"),
                name="one_successful_payment_per_order",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="pending"),
                name="one_payment_in_flight_per_order",
            ),
        ]
        indexes = [
            models.Index(
                fields=["updated_at"], condition=Q(status="pending"), name="payment_pending_since"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.amount} {self.currency} ({self.status})"

    @property
    def provider_key(self) -> str:
        """The idempotency key the processor sees: one per Payment row, reused on retry."""
        return f"bo-{self.pk}"


class SandboxCharge(models.Model):
    """The sandbox processor's own ledger: what an external processor would keep on its side."""

    charge_id = models.CharField(max_length=40, unique=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    card_last4 = models.CharField(max_length=4)
    succeeded = models.BooleanField()
    decline_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.charge_id


class SandboxRefund(models.Model):
    refund_id = models.CharField(max_length=40, unique=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.refund_id


# --- Assigned seating -------------------------------------------------------------------------


class SeatAttributes(models.Model):
    """What a buyer may need to know about a seat; shared by layout seats and event seats."""

    section = models.CharField(max_length=50)
    row = models.CharField(max_length=10)
    number = models.CharField(max_length=10)
    # Grid position: seats next to each other in a row have x one apart; a gap is an aisle.
    x = models.PositiveSmallIntegerField()
    y = models.PositiveSmallIntegerField()
    zone = models.CharField(
        max_length=30, help_text=_("Price zone, mapped to a ticket tier per event")
    )
    wheelchair = models.BooleanField(default=False, help_text=_("Wheelchair space"))
    companion = models.BooleanField(default=False, help_text=_("Companion seat"))
    restricted_view = models.BooleanField(default=False)
    aisle = models.BooleanField(default=False, help_text=_("Next to an aisle"))
    # Lower is better: best available picks the lowest total.
    rank = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.section} {self.row}-{self.number}"


# One letter per seat state (the seat states API, the map page): available, held, sold, blocked.
SEAT_STATES = {"a": _("available"), "h": _("held"), "s": _("sold"), "b": _("blocked")}
# SeatAttributes.label as a database expression, for filtering and reading labels in queries.
SEAT_LABEL = Concat(
    "section", Value(" "), "row", Value("-"), "number", output_field=models.CharField()
)


class SeatMap(models.Model):
    """A venue's seating layout, reused by its events: each event copies it into EventSeats."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="seat_maps")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="unique_seat_map_name_per_venue")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.venue.name})"


class MapSeat(SeatAttributes):
    seat_map = models.ForeignKey(SeatMap, on_delete=models.CASCADE, related_name="seats")

    class Meta:
        ordering = ["y", "x"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat_map", "section", "row", "number"], name="unique_label_per_seat_map"
            ),
            models.UniqueConstraint(fields=["seat_map", "x", "y"], name="one_seat_per_map_spot"),
        ]


class EventSeat(SeatAttributes):
    """One seat at one event. `order` is the one live order holding or owning it (none: free).

    A single column cannot name two orders, so no seat is in two live orders; a ticket's seat
    is unique among valid tickets besides (Ticket.Meta).
    """

    # A released seat kept for the people on the waitlist (ticketing.booking.releases), not an
    # organizer's block: its tier's sold_count counts it, its capacity is unchanged.
    WAITLIST_BLOCK = "Held for the waitlist"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="seats")
    tier = models.ForeignKey(TicketTier, on_delete=models.PROTECT, related_name="seats")
    order = models.ForeignKey(
        "Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="seats"
    )
    blocked = models.BooleanField(default=False)
    block_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["y", "x"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "section", "row", "number"], name="unique_seat_label_per_event"
            ),
            models.UniqueConstraint(fields=["event", "x", "y"], name="one_seat_per_event_spot"),
            models.CheckConstraint(
                condition=Q(blocked=False) | Q(order__isnull=True),
                name="blocked_seat_not_in_an_order",
            ),
        ]
        indexes = [
            # Best available walks the free seats of a tier from the best rank: an index of
            # free seats only, so a nearly sold-out tier is not a scan past every sold seat.
            models.Index(
                fields=["tier", "rank"],
                condition=Q(order__isnull=True, blocked=False),
                name="event_seat_free_by_rank",
            )
        ]


# --- After the sale: policy, refunds, transfers, seats set aside for a waitlist ------------


class EventPolicy(models.Model):
    """The organizer's rules for refunds, transfers and waitlist offers of one event.

    An event without a row gets the defaults (`policy_for`); one-to-one so events/ stays as is.
    """

    event = models.OneToOneField(
        Event, primary_key=True, on_delete=models.CASCADE, related_name="policy"
    )
    refunds_allowed = models.BooleanField(default=True)
    refund_until_hours = models.PositiveIntegerField(
        default=48, help_text=_("Attendees may refund until this many hours before the start.")
    )
    refund_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Kept per refunded ticket."),
    )
    refund_fee_fixed = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Kept per refunded ticket."),
    )
    refunds_after_entry = models.BooleanField(
        default=False,
        db_default=False,
        help_text=_("Allow refunding (or cancelling) a ticket that was already used to get in."),
    )
    transfers_allowed = models.BooleanField(default=True)
    transfer_until_hours = models.PositiveIntegerField(
        default=0, help_text=_("Transfers stop this many hours before the start.")
    )
    waitlist_offer_minutes = models.PositiveSmallIntegerField(
        default=30, help_text=_("How long a waitlist offer holds its seat.")
    )

    class Meta:
        verbose_name_plural = "event policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_fee_percent__gte=0, refund_fee_percent__lte=100),
                name="refund_fee_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(refund_fee_fixed__gte=0), name="refund_fee_fixed_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(waitlist_offer_minutes__gte=1), name="offer_minutes_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Policy of {self.event}"


class Refund(models.Model):
    """Money given back for some tickets of a paid order, sent to the processor idempotently."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # tickets void; the processor not yet confirmed
        SUCCEEDED = "succeeded", _("Refunded")

    class Reason(models.TextChoices):
        BUYER = "buyer", _("Requested by the buyer")
        ORGANIZER = "organizer", _("By the organizer")
        EVENT_CANCELLED = "event_cancelled", _("Event cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    gross = models.DecimalField(max_digits=12, decimal_places=2)
    fee = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=100)
    request_digest = models.CharField(max_length=64)
    provider_refund_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"], name="one_refund_per_idempotency_key"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0, fee__gte=0, amount=F("gross") - F("fee")),
                name="refund_amount_is_gross_less_fee",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status="pending"), name="refund_pending"
            )
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} ({self.status})"

    @property
    def provider_key(self) -> str:
        """The processor's idempotency key: one per Refund row, reused on every retry."""
        return f"bo-refund-{self.pk}"


class RefundLine(models.Model):
    """One refunded ticket. UNIQUE(ticket): no ticket is ever refunded twice."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="refund_line")
    amount = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.amount}"


class RefundJob(models.Model):
    """Refunding every order of a cancelled event; resumable, one per event."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="refund_job")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    orders_total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Refund job of {self.event} ({self.status})"


class Transfer(models.Model):
    """A ticket sent to someone else by email; accepted, it becomes a new ticket."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the recipient")
        ACCEPTED = "accepted", _("Accepted")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="transfers")
    sender = models.ForeignKey(User, on_delete=models.PROTECT, related_name="transfers_sent")
    to_email = models.EmailField()
    recipient = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_received"
    )
    new_ticket = models.OneToOneField(
        Ticket, null=True, blank=True, on_delete=models.PROTECT, related_name="transferred_from"
    )
    # SHA-256 of the link's token: a database reader cannot accept anyone's transfer.
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(status="pending"), name="one_pending_transfer"
            ),
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(status="accepted"), name="ticket_transferred_once"
            ),
        ]

    # The plain token, on the instance `ticket_transfer_send` returns only; never stored.
    token = ""

    def __str__(self) -> str:
        return f"Transfer of {self.ticket_id} to {self.to_email} ({self.status})"


class SetAside(models.Model):
    """Released seats of a tier kept off public sale for its waitlist.

    They stay counted in `TicketTier.sold_count` (so the gate, the fast path and the public
    availability all see them as taken) until a promotion turns each into an offer's hold or,
    with nobody left waiting, gives it back to public sale.
    """

    tier = models.OneToOneField(
        TicketTier, primary_key=True, on_delete=models.CASCADE, related_name="set_aside"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="set_aside_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} set aside for {self.tier_id}"

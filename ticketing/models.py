import uuid
from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from accounts.models import User
from events.models import Event, TicketTier


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

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

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="one_order_per_idempotency_key"
            ),
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
        return f"Order {str(self.id)[:8]} ({self.status})"

    @property
    def code(self) -> str:
        return str(self.id)[:8].upper()


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
        VALID = "valid", "Valid"
        VOID = "void", "Void"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="tickets")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="tickets")
    tier = models.ForeignKey(TicketTier, on_delete=models.PROTECT, related_name="tickets")
    holder = models.ForeignKey(User, on_delete=models.PROTECT, related_name="tickets")
    attendee_name = models.CharField(max_length=150)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    # Why a void ticket is void: refunded, transferred (a new ticket replaced it) or cancelled.
    # A database default too: ticketing.hotpath inserts tickets with its own column list.
    void_reason = models.CharField(max_length=12, blank=True, default="", db_default="")
    qr_payload = models.TextField()
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issued_at", "id"]
        indexes = [models.Index(fields=["holder", "status"])]

    def __str__(self) -> str:
        return f"Ticket {str(self.id)[:8]} {self.tier.name}"


class Payment(models.Model):
    """One attempt to charge an order. At most one is in flight and one succeeds per order."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # charge sent, outcome not yet known
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
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


# --- After the sale: policy, refunds, transfers, seats set aside for a waitlist (issue 6) ----


class EventPolicy(models.Model):
    """The organizer's rules for refunds, transfers and waitlist offers of one event.

    An event without a row gets the defaults (`policy_for`); one-to-one so events/ stays as is.
    """

    event = models.OneToOneField(
        Event, primary_key=True, on_delete=models.CASCADE, related_name="policy"
    )
    refunds_allowed = models.BooleanField(default=True)
    refund_until_hours = models.PositiveIntegerField(
        default=48, help_text="Attendees may refund until this many hours before the start."
    )
    refund_fee_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"), help_text="Kept per refunded ticket."
    )
    refund_fee_fixed = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), help_text="Kept per refunded ticket."
    )
    transfers_allowed = models.BooleanField(default=True)
    transfer_until_hours = models.PositiveIntegerField(
        default=0, help_text="Transfers stop this many hours before the start."
    )
    waitlist_offer_minutes = models.PositiveSmallIntegerField(
        default=30, help_text="How long a waitlist offer holds its seat."
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
        SUCCEEDED = "succeeded", "Refunded"

    class Reason(models.TextChoices):
        BUYER = "buyer", "Requested by the buyer"
        ORGANIZER = "organizer", "By the organizer"
        EVENT_CANCELLED = "event_cancelled", "Event cancelled"

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
        RUNNING = "running", "Running"
        DONE = "done", "Done"

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
        PENDING = "pending", "Waiting for the recipient"
        ACCEPTED = "accepted", "Accepted"
        CANCELLED = "cancelled", "Cancelled"

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
    token = models.CharField(max_length=64, unique=True)
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

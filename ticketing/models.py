import uuid

from django.db import models
from django.db.models import Q

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

    class VoidReason(models.TextChoices):
        REFUNDED = "refunded", "Refunded"
        TRANSFERRED = "transferred", "Transferred to someone else"
        CANCELLED = "cancelled", "Cancelled"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    # Why a void ticket is void: the door names it ("refunded" vs "transferred"). Blank while
    # valid, and for tickets voided before the reason was recorded.
    void_reason = models.CharField(max_length=12, choices=VoidReason.choices, blank=True)
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

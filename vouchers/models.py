"""Voucher codes: a discount on some tiers of one event, and the key to its hidden tiers."""

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from events.models import Event, TicketTier


class Voucher(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percentage off")
        AMOUNT = "amount", _("Amount off each ticket")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="vouchers")
    # Stored upper case without spaces (vouchers.services.code_normalise); unique per event.
    code = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    value = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), help_text=_("Percent, or money off")
    )
    # The tiers the code is good for; none means every public tier. A tier sold only with a
    # voucher (TicketTier.requires_voucher) is unlocked by the codes that name it here.
    tiers = models.ManyToManyField(TicketTier, blank=True, related_name="vouchers")
    max_uses = models.PositiveIntegerField(default=1, help_text=_("Orders that may use the code"))
    # Live uses: orders held or paid with the code. Changed only by the conditional UPDATEs
    # in vouchers.services, under the CHECK below, so the last use cannot be spent twice.
    used = models.PositiveIntegerField(default=0, editable=False)
    per_buyer_limit = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Orders one person may place with the code")
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    # Codes generated together carry their batch's name, so they can be listed and counted.
    batch = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "code"]
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="unique_voucher_code_per_event"),
            models.CheckConstraint(
                condition=Q(used__lte=F("max_uses")), name="voucher_used_le_max"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="voucher_value_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="voucher_percent_le_100"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="voucher_valid_window",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def remaining(self) -> int:
        return max(self.max_uses - self.used, 0)


class VoucherRedemption(models.Model):
    """One order's use of a code, counted in `Voucher.used` until the hold lapses or the
    order is cancelled (`released_at`); a paid order keeps it."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    # A lazy reference: ticketing imports this app (its price), never the other way round.
    order = models.OneToOneField(
        "ticketing.Order", on_delete=models.CASCADE, related_name="voucher_redemption"
    )
    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    discount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["voucher", "buyer"], condition=Q(released_at=None), name="voucher_live_use"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount__gte=0), name="voucher_discount_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.voucher.code} on {self.order_id}"

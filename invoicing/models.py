"""Receipts, invoices and credit notes.

A receipt is the paid order itself, rendered (it needs no number: the order's reference is
enough). An invoice or a credit note is a legal document: numbered without gaps per organizer
and kind, and frozen when issued (`data` holds everything it shows), so a later change to the
organizer's address or an event's title never rewrites one already sent.
"""

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization


class InvoicingSettings(models.Model):
    """An organizer's legal details; invoices are issued while `enabled`."""

    organization = models.OneToOneField(
        Organization, primary_key=True, on_delete=models.CASCADE, related_name="invoicing"
    )
    enabled = models.BooleanField(default=False)
    legal_name = models.CharField(max_length=200)
    address = models.TextField(help_text=_("Street, postcode, city, country"))
    vat_id = models.CharField(max_length=40, blank=True)
    # Ticket prices include it: an invoice shows each line's net amount and the tax in it.
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    footer = models.TextField(blank=True, help_text=_("Bank details, registry number, …"))

    class Meta:
        verbose_name_plural = "invoicing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lt=100), name="invoice_tax_rate_range"
            )
        ]

    def __str__(self) -> str:
        return f"Invoicing of {self.organization}"


class Document(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    number = models.PositiveIntegerField()
    # Lazy references: ticketing never imports this app; it listens to ticketing's signals.
    order = models.ForeignKey("ticketing.Order", on_delete=models.PROTECT, related_name="documents")
    refund = models.OneToOneField(
        "ticketing.Refund",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_note",
    )
    issued_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        ordering = ["organization", "kind", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "number"], name="document_number_unique"
            ),
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind="invoice"), name="one_invoice_per_order"
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", refund__isnull=True)
                | Q(kind="credit_note", refund__isnull=False),
                name="credit_note_has_refund",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="document_number_positive"),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        prefix = "INV" if self.kind == self.Kind.INVOICE else "CN"
        return f"{prefix}-{self.number:06d}"


class DocumentCounter(models.Model):
    """The last number given per organizer and kind; its row lock orders concurrent payments."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=Document.Kind.choices)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="one_counter_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.kind}: {self.last_number}"

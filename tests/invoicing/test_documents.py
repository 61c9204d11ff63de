"""Receipts for every paid order; invoices and credit notes when the organizer invoices."""

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import AuditEntry, User
from events.models import TicketTier
from invoicing.models import Document, InvoicingSettings
from invoicing.services import tax_split
from tests.factories import MembershipFactory, UserFactory, order_paid, order_reserved
from tests.invoicing.conftest import pdf_text
from ticketing.aftersale.refunds import order_refund
from ticketing.models import Order

pytestmark = pytest.mark.django_db


def paid(buyer: User, tier: TicketTier, quantity: int = 1) -> Order:
    """A paid order as stored (with its reference), through the real services."""
    return Order.objects.get(pk=order_paid(buyer=buyer, tier=tier, quantity=quantity).order.pk)


def test_a_paid_order_has_a_receipt_with_its_reference_tickets_and_total(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    order = paid(attendee, tier, 2)
    client.force_login(attendee)
    response = client.get(f"/orders/{order.pk}/receipt.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Receipt" in text
    assert order.code in text
    assert tier.name in text
    for ticket in order.tickets.all():
        assert ticket.code in text
    assert f"{order.total:,.2f}" in text  # English: 1,234.50 EUR
    assert not Document.objects.filter(order=order).exists()  # no invoicing: no invoice


def test_the_receipt_is_only_for_the_buyer_and_only_once_paid(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    done = paid(attendee, tier)
    pending = order_reserved(buyer=attendee, tier=tier)
    client.force_login(UserFactory.create())
    assert client.get(f"/orders/{done.pk}/receipt.pdf").status_code == 404
    client.force_login(attendee)
    assert client.get(f"/orders/{pending.pk}/receipt.pdf").status_code == 404


def test_an_invoicing_organizer_issues_an_invoice_with_legal_details_and_tax_per_line(
    client: Client, attendee: User, tier: TicketTier, invoicing: InvoicingSettings
) -> None:
    tier.price = Decimal("59.50")
    tier.save()
    order = paid(attendee, tier, 2)
    invoice = Document.objects.get(order=order, kind="invoice")
    assert invoice.number == 1 and invoice.display_number == "INV-000001"
    [line] = invoice.data["lines"]
    assert (line["gross"], line["net"], line["tax"]) == ("119.00", "100.00", "19.00")
    client.force_login(attendee)
    text = pdf_text(client.get(f"/documents/{invoice.pk}.pdf").content)
    for expected in (
        "Invoice INV-000001",
        "Kulturbühne Beispiel GmbH",
        "DE123456789",
        "Hauptstraße 1",
        "Tax 19 %",
        "100.00 EUR",
        "19.00 EUR",
        "119.00 EUR",
        order.ref,
    ):
        assert expected in text, expected


def test_a_second_paid_order_gets_the_next_number_and_other_buyers_cannot_read_it(
    client: Client, attendee: User, tier: TicketTier, invoicing: InvoicingSettings
) -> None:
    first = paid(attendee, tier)
    second = paid(UserFactory.create(), tier)
    numbers = {d.order_id: d.number for d in Document.objects.filter(order__in=[first, second])}
    assert numbers == {first.pk: 1, second.pk: 2}
    client.force_login(attendee)
    theirs = Document.objects.get(order=second)
    assert client.get(f"/documents/{theirs.pk}.pdf").status_code == 404
    # The organizer's managers may read every one.
    manager = MembershipFactory.create(organization=tier.event.organization, role="manager").user
    client.force_login(manager)
    assert client.get(f"/documents/{theirs.pk}.pdf").status_code == 200


def test_a_refund_of_an_invoiced_order_issues_a_numbered_credit_note(
    client: Client, attendee: User, tier: TicketTier, invoicing: InvoicingSettings
) -> None:
    order = paid(attendee, tier, 2)
    ticket = order.tickets.order_by("ref").first()
    assert ticket is not None
    refund = order_refund(
        actor=attendee, order_id=order.pk, idempotency_key="r1", ticket_ids=[ticket.pk]
    )
    note = Document.objects.get(refund=refund)
    assert note.kind == "credit_note" and note.display_number == "CN-000001"
    assert note.data["invoice_number"] == "INV-000001"
    assert Decimal(note.data["totals"]["gross"]) == refund.amount
    client.force_login(attendee)
    text = pdf_text(client.get(f"/documents/{note.pk}.pdf").content)
    assert "Credit note CN-000001" in text
    assert "Corrects invoice INV-000001" in text
    assert ticket.ref in text


def test_orders_paid_before_invoicing_was_on_get_no_invoice_and_no_credit_note(
    attendee: User, tier: TicketTier
) -> None:
    order = paid(attendee, tier)
    order_refund(actor=attendee, order_id=order.pk, idempotency_key="r")
    assert not Document.objects.filter(order=order).exists()


def test_tax_is_split_from_prices_that_include_it() -> None:
    assert tax_split(Decimal("119.00"), Decimal("19")) == (Decimal("100.00"), Decimal("19.00"))
    assert tax_split(Decimal("10.00"), Decimal("7")) == (Decimal("9.35"), Decimal("0.65"))
    assert tax_split(Decimal("10.00"), Decimal("0")) == (Decimal("10.00"), Decimal("0.00"))


def test_the_organizer_turns_invoicing_on_with_an_audit_entry(
    client: Client, organizer: User
) -> None:
    organization = organizer.organizations.get()
    client.force_login(organizer)
    url = f"/manage/organizations/{organization.pk}/invoicing/"
    assert client.get(url).status_code == 200
    refused = client.post(url, {"enabled": "on", "legal_name": "X GmbH", "tax_rate": "19"})
    assert refused.status_code == 422  # no address
    response = client.post(
        url,
        {"enabled": "on", "legal_name": "X GmbH", "address": "Street 1", "tax_rate": "19"},
    )
    assert response.status_code == 302
    saved = InvoicingSettings.objects.get(organization=organization)
    assert saved.enabled and saved.tax_rate == Decimal("19")
    assert AuditEntry.objects.filter(action="invoicing.settings").exists()
    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 404
    assert uuid.UUID(str(organization.pk))

"""Issue invoices and credit notes, numbered without gaps per organizer and kind.

A number is taken in the transaction that pays (or refunds) the order: one UPDATE of the
organizer's counter row, which holds that row's lock until the commit. Concurrent payments of
one organizer so take their numbers one after the other, and a transaction that rolls back
gives its number back with everything else, so numbers are never skipped and never reused.
The UNIQUE (organization, kind, number) constraint is the last guard.
"""

import time
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit_record
from core.db import prepared_cursor
from core.ids import is_uuid
from core.testswitches import switch_value
from invoicing.models import Document, DocumentCounter, InvoicingSettings
from ticketing.models import Order, Refund
from vouchers.models import VoucherRedemption

CENT = Decimal("0.01")


def _next_number(organization_id: Any, kind: str) -> int:
    """The organizer's next number of `kind`; the caller's transaction keeps the counter locked."""
    if not connection.in_atomic_block:
        raise RuntimeError("a document number is taken in the paying transaction")
    between_read_and_write = switch_value("invoice_counter_unlocked")
    if between_read_and_write:
        # Test-only negative control: read without a lock, pause, then write. A callable value
        # is the control's own pause (a barrier, so every payer reads before anyone writes).
        counter, _ = DocumentCounter.objects.get_or_create(
            organization_id=organization_id, kind=kind
        )
        if callable(between_read_and_write):
            between_read_and_write(counter.last_number)
        else:
            time.sleep(0.05)
        DocumentCounter.objects.filter(pk=counter.pk).update(last_number=counter.last_number + 1)
        return counter.last_number + 1
    with connection.cursor() as cursor:
        # The first document of a kind makes the row; a concurrent maker waits, then skips.
        cursor.execute(
            "INSERT INTO invoicing_documentcounter (organization_id, kind, last_number)"
            " VALUES (%s, %s, 0) ON CONFLICT (organization_id, kind) DO NOTHING",
            [organization_id, kind],
        )
        cursor.execute(
            "UPDATE invoicing_documentcounter SET last_number = last_number + 1"
            " WHERE organization_id = %s AND kind = %s RETURNING last_number",
            [organization_id, kind],
        )
        return int(cursor.fetchone()[0])


def tax_split(gross: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(net, tax) of a gross amount whose price includes `rate` percent tax."""
    net = (gross * Decimal(100) / (Decimal(100) + rate)).quantize(CENT)
    return net, gross - net


def _line(description: str, quantity: int, unit_price: Decimal, rate: Decimal) -> dict[str, Any]:
    gross = unit_price * quantity
    net, tax = tax_split(gross, rate)
    return {
        "description": description,
        "quantity": quantity,
        "unit_price": str(unit_price),
        "net": str(net),
        "tax": str(tax),
        "gross": str(gross),
    }


def _totals(lines: list[dict[str, Any]]) -> dict[str, str]:
    return {
        key: str(sum((Decimal(line[key]) for line in lines), Decimal("0")))
        for key in ("net", "tax", "gross")
    }


def _header(order: Order, seller: InvoicingSettings) -> dict[str, Any]:
    event = order.event
    return {
        "seller": {
            "legal_name": seller.legal_name,
            "address": seller.address,
            "vat_id": seller.vat_id,
            "footer": seller.footer,
        },
        "buyer": {"name": order.buyer.display_name, "email": order.buyer.email},
        "order": {"id": str(order.pk), "ref": order.ref},
        "event": {
            "title": event.title,
            "starts_at": event.starts_at.isoformat(),
            "time_zone": event.time_zone,
            "venue": f"{event.venue.name}, {event.venue.city}",
        },
        "currency": order.currency,
        "tax_rate": str(seller.tax_rate),
    }


def _invoices(organization_id: Any) -> bool:
    with prepared_cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM invoicing_invoicingsettings WHERE organization_id = %s AND enabled",
            [organization_id],
        )
        return cursor.fetchone() is not None


def invoice_issue(*, order_id: Any, organization_id: Any = None) -> Document | None:
    """The paid order's invoice, numbered now, if its organizer invoices; in the paying
    transaction (safe to call again: the order's invoice is returned). `organization_id`, the
    order's event's organizer when the caller knows it, saves the joins."""
    # One query on the rush's paying path when the organizer does not invoice: plain SQL when
    # the organization is known (the ORM's filter().first() costs ~0.5 ms of CPU; this ~0.07).
    if organization_id is not None and not _invoices(organization_id):
        return None
    seller = InvoicingSettings.objects.filter(
        enabled=True, organization__events__orders=order_id
    ).first()
    if seller is None:
        return None
    order = Order.objects.select_related("event__venue", "buyer").get(pk=order_id)
    existing = Document.objects.filter(order=order, kind=Document.Kind.INVOICE).first()
    if existing is not None:
        return existing
    rate = seller.tax_rate
    lines = [
        _line(f"{order.event.title} – {line.tier.name}", line.quantity, line.unit_price, rate)
        for line in order.lines.select_related("tier").order_by("tier__position", "tier__name")
    ]
    data = _header(order, seller) | {"lines": lines, "totals": _totals(lines)}
    redemption = (
        VoucherRedemption.objects.filter(order=order, released_at=None)
        .select_related("voucher")
        .first()
    )
    if redemption is not None:
        data["voucher"] = {"code": redemption.voucher.code, "discount": str(redemption.discount)}
    now = timezone.now()
    data["paid_at"] = (order.paid_at or now).isoformat()
    return Document.objects.create(
        organization_id=order.event.organization_id,
        kind=Document.Kind.INVOICE,
        number=_next_number(order.event.organization_id, Document.Kind.INVOICE),
        order=order,
        issued_at=now,
        data=data,
    )


def credit_note_issue(*, refund_id: Any) -> Document | None:
    """The credit note of a completed refund of an invoiced order; in the refund's transaction
    (safe to call again). Orders paid without an invoice need none: their receipt shows it."""
    refund = (
        Refund.objects.select_related("order__event__venue", "order__buyer")
        .filter(pk=refund_id)
        .first()
        if is_uuid(str(refund_id))
        else None
    )
    if refund is None:  # a processor's refund that has no row of ours: nothing to credit
        return None
    order = refund.order
    invoice = Document.objects.filter(order=order, kind=Document.Kind.INVOICE).first()
    if invoice is None:
        return None
    existing = Document.objects.filter(refund=refund).first()
    if existing is not None:
        return existing
    seller = InvoicingSettings.objects.filter(organization_id=invoice.organization_id).first()
    rate = Decimal(invoice.data["tax_rate"])
    lines = [
        _line(
            f"{order.event.title} – {rl.ticket.tier.name} ({rl.ticket.ref})",
            1,
            rl.amount,
            rate,
        )
        for rl in refund.lines.select_related("ticket__tier").order_by("ticket__ref")
    ]
    if refund.fee:
        lines.append(_line("Refund fee kept", 1, -refund.fee, rate))
    header = _header(order, seller) if seller is not None else dict(invoice.data)
    header["tax_rate"] = invoice.data["tax_rate"]  # the rate of the invoice it corrects
    data = header | {
        "lines": lines,
        "totals": _totals(lines),
        "invoice_number": invoice.display_number,
        "refund": {"id": str(refund.pk), "reason": refund.reason},
    }
    return Document.objects.create(
        organization_id=invoice.organization_id,
        kind=Document.Kind.CREDIT_NOTE,
        number=_next_number(invoice.organization_id, Document.Kind.CREDIT_NOTE),
        order=order,
        refund=refund,
        issued_at=timezone.now(),
        data=data,
    )


@transaction.atomic(durable=True)
def invoicing_settings_save(
    *, actor: User, organization: Organization, values: dict[str, Any]
) -> InvoicingSettings:
    """Store the organizer's legal details; invoices follow for orders paid from now on."""
    current, _ = InvoicingSettings.objects.get_or_create(
        organization=organization,
        defaults={"legal_name": organization.name, "address": ""},
    )
    changes = {k: str(v) for k, v in values.items() if getattr(current, k) != v}
    for key, value in values.items():
        setattr(current, key, value)
    current.save()
    audit_record(
        actor=actor,
        action="invoicing.settings",
        target=organization,
        organization=organization,
        changes=changes,
    )
    return current

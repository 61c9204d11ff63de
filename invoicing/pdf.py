"""PDFs of receipts, invoices and credit notes (WeasyPrint), in the reader's language."""

import zoneinfo
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.dateparse import parse_datetime
from weasyprint import HTML

from invoicing.models import Document
from ticketing.models import Order
from vouchers.models import VoucherRedemption


def _pdf(template: str, context: dict[str, Any], language: str) -> bytes:
    with translation.override(language):
        html = render_to_string(template, context | {"language": language})
    return bytes(HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf())


def _local(moment: str | datetime, time_zone: str) -> datetime:
    value = parse_datetime(moment) if isinstance(moment, str) else moment
    if value is None:
        raise ValueError(f"not a date: {moment!r}")
    return value.astimezone(zoneinfo.ZoneInfo(time_zone))


def receipt_pdf(order: Order, *, language: str) -> bytes:
    """The receipt of a paid order: what was bought, for whom, what was paid and refunded."""
    event = order.event
    redemption = (
        VoucherRedemption.objects.filter(order=order, released_at=None)
        .select_related("voucher")
        .first()
    )
    refunds = [r for r in order.refunds.all() if r.status == "succeeded"]
    context = {
        "order": order,
        "event": event,
        "starts_local": _local(event.starts_at, event.time_zone),
        "paid_local": _local(order.paid_at, event.time_zone) if order.paid_at else None,
        "lines": [
            {
                "tier": line.tier.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "amount": line.unit_price * line.quantity,
            }
            for line in order.lines.select_related("tier").order_by("tier__position")
        ],
        "tickets": list(order.tickets.select_related("tier", "seat").order_by("ref")),
        "voucher": redemption,
        "refunds": refunds,
        "refunded": sum((r.amount for r in refunds), Decimal("0")),
    }
    return _pdf("invoicing/receipt.html", context, language)


def document_pdf(document: Document, *, language: str) -> bytes:
    """An invoice or credit note, from what was frozen into it when it was issued."""
    data = document.data
    context = {
        "document": document,
        "data": data,
        "issued_local": _local(document.issued_at, data["event"]["time_zone"]),
        "starts_local": _local(data["event"]["starts_at"], data["event"]["time_zone"]),
        "lines": [
            line | {k: Decimal(line[k]) for k in ("unit_price", "net", "tax", "gross")}
            for line in data["lines"]
        ],
        "totals": {k: Decimal(v) for k, v in data["totals"].items()},
        "tax_rate": Decimal(data["tax_rate"]),
    }
    return _pdf("invoicing/document.html", context, language)

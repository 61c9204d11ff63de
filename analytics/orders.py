"""An order's whole story for its organizer: created, paid, emails, refunds, transfers, scans."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from accounts.selectors import organizations_managed_by
from checkin.models import Scan
from core.money import format_money
from notifications.models import Delivery
from ticketing.models import Order, Payment, Refund, Transfer


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: str  # order, payment, email, refund, transfer, scan: one icon/colour per kind
    text: str


def order_managed_by(user: User, order_id: Any) -> Order:
    """An order of an event `user` manages; anything else is a 404."""
    try:
        return (
            Order.objects.select_related("buyer", "event")
            .prefetch_related("lines__tier", "tickets__tier")
            .get(pk=order_id, event__organization__in=organizations_managed_by(user))
        )
    except (Order.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such order") from exc


def order_timeline(order: Order) -> list[Moment]:
    """Everything that happened to `order`, oldest first (six queries)."""
    total = format_money(order.total, order.currency)
    moments = [Moment(order.created_at, "order", _("Order placed (%(total)s)") % {"total": total})]
    for payment in Payment.objects.filter(order=order).order_by("created_at"):
        outcome = payment.get_status_display().lower()
        detail = f" ({payment.failure_code})" if payment.failure_code else ""
        moments.append(
            Moment(
                payment.created_at,
                "payment",
                _("Payment %(outcome)s%(detail)s: %(amount)s")
                % {
                    "outcome": outcome,
                    "detail": detail,
                    "amount": format_money(payment.amount, order.currency),
                },
            )
        )
    if order.paid_at:
        moments.append(Moment(order.paid_at, "payment", _("Paid; tickets issued")))
    if order.status in (Order.Status.EXPIRED, Order.Status.CANCELLED) and not order.paid_at:
        moments.append(
            Moment(
                order.expires_at,
                "order",
                _("Hold %(status)s") % {"status": order.get_status_display().lower()},
            )
        )
    # By recipient first (an indexed column), then the message's order id.
    deliveries = Delivery.objects.filter(
        user=order.buyer, channel="email", message__data__order_id=str(order.pk)
    ).select_related("message")
    for delivery in deliveries:
        topic = delivery.message.topic.replace(".", " ")
        named = {"topic": topic}
        moments.append(Moment(delivery.created_at, "email", _("Email “%(topic)s” queued") % named))
        if delivery.sent_at:
            delivered = _("Email “%(topic)s” delivered to the mail server") % named
            moments.append(Moment(delivery.sent_at, "email", delivered))
        elif delivery.status == "failed":
            failed = _("Email “%(topic)s” failed") % named
            moments.append(Moment(delivery.created_at, "email", failed))
        elif delivery.status == "skipped":
            skipped = _("Email “%(topic)s” not sent: %(reason)s") % {
                **named,
                "reason": delivery.last_error or _("skipped"),
            }
            moments.append(Moment(delivery.created_at, "email", skipped))
    for refund in Refund.objects.filter(order=order).prefetch_related("lines"):
        tickets = len(refund.lines.all())
        moments.append(
            Moment(
                refund.created_at,
                "refund",
                ngettext(
                    "Refund of %(count)d ticket: %(amount)s (%(reason)s)",
                    "Refund of %(count)d tickets: %(amount)s (%(reason)s)",
                    tickets,
                )
                % {
                    "count": tickets,
                    "amount": format_money(refund.amount, refund.currency),
                    "reason": refund.get_reason_display().lower(),
                },
            )
        )
        if refund.refunded_at:
            moments.append(
                Moment(refund.refunded_at, "refund", _("Refund confirmed by the processor"))
            )
    for transfer in Transfer.objects.filter(ticket__order=order):
        moments.append(
            Moment(
                transfer.created_at,
                "transfer",
                _("Ticket sent to %(email)s") % {"email": transfer.to_email},
            )
        )
        if transfer.decided_at:
            moments.append(
                Moment(
                    transfer.decided_at,
                    "transfer",
                    _("Transfer %(status)s") % {"status": transfer.get_status_display().lower()},
                )
            )
    ticket_ids = [t.pk for t in order.tickets.all()]
    for scan in Scan.objects.filter(ticket_id__in=ticket_ids).order_by("scanned_at"):
        moments.append(
            Moment(
                scan.scanned_at,
                "scan",
                _("Scanned: %(result)s (%(reason)s)")
                % {"result": scan.get_result_display(), "reason": scan.reason},
            )
        )
    return sorted(moments, key=lambda m: m.at)

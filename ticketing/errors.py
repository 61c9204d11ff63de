from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class SoldOut(DomainError):
    code = "SOLD_OUT"
    status = 409
    message = _("Sorry, these tickets just sold out.")
    # Where a buyer turned away can queue instead: set by the API for its answer.
    waitlist: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        if self.waitlist is not None:
            body["error"]["waitlist"] = self.waitlist
        return body

    def with_waitlist(self, event_id: Any) -> "SoldOut":
        """This answer, naming the event's waitlist: its page and the API call that joins it.

        The waitlist app owns those URLs; they are part of the public API, so they are stable.
        """
        self.waitlist = {
            "url": f"/events/{event_id}/waitlist",
            "join": f"/api/v1/events/{event_id}/waitlist",
        }
        return self


class QuantityLimit(DomainError):
    code = "QUANTITY_LIMIT"
    status = 422
    message = _("That quantity is not allowed.")


class SalesClosed(DomainError):
    code = "SALES_CLOSED"
    status = 409
    message = _("Tickets are not on sale right now.")


class UnknownTier(DomainError):
    code = "UNKNOWN_TIER"
    status = 422
    message = _("That ticket tier does not exist for this event.")


class HoldExpired(DomainError):
    """The hold ran out before payment. `details.rereserved` says whether we could hold the
    same tickets again (with a new `expires_at`), so paying again may just work."""

    code = "HOLD_EXPIRED"
    status = 409
    message = _("Your reservation expired before payment.")


class OrderNotPayable(DomainError):
    code = "ORDER_NOT_PAYABLE"
    status = 409
    message = _("This order cannot be paid.")


class PaymentDeclined(DomainError):
    code = "PAYMENT_DECLINED"
    status = 402
    message = _("Your payment was declined; your tickets were released.")


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422
    message = _("This idempotency key was already used for a different request.")


class IdempotencyKeyInvalid(DomainError):
    code = "IDEMPOTENCY_KEY_INVALID"
    status = 422
    message = _("An idempotency_key of 1 to 100 characters is required.")


class PaymentInProgress(DomainError):
    code = "PAYMENT_IN_PROGRESS"
    status = 409
    message = _("A payment for this order is already being processed.")
    retry_after = 2


class PaymentPending(DomainError):
    code = "PAYMENT_PENDING"
    status = 409
    message = _(
        "The payment processor did not answer in time. If the charge went through you will "
        "get your tickets, or your money back, automatically; retry with the same key to see."
    )
    retry_after = 10


class SeatTaken(DomainError):
    """Some chosen seats went to someone else; `details.taken` lists them (ids and labels)
    so a page can keep the rest of the selection."""

    code = "SEAT_TAKEN"
    status = 409
    message = _("Someone just took one of your seats.")


class UnknownSeat(DomainError):
    code = "UNKNOWN_SEAT"
    status = 422
    message = _("That seat does not exist for this event.")


class SeatLayoutInvalid(DomainError):
    code = "SEAT_LAYOUT_INVALID"
    status = 422
    message = _("The seat layout is not valid.")


# --- After the sale -------------------------------------------------------------------------


class RefundsNotAllowed(DomainError):
    code = "REFUNDS_NOT_ALLOWED"
    status = 409
    message = _("The organizer does not allow refunds for this event.")


class RefundWindowClosed(DomainError):
    code = "REFUND_WINDOW_CLOSED"
    status = 409
    message = _("Refunds for this event have closed.")


class OrderNotRefundable(DomainError):
    code = "ORDER_NOT_REFUNDABLE"
    status = 409
    message = _("Only paid orders can be refunded.")


class TicketNotRefundable(DomainError):
    code = "TICKET_NOT_REFUNDABLE"
    status = 422
    message = _("Some of those tickets are not valid tickets of this order.")


class TransfersNotAllowed(DomainError):
    code = "TRANSFERS_NOT_ALLOWED"
    status = 409
    message = _("The organizer does not allow ticket transfers for this event.")


class TransferWindowClosed(DomainError):
    code = "TRANSFER_WINDOW_CLOSED"
    status = 409
    message = _("Transfers for this event have closed.")


class TicketNotTransferable(DomainError):
    code = "TICKET_NOT_TRANSFERABLE"
    status = 409
    message = _("This ticket cannot be transferred.")


class TransferNotOpen(DomainError):
    code = "TRANSFER_NOT_OPEN"
    status = 409
    message = _("This transfer was already accepted or cancelled.")


class TicketAlreadyUsed(DomainError):
    code = "TICKET_ALREADY_USED"
    status = 409
    message = _("This ticket was already used to get in, so it cannot be transferred or refunded.")


class TicketStateConflict(DomainError):
    code = "TICKET_STATE_CONFLICT"
    status = 409
    message = _("This ticket cannot change that way any more.")


class OrderNotPaid(DomainError):
    code = "ORDER_NOT_PAID"
    status = 409
    message = _("Only the answers of a paid order's tickets can be changed.")

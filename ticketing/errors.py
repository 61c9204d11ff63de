from config.errors import DomainError


class SoldOut(DomainError):
    code = "SOLD_OUT"
    status = 409
    message = "Sorry, these tickets just sold out."


class QuantityLimit(DomainError):
    code = "QUANTITY_LIMIT"
    status = 422
    message = "That quantity is not allowed."


class SalesClosed(DomainError):
    code = "SALES_CLOSED"
    status = 409
    message = "Tickets are not on sale right now."


class UnknownTier(DomainError):
    code = "UNKNOWN_TIER"
    status = 422
    message = "That ticket tier does not exist for this event."


class HoldExpired(DomainError):
    code = "HOLD_EXPIRED"
    status = 409
    message = "Your reservation expired before payment; please book again."


class OrderNotPayable(DomainError):
    code = "ORDER_NOT_PAYABLE"
    status = 409
    message = "This order cannot be paid."


class PaymentDeclined(DomainError):
    code = "PAYMENT_DECLINED"
    status = 402
    message = "Your payment was declined; your tickets were released."


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422
    message = "This idempotency key was already used for a different request."

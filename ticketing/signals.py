"""What ticketing announces; notifications and analytics listen."""

from django.dispatch import Signal

# sender=Order class, order_id=UUID. Sent inside the payment's transaction: a listener must stay
# cheap (notifications writes one outbox row) and must not send anything itself.
order_confirmed = Signal()

# Send INSIDE the refund's transaction (notifications writes its outbox row there).
# sender=Order class, order_id=UUID, amount=Decimal, currency=str, refund_id=unique per refund
order_refunded = Signal()

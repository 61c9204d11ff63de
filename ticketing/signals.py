"""What ticketing announces; notifications and analytics listen."""

from django.dispatch import Signal

# sender=Order class, order_id=UUID. Sent inside the payment's transaction: a listener must stay
# cheap (notifications writes one outbox row) and must not send anything itself. The rush path
# also passes what it already read, so a listener need not read the order again: buyer_id,
# organization_id (the event's), total (Decimal), currency; a listener falls back to the order
# when they are absent.
order_confirmed = Signal()

# --- After the sale ---------------------------------------------------------------------------
# After commit. sender=SetAside class, event_id=UUID, tier_ids=list[str]: released seats were
# set aside for the waitlist; waitlist promotes them.
seats_set_aside = Signal()
# Sent INSIDE the refund's transaction (notifications writes its outbox row there):
# sender=Order class, order_id=UUID, amount=Decimal, currency=str, refund_id=unique per refund.
order_refunded = Signal()
# The next three are sent INSIDE their transaction, so a listener's outbox row commits with them.
# sender=Transfer class, transfer_id=UUID, token=str: a holder sent a ticket to an email
# address. `token` is the link's plain secret, which exists nowhere else (only its hash is stored).
transfer_sent = Signal()
# sender=Transfer class, transfer_id=UUID: the recipient accepted; the old ticket is void.
ticket_transferred = Signal()
# sender=RefundJob class, job_id=int, event_id=UUID: every order of a cancelled event refunded.
event_cancelled_refunds_done = Signal()

# --- Sent by the organizer's tools --------------------------------------------------------------
# Both are sent INSIDE the organizer's transaction (with its audit entry), so the outbox rows
# commit with it. They have topics of their own: re-announcing `order_confirmed` would fire the
# organization's webhooks again for orders nothing happened to.
# sender=Event class, event_id=UUID, organization_id=UUID, user_ids=list of holders,
# subject=str, body=str, batch_key=str (the same batch recorded twice is one message each).
holders_messaged = Signal()
# sender=Ticket class, event_id=UUID, organization_id=UUID, batch_key=str,
# resends=list of (holder id, order id, [ticket ids]): send these tickets to their holder again.
tickets_resend_requested = Signal()

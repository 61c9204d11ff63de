"""What ticketing announces. Sent after commit; notifications and analytics listen."""

from django.dispatch import Signal

# sender=Order class, order_id=UUID
order_confirmed = Signal()

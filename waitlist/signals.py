"""What the waitlist announces, after commit; notifications listen."""

from django.dispatch import Signal

# sender=Offer class, offer_id=UUID: a seat is held for the person at the head of a line.
offer_made = Signal()

"""What the waitlist announces, inside its transaction (a listener writes its outbox row there)."""

from django.dispatch import Signal

# sender=Offer class, offer_id=UUID: a seat is held for the person at the head of a line.
offer_made = Signal()

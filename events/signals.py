"""What events announces, after commit. Ticketing (the admission gate) and waitlists listen."""

from django.dispatch import Signal

# sender=Event class, event_id=UUID: tier capacities or prices were changed
tiers_changed = Signal()

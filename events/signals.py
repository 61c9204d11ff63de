"""What events announces. Ticketing (the admission gate), waitlists and notifications listen."""

from django.dispatch import Signal

# sender=Event class, event_id=UUID: tier capacities or prices were changed
tiers_changed = Signal()

# Sent INSIDE the service's transaction, so a listener's outbox row commits with the change.
# sender=Event class, event_id=UUID, organization_id=UUID,
# changes={"starts_at"|"ends_at"|"venue"|"session"|...: [old, new]} (datetimes as ISO strings)
event_changed = Signal()

# Sent before a page or the API shows an event's availability. sender=Event class,
# event_id=UUID. A receiver returns True if it changed availability (ticketing releases holds
# that lapsed before the beat job got to them); see `event_availability_refresh`.
event_availability_read = Signal()

# Sent INSIDE the cancelling transaction. sender=Event class, event_id=UUID, organization_id=UUID,
# actor_id=the user who cancelled. Notifications tells the holders; ticketing refunds everyone.
event_cancelled = Signal()

# Sent INSIDE the agenda's transaction when a session's time or room changes.
# sender=Session class, session_id, event_id, organization_id, title=str,
# changes={"starts_at"|"ends_at"|"room": [old, new]} (datetimes as ISO strings)
session_changed = Signal()

"""What checkin announces. Notifications listens (organizer webhooks)."""

from django.dispatch import Signal

# Sent right after an admission commits (the scan is one autocommit statement, kept lean for
# the door): sender=Scan class, ticket_id=UUID, event_id=UUID, scan_id=UUID, scanned_at=datetime
ticket_admitted = Signal()

"""What accounts announces; apps above it listen (accounts imports none of them)."""

from django.dispatch import Signal

# An account's sign-ins are paused after too many wrong passwords: its owner is to get the
# link that unlocks it. Sent with `user_id`.
signin_paused = Signal()

# An organization's logo was replaced, removed, or its sizes were made: public pages that show it
# are to be drawn again. Sent after commit with `organization_id`.
organization_logo_changed = Signal()

"""What accounts announces; apps above it listen (accounts imports none of them)."""

from django.dispatch import Signal

# An account's sign-ins are paused after too many wrong passwords: its owner is to get the
# link that unlocks it. Sent with `user_id`.
signin_paused = Signal()

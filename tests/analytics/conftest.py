# The API fixtures (tokens for an organizer, an attendee, nobody) are shared with tests/api.
from tests.api.conftest import anonymous, as_attendee, as_organizer

__all__ = ["anonymous", "as_attendee", "as_organizer"]

import pytest

from accounts.models import User
from checkin.models import CheckinList
from checkin.services import checkin_list_default
from events.models import Event, TicketTier
from tests.factories import order_paid
from ticketing.models import Ticket


@pytest.fixture
def ticket(attendee: User, tier: TicketTier) -> Ticket:
    """A paid, valid ticket of `tier` held by `attendee`."""
    return order_paid(buyer=attendee, tier=tier).tickets[0]


@pytest.fixture
def gate(event: Event) -> CheckinList:
    """The event's default check-in list."""
    return checkin_list_default(event)

from tests.notifications.test_confirmation_email import smtp_server
from tests.waitlist.worker import own_broker

__all__ = ["own_broker", "smtp_server"]  # fixtures

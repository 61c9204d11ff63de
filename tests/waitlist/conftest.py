from tests.notifications.conftest import smtp_server
from tests.waitlist.worker import own_broker

__all__ = ["own_broker", "smtp_server"]  # fixtures

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from accounts.models import User
from accounts.services import api_token_issue
from events.models import Event, TicketTier
from tests.factories import PASSWORD, TicketTierFactory, UserFactory
from tests.ops.servers import collect_static


@dataclass
class Buyer:
    email: str
    token: str
    tier: TicketTier

    @property
    def event(self) -> Event:
        return self.tier.event

    def headers(self, request_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if request_id:
            headers["X-Request-ID"] = request_id
        return headers


@pytest.fixture
def buyer(transactional_db: None) -> Buyer:
    """A signed-up buyer with an API token and a tier on sale, committed for other processes."""
    user, tier = _user(), _tier()
    return Buyer(
        email=user.email,
        token=api_token_issue(email=user.email, password=PASSWORD),
        tier=tier,
    )


def _user() -> User:
    return UserFactory()


def _tier() -> TicketTier:
    return TicketTierFactory(capacity=50)


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Static files as `make run` and the image build collect them (once per change)."""
    from django.conf import settings

    collect_static({"DJANGO_SETTINGS_MODULE": "config.settings", **_env_for_collect()})
    yield Path(settings.STATIC_ROOT)


def _env_for_collect() -> dict[str, str]:
    import os
    import secrets

    env = dict(os.environ)
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    return env


# The notifications suite's real collaborators: an SMTP sink, a private broker, Celery workers.
from tests.notifications.conftest import (  # noqa: E402
    _broker_breaker_closed,  # noqa: F401
    private_broker,  # noqa: F401
    smtp_server,  # noqa: F401
    start_worker,  # noqa: F401
)

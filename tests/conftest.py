from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache, caches
from django.test.utils import override_settings
from django.utils import translation

from accounts.models import Membership, User
from accounts.services import token_lookups
from config.celery import app as celery_app
from events.models import Event, TicketTier
from notifications.services import relay_schedule
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, UserFactory
from ticketing.booking import gate as admission_gate


@pytest.fixture(autouse=True, scope="session")
def _celery_tasks_registered() -> None:
    """Register every app's tasks, as a worker does at start: services publish tasks by name,
    and only a registered task runs inline; an unknown name would go to the broker instead."""
    celery_app.loader.import_default_modules()


@pytest.fixture(autouse=True, scope="session")
def _redis_patience_of_a_shared_machine() -> Iterator[None]:
    """The test processes' own Redis client waits up to a second, not production's 50 ms.

    Production gives up on Redis after tens of milliseconds and books through PostgreSQL alone
    (the gate steps aside, a counter reads as absent). Here two test processes, the servers they
    start and Redis share two cores, where a 50 ms stall is ordinary: a test about the gate's
    count would see the gate step aside by accident. Tests of a frozen Redis set their own
    timeouts; servers a test starts keep production's.
    """
    default = django_settings.CACHES["default"]
    patient = {**default["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 1.0, "SOCKET_TIMEOUT": 1.0}
    with override_settings(
        CACHES={**django_settings.CACHES, "default": {**default, "OPTIONS": patient}}
    ):
        yield


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, request) -> Iterator[None]:
    """Fast password hashing; Celery tasks run inline unless a test starts a real worker."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    eager = "real_celery" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    celery_app.conf.task_eager_propagates = eager
    relay_schedule.forget()  # a relay published in an earlier test went to its (purged) broker
    token_lookups.clear()  # an earlier test's token lookups, whose rows were rolled back
    admission_gate.failure_forget()  # an earlier test's Redis timeout switched the gate off
    # Rendered page chrome, kept per process. Emptied before the test: some tests replace
    # CACHES and are still replacing it when this fixture ends.
    caches["fragments"].clear()
    # A request in German leaves its thread in German (LocaleMiddleware does not switch back),
    # and a domain error raised outside a request speaks the thread's language.
    translation.deactivate()
    yield
    celery_app.conf.task_always_eager = previous
    cache.delete_pattern("*")  # type: ignore[attr-defined]  # only this prefix: a `make run` may share the server


@pytest.fixture
def attendee(db) -> User:
    return UserFactory()


@pytest.fixture
def organizer(db) -> User:
    return MembershipFactory(role=Membership.Role.OWNER).user


@pytest.fixture
def event(organizer: User) -> Event:
    return EventFactory(organization=organizer.organizations.get())


@pytest.fixture
def tier(event: Event) -> TicketTier:
    return TicketTierFactory(event=event)


@pytest.fixture
def door_staff(event: Event) -> User:
    return MembershipFactory(organization=event.organization, role=Membership.Role.DOOR).user

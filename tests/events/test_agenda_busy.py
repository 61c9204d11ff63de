"""A session someone else is changing: the agenda waits at most its lock timeout, then answers
BUSY (503, Retry-After) instead of hanging or failing with a 500. The lock is real: another
database connection holds the session's row."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from accounts.services import api_token_issue
from core.errors import Busy
from events import agenda
from events.models import Event, Session, SessionStar
from tests.events.helpers import holder_of, make_event
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def row_locked_elsewhere(session: Session) -> Iterator[None]:
    """Hold FOR UPDATE on the session's row from a second connection until the block ends."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=False,
    ) as other:
        other.execute("SET lock_timeout = '10s'")
        other.execute("SELECT id FROM events_session WHERE id = %s FOR UPDATE", [session.pk])
        try:
            yield
        finally:
            other.rollback()


@pytest.fixture
def limited_session(organizer: User) -> Session:
    event = make_event("LockConf", organization=organizer.organizations.get(), hours=5)
    return agenda.session_save(
        actor=organizer,
        event=event,
        title="Workshop",
        starts_at=event.starts_at,
        ends_at=event.starts_at + timedelta(hours=1),
        capacity=5,
    ).session


def test_starring_a_locked_session_over_the_api_is_503_busy_with_retry_after(
    client: Client, limited_session: Session
) -> None:
    fan = UserFactory.create()
    holder_of(limited_session.event, fan)
    token = api_token_issue(email=fan.email, password=PASSWORD)

    with row_locked_elsewhere(limited_session):
        response = client.post(
            f"/api/v1/sessions/{limited_session.pk}/star", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "BUSY"
    assert int(response["Retry-After"]) >= 1
    limited_session.refresh_from_db()
    assert limited_session.seats_taken == 0
    assert not SessionStar.objects.exists()


def test_editing_a_locked_session_is_busy_and_changes_nothing(
    organizer: User, limited_session: Session
) -> None:
    event: Event = limited_session.event
    with row_locked_elsewhere(limited_session), pytest.raises(Busy):
        agenda.session_save(
            actor=organizer,
            event=event,
            session_id=limited_session.pk,
            title="Moved workshop",
            starts_at=event.starts_at + timedelta(hours=2),
            ends_at=event.starts_at + timedelta(hours=3),
        )

    limited_session.refresh_from_db()
    assert limited_session.title == "Workshop"
    assert limited_session.starts_at == event.starts_at


def test_once_the_lock_is_gone_the_same_star_succeeds(
    client: Client, limited_session: Session
) -> None:
    fan = UserFactory.create()
    holder_of(limited_session.event, fan)
    token = api_token_issue(email=fan.email, password=PASSWORD)
    with row_locked_elsewhere(limited_session):
        pass

    response = client.post(
        f"/api/v1/sessions/{limited_session.pk}/star", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 200, response.content

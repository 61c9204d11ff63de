"""`core.rows.RowSelect` reads what the ORM's `select_related` reads, as one plain statement."""

from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.selectors import organizations_managed_by, organizations_managed_by_sql
from core.rows import RowSelect
from events.models import Event
from events.selectors import event_managed_by
from tests.factories import EventFactory, MembershipFactory

pytestmark = pytest.mark.django_db

EVENTS = RowSelect(Event, ("venue", "organization", "category"))


def _fields(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_a_row_and_its_related_rows_equal_the_orms_with_no_further_query() -> None:
    event = EventFactory.create(
        translations={"de": {"title": "Hafenlichter"}}, cover_variants={"w": 1}
    )
    orm = Event.objects.select_related("venue", "organization", "category").get(pk=event.pk)

    with CaptureQueriesContext(connection) as queries:
        found = EVENTS.one(f"{EVENTS.column('id')} = %s", [event.pk])
        assert found is not None
        related = (found.venue, found.organization, found.category)

    assert len(queries) == 1
    assert _fields(found) == _fields(orm)
    assert found.translations == {"de": {"title": "Hafenlichter"}}  # JSON decoded, not text
    for mine, theirs in zip(related, (orm.venue, orm.organization, orm.category), strict=True):
        assert _fields(mine) == _fields(theirs)
    assert found._state.adding is False and found._state.db == "default"


def test_an_empty_nullable_relation_is_none_and_no_match_is_none() -> None:
    event = EventFactory.create(category=None)

    with CaptureQueriesContext(connection) as queries:
        found = EVENTS.one(f"{EVENTS.column('id')} = %s", [event.pk])
        assert found is not None
        assert found.category is None

    assert len(queries) == 1
    assert EVENTS.one(f"{EVENTS.column('slug')} = %s", ["no-such-event"]) is None


def test_an_event_is_one_statement_for_its_managers_and_a_404_for_anyone_else(
    organizer: User, event: Event, door_staff: User, attendee: User
) -> None:
    with CaptureQueriesContext(connection) as queries:
        found = event_managed_by(organizer, str(event.pk), with_tiers=False)
        assert found.venue.name and found.organization.name

    assert len(queries) == 1
    assert found.pk == event.pk
    manager = MembershipFactory.create(organization=event.organization, role="manager").user
    assert event_managed_by(manager, event.pk).pk == event.pk
    for outsider in (door_staff, attendee):  # door staff scan; they do not manage
        with pytest.raises(Http404):
            event_managed_by(outsider, event.pk)
    for malformed in ("not-a-uuid", "", None, 12):
        with pytest.raises(Http404):
            event_managed_by(organizer, malformed)


def test_the_managed_organizations_are_the_same_in_sql_as_in_the_orm(organizer: User) -> None:
    for role in ("owner", "manager", "door", "manager"):
        MembershipFactory.create(user=organizer, role=role)
    MembershipFactory.create(role="owner")  # someone else's

    subquery, params = organizations_managed_by_sql(organizer)
    with connection.cursor() as cursor:
        cursor.execute(subquery, params)
        in_sql = {row[0] for row in cursor.fetchall()}

    in_orm = set(organizations_managed_by(organizer).values_list("pk", flat=True))
    assert in_sql == in_orm
    assert len(in_orm) == 4  # their first and three more they own or manage; not the door one

"""The page chrome (navigation, role bar, event tabs) is rendered once per process for each
`{% cache %}` key: each visitor still sees their own roles, their own sign-out token and the
tabs of the event they are on."""

import re

import pytest
from django.test import Client

from accounts.models import User
from events.models import Event
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _header(page: str) -> str:
    return page.split("<main", 1)[0]


def test_people_on_the_same_page_see_their_own_roles_and_sign_out_with_their_own_token(
    organizer: User, door_staff: User, attendee: User
) -> None:
    headers = {}
    for person in (organizer, door_staff, attendee, organizer):
        client = Client(enforce_csrf_checks=True)
        client.force_login(person)
        header = _header(client.get("/events/").content.decode())
        headers[person.pk] = header
        token = TOKEN.search(header.split('action="/accounts/logout/"', 1)[1])
        assert token is not None

        signed_out = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token.group(1)})

        assert signed_out.status_code == 302, person.email  # not 403: the token is this session's
        assert "_auth_user_id" not in client.session

    assert 'aria-label="Organizer"' in headers[organizer.pk]
    assert 'aria-label="Door"' in headers[door_staff.pk]
    assert 'aria-label="Organizer"' not in headers[door_staff.pk]
    assert 'class="role-bar"' not in headers[attendee.pk]


def test_the_event_tabs_link_to_the_event_shown_and_mark_the_page_shown(
    client: Client, organizer: User, event: Event
) -> None:
    other = EventFactory.create(organization=event.organization)
    client.force_login(organizer)

    for shown in (event, other, event):
        for path, current in (
            (f"/manage/events/{shown.pk}/dashboard", "Overview"),
            (f"/manage/events/{shown.pk}/", "Settings"),
        ):
            page = client.get(path).content.decode()
            tabs = page.split('aria-label="Event sections"', 1)[1].split("</nav>", 1)[0]
            hrefs = re.findall(r'href="([^"]+)"', tabs)

            assert len(hrefs) >= 6, path
            assert all(str(shown.pk) in href for href in hrefs), path
            assert re.search(rf'aria-current="page">{current}<', tabs), path

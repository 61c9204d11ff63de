"""Pages behind a login send anonymous visitors to the login page, and leak nothing."""

import pytest
from django.test import Client

from events.models import Event


@pytest.mark.parametrize("path", ["/manage/", "/tickets/", "/manage/events/new/", "/door/"])
def test_anonymous_visitor_is_redirected_to_login(client: Client, db: None, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_anonymous_visitor_is_redirected_from_an_event_page_and_actions(
    client: Client, event: Event
) -> None:
    for path in [f"/manage/events/{event.pk}/", f"/door/{event.pk}/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    response = client.post(f"/manage/events/{event.pk}/cancel")

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED

"""An organizer moves an event by an hour; the ticket holder reads it in the notification centre
and in the email (from a real SMTP server), with the times in the event's own time zone."""

import re
import zoneinfo
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership, User
from events.models import Event
from tests.e2e.conftest import PHONE, log_in, phone_context, record_errors
from tests.factories import EventFactory, MembershipFactory, order_paid
from tests.notifications.conftest import Inbox, smtp_server  # noqa: F401 - a fixture
from tests.notifications.helpers import make_tier, make_user

pytestmark = pytest.mark.e2e

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
CHANGE = "Starts: Fri 10 Jan 2031, 19:00 CET → Fri 10 Jan 2031, 20:00 CET"


@pytest.fixture
def night_train(db: None) -> Event:
    owner = MembershipFactory(role=Membership.Role.OWNER)
    return EventFactory(
        organization=owner.organization,
        title="Night Train",
        starts_at=datetime(2031, 1, 10, 19, 0, tzinfo=BERLIN),
        ends_at=datetime(2031, 1, 10, 22, 0, tzinfo=BERLIN),
        time_zone="Europe/Berlin",
    )


def test_organizer_moves_the_event_and_the_attendee_sees_it_in_app_and_in_email(
    browser: Browser,
    live_server: LiveServer,
    night_train: Event,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    settings: Any,
) -> None:
    inbox, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    organizer = Membership.objects.get(organization=night_train.organization).user
    attendee: User = make_user(full_name="Ada Lovelace")
    order_paid(buyer=attendee, tier=make_tier(event=night_train))
    assert len(inbox.to(attendee.email)) == 1  # the confirmation

    # The organizer moves the start (and end) by one hour on the edit page.
    organizer_context = phone_context(browser, live_server)
    log_in(organizer_context, live_server, organizer)
    page = organizer_context.new_page()
    errors = record_errors(page)
    page.goto(f"/manage/events/{night_train.pk}/")
    page.get_by_label("Starts").fill("2031-01-10T20:00")
    page.get_by_label("Ends").fill("2031-01-10T23:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    page.goto("/manage/webhooks/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    page.screenshot(path="/tmp/e2e-webhooks.png", full_page=True)  # noqa: S108
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    organizer_context.close()
    assert not errors

    # The attendee: the unread count in the navigation, then the notification centre.
    attendee_context = phone_context(browser, live_server)
    log_in(attendee_context, live_server, attendee)
    page = attendee_context.new_page()
    errors = record_errors(page)
    page.goto("/")
    link = page.get_by_role("link", name=re.compile(r"^Notifications"))
    expect(link.locator(".badge")).to_have_text("2")  # the booking and the change
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    change = page.locator("li.notification").filter(has_text="Changed: Night Train")
    expect(change).to_contain_text(CHANGE)
    expect(change).to_contain_text("Ends: Fri 10 Jan 2031, 22:00 CET → Fri 10 Jan 2031, 23:00 CET")
    page.screenshot(path="/tmp/e2e-notification-centre.png", full_page=True)  # noqa: S108
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    change.get_by_role("button").click()
    expect(page).to_have_url(re.compile(rf"/events/{night_train.pk}/"))
    page.goto("/notifications/")
    expect(
        page.get_by_role("link", name=re.compile(r"^Notifications")).locator(".badge")
    ).to_have_text("1")
    attendee_context.close()
    assert not errors

    # The email, as the SMTP server received it.
    emails = [m for m in inbox.to(attendee.email) if m["Subject"] == "Changed: Night Train"]
    assert len(emails) == 1
    text = emails[0].get_body(("plain",))
    html = emails[0].get_body(("html",))
    assert text is not None and html is not None
    assert CHANGE in text.get_content()
    assert CHANGE in html.get_content()
    assert str(emails[0]["List-Unsubscribe"]).strip().startswith("<http")
    calendar = next(
        p for p in emails[0].iter_attachments() if p.get_content_type() == "text/calendar"
    )
    assert "DTSTART:20310110T190000Z" in str(calendar.get_content())  # 20:00 CET in UTC

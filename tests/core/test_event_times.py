"""Event times are shown on the event's own clock, with its zone's name, on pages and in mail.

Europe/Berlin is UTC+1 in winter and UTC+2 in summer; the UTC clock time must appear nowhere.
"""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.test import Client

from core.timefmt import local_time
from events.models import Event
from notifications.content import render
from notifications.models import Message, Topic
from tests.factories import UserFactory, order_paid
from tests.ticketing.seated import seated_event
from ticketing.seating.services import SeatBlock

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
VIENNA = zoneinfo.ZoneInfo("Europe/Vienna")
UTC = zoneinfo.ZoneInfo("UTC")

# 19:30 in Berlin: 18:30 UTC in winter, 17:30 UTC in summer.
SEASONS = {
    "winter": (datetime(2031, 1, 15, 19, 30, tzinfo=BERLIN), "18:30"),
    "summer": (datetime(2031, 7, 15, 19, 30, tzinfo=BERLIN), "17:30"),
}
BLOCK = SeatBlock(section="Stalls", rows=1, seats_per_row=2, zone="A")


@pytest.fixture(params=sorted(SEASONS))
def berlin_event(request: pytest.FixtureRequest, db: None) -> tuple[Event, str]:
    """A seated event at 19:30 Berlin time in the given season, and its UTC clock time."""
    starts, utc_clock = SEASONS[request.param]
    event, _ = seated_event(
        BLOCK,
        starts_at=starts.astimezone(UTC),
        ends_at=(starts + timedelta(hours=2)).astimezone(UTC),
    )
    return event, utc_clock


def test_the_event_page_shows_the_events_own_clock(client: Client, berlin_event) -> None:
    event, utc_clock = berlin_event

    html = client.get(event.get_absolute_url()).content.decode()

    assert "19:30" in html and "21:30 (Europe/Berlin)" in html
    assert utc_clock not in html


def test_the_seat_map_page_shows_the_events_own_clock(client: Client, berlin_event) -> None:
    event, utc_clock = berlin_event

    response = client.get(f"/events/{event.pk}/seats/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "19:30 (Europe/Berlin)" in html
    assert utc_clock not in html


def test_the_confirmation_email_shows_the_events_own_clock(berlin_event) -> None:
    event, utc_clock = berlin_event
    buyer = UserFactory.create()
    order = order_paid(buyer=buyer, tier=event.tiers.first()).order
    message = Message.objects.get(topic=Topic.ORDER_CONFIRMED, data__order_id=str(order.pk))

    mail = render(message, buyer)

    for part in (mail.text, mail.html, mail.short):
        assert "19:30" in part, part
        assert utc_clock not in part
    assert "(Europe/Berlin)" in mail.text


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2031, 1, 15, 18, 30, tzinfo=UTC), "Wed 15 Jan 2031, 19:30 CET"),
        (datetime(2031, 7, 15, 17, 30, tzinfo=UTC), "Tue 15 Jul 2031, 19:30 CEST"),
        ("2031-07-15T17:30:00+00:00", "Tue 15 Jul 2031, 19:30 CEST"),
    ],
)
def test_local_time_for_mail_and_pdfs_names_the_zone_in_both_seasons(
    moment: datetime | str, expected: str
) -> None:
    assert local_time(moment, "Europe/Berlin") == expected


def test_the_filter_survives_djangos_date_filter_which_converts_to_utc() -> None:
    """The bug this filter exists for: `timezone.localtime(...)|date` shows UTC again."""
    moment = datetime(2031, 7, 15, 17, 30, tzinfo=UTC)
    template = Template('{{ moment|in_zone:"Europe/Berlin"|date:"H:i T" }}')

    assert template.render(Context({"moment": moment})) == "19:30 CEST"
    empty = Template("{{ moment|in_zone:'Europe/Berlin' }}").render(Context({"moment": None}))
    assert empty == ""


@pytest.mark.django_db
def test_the_demos_symphony_night_at_16_00_in_vienna_shows_16_00(client: Client) -> None:
    call_command("seed_demo", "--without-sales", verbosity=0)
    concert = Event.objects.get(title="Symphony Night")
    tomorrow = (concert.starts_at + timedelta(days=1)).astimezone(VIENNA).date()
    starts = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 16, 0, tzinfo=VIENNA)
    Event.objects.filter(pk=concert.pk).update(
        starts_at=starts, ends_at=starts + timedelta(hours=3)
    )
    utc_clock = starts.astimezone(UTC).strftime("%H:%M")  # 15:00 in winter, 14:00 in summer

    page = client.get(concert.get_absolute_url()).content.decode()
    seats = client.get(f"/events/{concert.pk}/seats/").content.decode()

    assert "16:00" in page and "(Europe/Vienna)" in page
    assert "16:00 (Europe/Vienna)" in seats
    assert f"{utc_clock} (Europe/Vienna)" not in page + seats
    assert utc_clock not in page

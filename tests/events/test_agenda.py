"""Rooms and sessions: the exclusion constraint, speaker clashes, stars, capacity and iCal feeds."""

import threading
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from accounts.models import User
from accounts.services import api_token_issue
from events import agenda
from events.errors import InvalidSession, RoomOccupied, SessionFull, TicketRequired
from events.models import AgendaFeed, Event, Room, Session, SessionStar
from tests.events.helpers import holder_of, make_event
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def conf(organizer: User) -> Event:
    # Starts at 09:00 Berlin time: a start taken from the clock would put sessions half an
    # hour in on the next day when the suite runs late in the evening.
    week_ahead = timezone.localtime(timezone.now() + timedelta(days=7), ZoneInfo("Europe/Berlin"))
    return make_event(
        "DevConf",
        organization=organizer.organizations.get(),
        category="Conference",
        hours=10,
        starts_at=week_ahead.replace(hour=9, minute=0, second=0, microsecond=0),
    )


def add(organizer: User, event: Event, title: str, minutes_in: int, length: int, **kw: Any):
    start = event.starts_at + timedelta(minutes=minutes_in)
    return agenda.session_save(
        actor=organizer,
        event=event,
        title=title,
        starts_at=start,
        ends_at=start + timedelta(minutes=length),
        **kw,
    )


def test_database_rejects_an_overlapping_session_in_the_same_room_even_by_direct_insert(
    conf: Event,
) -> None:
    room = Room.objects.create(venue=conf.venue, name="Hall A")
    start = conf.starts_at
    Session.objects.create(
        event=conf, room=room, title="First", starts_at=start, ends_at=start + timedelta(hours=1)
    )

    with pytest.raises(IntegrityError, match="session_room_no_overlap"), transaction.atomic():
        Session.objects.create(
            event=conf,
            room=room,
            title="Overlap via the ORM",
            starts_at=start + timedelta(minutes=30),
            ends_at=start + timedelta(hours=2),
        )
    with (
        pytest.raises(IntegrityError, match="session_room_no_overlap"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO events_session (id, event_id, room_id, title, description, starts_at,"
            " ends_at, seats_taken) VALUES (gen_random_uuid(), %s, %s, 'raw SQL', '', %s, %s, 0)",
            [conf.pk, room.pk, start + timedelta(minutes=59), start + timedelta(minutes=90)],
        )
    # Back to back is fine ([start, end) ranges), and so is another room at the same time.
    Session.objects.create(
        event=conf,
        room=room,
        title="Next",
        starts_at=start + timedelta(hours=1),
        ends_at=start + timedelta(hours=2),
    )
    Session.objects.create(
        event=conf,
        room=Room.objects.create(venue=conf.venue, name="Hall B"),
        title="Parallel",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
    )
    assert Session.objects.filter(event=conf).count() == 3


def test_session_service_explains_the_room_clash(organizer: User, conf: Event) -> None:
    add(organizer, conf, "Keynote", 0, 60, room_name="Hall A")

    with pytest.raises(RoomOccupied, match="Keynote"):
        add(organizer, conf, "Lightning talks", 30, 30, room_name="Hall A")
    assert add(organizer, conf, "Workshop", 30, 30, room_name="Hall B").session.pk


def test_session_outside_the_event_or_ending_before_it_starts_is_refused(
    organizer: User, conf: Event
) -> None:
    with pytest.raises(InvalidSession):
        add(organizer, conf, "Too early", -60, 30)
    with pytest.raises(InvalidSession):
        add(organizer, conf, "Backwards", 60, -30)


def test_speaker_in_two_places_at_once_gets_a_warning_not_a_refusal(
    organizer: User, conf: Event
) -> None:
    add(organizer, conf, "Keynote", 0, 60, room_name="Hall A", speaker_names=["Ada Lovelace"])

    saved = add(
        organizer, conf, "Panel", 30, 60, room_name="Hall B", speaker_names=["Ada Lovelace", "Bo"]
    )
    later = add(organizer, conf, "Q&A", 90, 30, room_name="Hall A", speaker_names=["Ada Lovelace"])

    assert saved.session.pk
    assert len(saved.warnings) == 1 and "Ada Lovelace" in saved.warnings[0]
    assert "Keynote" in saved.warnings[0]
    assert later.warnings == []


def test_organizer_page_shows_the_speaker_warning(client: Client, organizer: User, conf: Event):
    add(organizer, conf, "Keynote", 0, 60, room_name="A", speaker_names=["Ada"])
    client.force_login(organizer)
    start = conf.local_starts_at + timedelta(minutes=15)

    response = client.post(
        f"/manage/events/{conf.pk}/sessions/",
        {
            "title": "Clashing panel",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
            "room": "B",
            "speakers": "Ada",
        },
        follow=True,
    )

    assert "Ada is also speaking at “Keynote”" in response.content.decode()


def test_another_organizer_cannot_see_or_edit_the_agenda(client: Client, conf: Event) -> None:
    stranger = UserFactory.create()
    client.force_login(stranger)

    assert client.get(f"/manage/events/{conf.pk}/sessions/").status_code == 404


def test_starring_sessions_warns_about_clashes(organizer: User, conf: Event) -> None:
    fan = UserFactory.create()
    one = add(organizer, conf, "One", 0, 60, room_name="A").session
    two = add(organizer, conf, "Two", 30, 60, room_name="B").session
    three = add(organizer, conf, "Three", 120, 60, room_name="A").session

    assert agenda.session_star(user=fan, session_id=one.pk).clashes == []
    clash = agenda.session_star(user=fan, session_id=two.pk)
    assert [s.title for s in clash.clashes] == ["One"]
    assert agenda.session_star(user=fan, session_id=three.pk).clashes == []
    assert agenda.session_star(user=fan, session_id=three.pk).star.pk  # twice: still one star
    assert SessionStar.objects.filter(user=fan).count() == 3


def test_limited_session_takes_a_seat_for_ticket_holders_only(organizer: User, conf: Event) -> None:
    session = add(organizer, conf, "Workshop", 0, 60, room_name="Lab", capacity=1).session
    outsider, first, second = UserFactory.create_batch(3)
    holder_of(conf, first)
    holder_of(conf, second)

    with pytest.raises(TicketRequired):
        agenda.session_star(user=outsider, session_id=session.pk)
    agenda.session_star(user=first, session_id=session.pk)
    with pytest.raises(SessionFull):
        agenda.session_star(user=second, session_id=session.pk)
    agenda.session_unstar(user=first, session_id=session.pk)
    agenda.session_star(user=second, session_id=session.pk)

    session.refresh_from_db()
    assert session.seats_taken == 1
    assert list(SessionStar.objects.filter(session=session).values_list("user", flat=True)) == [
        second.pk
    ]


def test_check_constraint_keeps_seats_within_capacity_whoever_writes(
    organizer: User, conf: Event
) -> None:
    session = add(organizer, conf, "Workshop", 0, 60, capacity=2).session

    with pytest.raises(IntegrityError, match="session_seats_within_capacity"):
        Session.objects.filter(pk=session.pk).update(seats_taken=F("capacity") + 1)


def race_for_three_seats(organizer: User) -> tuple[Session, list[str]]:
    """Twelve ticket holders star a 3-seat session at the same moment, each in its own thread."""
    event = make_event("RaceConf", organization=organizer.organizations.get(), hours=5)
    session = add(organizer, event, "Hot workshop", 0, 60, capacity=3).session
    fans = UserFactory.create_batch(12)
    for fan in fans:
        holder_of(event, fan)
    barrier = threading.Barrier(len(fans))
    outcomes: list[str] = []

    def star(user: User) -> None:
        barrier.wait()
        try:
            agenda.session_star(user=user, session_id=session.pk)
            outcomes.append("ok")
        except SessionFull:
            outcomes.append("full")
        except IntegrityError:
            outcomes.append("integrity_error")
        finally:
            connection.close()

    threads = [threading.Thread(target=star, args=(fan,)) for fan in fans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.refresh_from_db()
    return session, outcomes


@pytest.mark.django_db(transaction=True)
def test_racing_for_the_last_seats_never_oversells(organizer: User) -> None:
    session, outcomes = race_for_three_seats(organizer)

    assert outcomes.count("ok") == 3 and outcomes.count("full") == 9
    assert session.seats_taken == 3 == SessionStar.objects.filter(session=session).count()


@pytest.mark.django_db(transaction=True)
def test_negative_control_the_seat_race_oversells_without_the_conditional_update(
    organizer: User, settings: Any
) -> None:
    settings.BOXOFFICE_TEST_SWITCHES = {"session_seats_unlocked": True}

    session, outcomes = race_for_three_seats(organizer)

    stars = SessionStar.objects.filter(session=session).count()
    # Every thread reads "seats left" before any writes: more than 3 stars, and lost updates
    # leave seats_taken lying about them.
    assert stars > 3 and session.seats_taken < stars, (stars, session.seats_taken, outcomes)


def test_timetable_has_rooms_as_columns_and_marks_clashes(
    client: Client, organizer: User, conf: Event
) -> None:
    fan = UserFactory.create()
    one = add(organizer, conf, "Opening", 0, 60, room_name="Hall A").session
    two = add(organizer, conf, "Side track", 30, 60, room_name="Hall B").session
    agenda.session_star(user=fan, session_id=one.pk)
    agenda.session_star(user=fan, session_id=two.pk)
    client.force_login(fan)

    html = client.get(f"/events/{conf.pk}/timetable/").content.decode()

    assert html.index("Hall A") < html.index("Hall B")
    assert "grid-column: 2" in html and "grid-column: 3" in html
    assert html.count("Overlaps another session on your agenda") == 2


def test_star_form_works_without_javascript_and_with_json(
    client: Client, organizer: User, conf: Event
) -> None:
    session = add(organizer, conf, "Opening", 0, 60).session
    fan = UserFactory.create()
    client.force_login(fan)

    plain = client.post(f"/sessions/{session.pk}/star", {"action": "star", "next": "/agenda/"})
    as_json = client.post(
        f"/sessions/{session.pk}/star", {"action": "unstar"}, HTTP_ACCEPT="application/json"
    )

    assert plain.status_code == 302 and plain["Location"] == "/agenda/"
    assert as_json.json() == {"starred": False, "clashes": []}
    assert not SessionStar.objects.filter(user=fan).exists()


def test_event_agenda_ics_lists_every_session(client: Client, organizer: User, conf: Event):
    add(organizer, conf, "Opening", 0, 60, room_name="Hall A", speaker_names=["Ada"])
    add(organizer, conf, "Closing", 120, 30, room_name="Hall A")

    response = client.get(f"/events/{conf.pk}/agenda.ics")
    calendar = Calendar.from_ical(response.content)

    assert response["Content-Type"].startswith("text/calendar")
    summaries = sorted(str(c["summary"]) for c in calendar.walk("VEVENT"))
    assert summaries == ["Closing (DevConf)", "Opening (DevConf)"]


def test_personal_feed_needs_only_its_secret_and_rotating_revokes_it(
    client: Client, organizer: User, conf: Event
) -> None:
    fan = UserFactory.create()
    session = add(organizer, conf, "Opening", 0, 60).session
    agenda.session_star(user=fan, session_id=session.pk)
    token = agenda.agenda_feed_for(user=fan).token

    feed = client.get(f"/agenda/feed/{token}.ics")  # no login: a calendar app fetches it
    agenda.agenda_feed_rotate(user=fan)
    old = client.get(f"/agenda/feed/{token}.ics")
    new = client.get(f"/agenda/feed/{AgendaFeed.objects.get(user=fan).token}.ics")

    assert feed.status_code == 200
    assert [str(c["summary"]) for c in Calendar.from_ical(feed.content).walk("VEVENT")] == [
        "Opening (DevConf)"
    ]
    assert old.status_code == 404 and new.status_code == 200
    assert client.get("/agenda/feed/guess.ics").status_code == 404


def test_my_agenda_page_lists_stars_and_the_private_feed(
    client: Client, organizer: User, conf: Event
) -> None:
    fan = UserFactory.create()
    session = add(organizer, conf, "Opening", 0, 60).session
    agenda.session_star(user=fan, session_id=session.pk)
    client.login(email=fan.email, password=PASSWORD)

    html = client.get("/agenda/").content.decode()

    assert "Opening" in html and AgendaFeed.objects.get(user=fan).token in html


def test_api_lists_sessions_and_stars_them(client: Client, organizer: User, conf: Event):
    session = add(organizer, conf, "Opening", 0, 60, speaker_names=["Ada"]).session
    fan = UserFactory.create()
    token = api_token_issue(email=fan.email, password=PASSWORD)

    listed = client.get(f"/api/v1/events/{conf.pk}/sessions").json()
    starred = client.post(
        f"/api/v1/sessions/{session.pk}/star", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert listed[0]["title"] == "Opening" and listed[0]["speakers"] == ["Ada"]
    assert starred.status_code == 200 and starred.json()["starred"] is True

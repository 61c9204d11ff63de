"""Event texts in two languages: the organizer writes the title and description in English and
German; visitors read the one in their language, and the English one where none was written."""

import json
import re

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import User
from events.errors import InvalidEvent
from events.models import Event, TicketTier
from events.services import event_update
from notifications.ics import event_ics as mail_event_ics
from tests.events.helpers import make_event, titles
from tests.events.test_cover_images import edit_form_data
from tests.factories import TicketTierFactory

pytestmark = pytest.mark.django_db


def test_organizer_enters_german_texts_and_visitors_read_their_language(
    client: Client, organizer: User, event: Event, tier: TicketTier
) -> None:
    client.force_login(organizer)
    form = client.get(f"/manage/events/{event.pk}/").content.decode()
    assert "Title in German" in form and "Description in German" in form
    response = client.post(
        f"/manage/events/{event.pk}/",
        edit_form_data(
            event,
            tier,
            title="Night at the Harbour",
            description="Music by the **water**.",
            title_de="Nacht am Hafen",
            description_de="Musik am **Wasser**.",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event.refresh_from_db()
    assert event.translations == {
        "de": {"title": "Nacht am Hafen", "description": "Musik am **Wasser**."}
    }
    client.logout()

    url = event.get_absolute_url()
    german = client.get(url, headers={"accept-language": "de"}).content.decode()
    assert "<h1>Nacht am Hafen</h1>" in german and "<strong>Wasser</strong>" in german
    assert "Night at the Harbour</h1>" not in german
    english = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "<h1>Night at the Harbour</h1>" in english and "<strong>water</strong>" in english
    # The cards in the list, too.
    listing = client.get("/events/", headers={"accept-language": "de"}).content.decode()
    assert ">Nacht am Hafen</a>" in listing
    listing = client.get("/events/", headers={"accept-language": "en"}).content.decode()
    assert ">Night at the Harbour</a>" in listing


def test_without_a_german_text_german_visitors_read_the_english_one(
    client: Client, organizer: User, event: Event
) -> None:
    TicketTierFactory.create(event=event)
    event_update(
        actor=organizer,
        event=event,
        translations={"de": {"title": "Nur der Titel"}},
    )
    german = client.get(event.get_absolute_url(), headers={"accept-language": "de"})
    html = german.content.decode()
    assert "<h1>Nur der Titel</h1>" in html
    assert "A fine evening." in html  # the description falls back to the English one


def test_texts_in_a_language_the_site_does_not_offer_are_refused(
    organizer: User, event: Event
) -> None:
    with pytest.raises(InvalidEvent):
        event_update(actor=organizer, event=event, translations={"fr": {"title": "Soirée"}})
    event.refresh_from_db()
    assert event.translations == {}


HARBOUR = {"de": {"title": "Nacht am Hafen", "description": "Musik am Wasser, bis spät."}}


def test_german_texts_are_found_by_search_stemmed_the_german_way() -> None:
    make_event("Night at the Harbour", description="Music by the water.", translations=HARBOUR)
    make_event("Morning Walk", description="Birds and trees.")

    assert titles(query="hafen") == ["Night at the Harbour"]
    # "Wassers" ("of the water") meets "Wasser" only through the German stemmer, and only in
    # the German description: the English text and the typo index know neither word.
    assert titles(query="Wassers") == ["Night at the Harbour"]
    assert titles(query="Vögel") == []  # the walk has no German text to be found by


def test_search_results_highlight_the_text_in_the_readers_language(client: Client) -> None:
    make_event("Night at the Harbour", description="Music by the water.", translations=HARBOUR)

    german = client.get("/events/", {"q": "hafen"}, headers={"accept-language": "de"})
    assert "Nacht am <mark>Hafen</mark>" in german.content.decode()
    english = client.get("/events/", {"q": "harbour"}, headers={"accept-language": "en"})
    assert "Night at the <mark>Harbour</mark>" in english.content.decode()


def test_json_ld_and_calendar_file_speak_the_readers_language(client: Client) -> None:
    event = make_event(
        "Night at the Harbour", description="Music by the water.", translations=HARBOUR
    )

    def json_ld(language: str) -> dict:
        html = client.get(event.get_absolute_url(), headers={"accept-language": language})
        found = re.search(
            r'<script type="application/ld\+json">(.*?)</script>', html.content.decode()
        )
        assert found
        return json.loads(found[1])

    assert json_ld("de")["name"] == "Nacht am Hafen"
    assert json_ld("de")["description"].startswith("Musik am Wasser")
    assert json_ld("en")["name"] == "Night at the Harbour"

    url = f"/events/{event.pk}/calendar.ics"
    german = client.get(url, headers={"accept-language": "de"}).content.decode()
    assert "SUMMARY:Nacht am Hafen" in german and "Musik am Wasser" in german
    english = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "SUMMARY:Night at the Harbour" in english


def test_mail_calendar_attachment_is_in_the_recipients_language() -> None:
    event = make_event("Night at the Harbour", translations=HARBOUR)
    with translation.override("de"):
        assert "SUMMARY:Nacht am Hafen" in mail_event_ics(event).decode()
    with translation.override("en"):
        assert "SUMMARY:Night at the Harbour" in mail_event_ics(event).decode()

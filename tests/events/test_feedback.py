"""Feedback: ticket holders only, after the event, once each, editable 14 days; moderation."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from events import feedback
from events.errors import (
    FeedbackExists,
    FeedbackLocked,
    FeedbackNotOpen,
    InvalidFeedback,
    TicketRequired,
)
from events.models import Event, Feedback, OrganizerRating
from tests.events.helpers import end_event, holder_of, make_event
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def show(organizer: User) -> Event:
    return make_event("Jazz Night", organization=organizer.organizations.get())


def test_a_non_ticket_holder_cannot_rate(show: Event) -> None:
    holder, stranger = UserFactory.create_batch(2)
    holder_of(show, holder)
    end_event(show)

    with pytest.raises(TicketRequired):
        feedback.feedback_submit(author=stranger, event=show, rating=5)
    assert not Feedback.objects.exists()


def test_a_non_ticket_holder_is_refused_by_the_page_and_the_api(
    client: Client, show: Event
) -> None:
    stranger = UserFactory.create()
    end_event(show)
    client.login(email=stranger.email, password=PASSWORD)

    page = client.post(f"/events/{show.pk}/feedback", {"rating": 5}, follow=True)
    token = client.post(
        "/api/v1/auth/token",
        {"email": stranger.email, "password": PASSWORD},
        content_type="application/json",
    ).json()["token"]
    api = client.put(
        f"/api/v1/events/{show.pk}/feedback",
        {"rating": 5},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert "Only people with a ticket" in page.content.decode()
    assert api.status_code == 403 and api.json()["error"]["code"] == "TICKET_REQUIRED"
    assert not Feedback.objects.exists()


def test_feedback_opens_only_after_the_event_ends(show: Event) -> None:
    fan = UserFactory.create()
    holder_of(show, fan)

    with pytest.raises(FeedbackNotOpen):
        feedback.feedback_submit(author=fan, event=show, rating=4)


def test_once_each_then_editable_for_14_days(show: Event) -> None:
    fan = UserFactory.create()
    holder_of(show, fan)
    end_event(show)

    entry = feedback.feedback_submit(author=fan, event=show, rating=2, comment="Too loud")
    with pytest.raises(FeedbackExists):
        feedback.feedback_submit(author=fan, event=show, rating=5)
    feedback.feedback_edit(author=fan, feedback_id=entry.pk, rating=4, comment="Fine really")
    Feedback.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(days=15))
    with pytest.raises(FeedbackLocked):
        feedback.feedback_edit(author=fan, feedback_id=entry.pk, rating=1)

    show.refresh_from_db()
    assert (show.rating_count, show.rating_sum) == (1, 4)
    assert Feedback.objects.get().comment == "Fine really"


@pytest.mark.parametrize("rating", [0, 6, -1, "5", True, 4.5])
def test_rating_must_be_a_whole_number_from_1_to_5(show: Event, rating: object) -> None:
    fan = UserFactory.create()
    holder_of(show, fan)
    end_event(show)

    with pytest.raises(InvalidFeedback):
        feedback.feedback_submit(author=fan, event=show, rating=rating)  # type: ignore[arg-type]


def test_average_and_distribution_on_the_event_page(client: Client, show: Event) -> None:
    fans = UserFactory.create_batch(4)
    for fan in fans:
        holder_of(show, fan)
    end_event(show)
    for fan, stars in zip(fans, [5, 5, 4, 1], strict=True):
        feedback.feedback_submit(author=fan, event=show, rating=stars, comment=f"gave {stars}")

    html = client.get(show.get_absolute_url()).content.decode()
    organizer_total = OrganizerRating.objects.get(organization=show.organization)

    assert "★ 3.8" in html and "4 ratings" in html
    assert response_distribution(client, show) == {5: 2, 4: 1, 3: 0, 2: 0, 1: 1}
    assert (organizer_total.rating_count, organizer_total.rating_sum) == (4, 15)


def response_distribution(client: Client, event: Event) -> dict[int, int]:
    rows = client.get(event.get_absolute_url()).context["distribution"]
    return {row.stars: row.count for row in rows}


def test_organizer_replies_and_hides_an_abusive_comment(
    client: Client, organizer: User, show: Event
) -> None:
    fans = UserFactory.create_batch(2)
    for fan in fans:
        holder_of(show, fan)
    end_event(show)
    kind = feedback.feedback_submit(author=fans[0], event=show, rating=4, comment="Lovely night")
    rude = feedback.feedback_submit(author=fans[1], event=show, rating=1, comment="RUDE WORDS")
    client.force_login(organizer)

    client.post(f"/manage/feedback/{kind.pk}", {"action": "reply", "body": "Thank you!"})
    client.post(f"/manage/feedback/{rude.pk}", {"action": "hide"})
    client.logout()
    html = client.get(show.get_absolute_url()).content.decode()

    assert "Thank you!" in html and "Lovely night" in html
    assert "RUDE WORDS" not in html
    assert "2 ratings" in html  # a hidden comment's rating still counts


def test_another_organization_cannot_moderate(client: Client, show: Event) -> None:
    fan = UserFactory.create()
    holder_of(show, fan)
    end_event(show)
    entry = feedback.feedback_submit(author=fan, event=show, rating=3, comment="ok")
    other = make_event("Other").organization
    from tests.factories import MembershipFactory

    outsider = MembershipFactory.create(organization=other).user
    client.force_login(outsider)

    assert client.post(f"/manage/feedback/{entry.pk}", {"action": "hide"}).status_code == 404
    assert client.get(f"/manage/events/{show.pk}/feedback/").status_code == 404
    entry.refresh_from_db()
    assert entry.hidden is False


def test_rating_form_shows_only_to_holders_after_the_end(client: Client, show: Event) -> None:
    fan, stranger = UserFactory.create_batch(2)
    holder_of(show, fan)
    end_event(show)

    client.force_login(stranger)
    assert "How was it?" not in client.get(show.get_absolute_url()).content.decode()
    client.force_login(fan)
    assert "How was it?" in client.get(show.get_absolute_url()).content.decode()
    client.post(f"/events/{show.pk}/feedback", {"rating": "5", "comment": "Great"})
    assert Feedback.objects.get(author=fan).rating == 5

"""Pages and API: notification centre, settings, unsubscribe, organizer webhooks, SMS backends."""

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.test import Client, RequestFactory

from accounts.models import Membership, User
from accounts.services import api_token_issue
from events.models import Event, TicketTier
from notifications.channels import DeliveryFailed
from notifications.channels.sms import ConsoleSmsBackend, HttpGatewaySmsBackend
from notifications.context_processors import unread
from notifications.ics import event_ics
from notifications.models import (
    Delivery,
    DeliveryAttempt,
    Message,
    Notification,
    Preference,
    WebhookEndpoint,
)
from notifications.preferences import unsubscribe_token
from notifications.services import delivery_send, message_fan_out
from tests.factories import PASSWORD, MembershipFactory, order_paid
from tests.notifications.conftest import HttpReceiver
from tests.notifications.helpers import make_event, make_owner, make_user

# --- The notification centre ---------------------------------------------------------------------


@pytest.fixture
def notified(attendee: User, tier: TicketTier, django_capture_on_commit_callbacks: Any) -> User:
    with django_capture_on_commit_callbacks(execute=True):
        order_paid(buyer=attendee, tier=tier)
    return attendee


def test_unread_count_shows_in_the_navigation_and_opening_marks_read(
    client: Client, notified: User
) -> None:
    client.force_login(notified)
    page = client.get("/").content.decode()
    assert 'aria-label="1 unread"' in page
    notification = Notification.objects.get(user=notified)
    response = client.post(f"/notifications/{notification.pk}/open")
    assert response.status_code == 302
    assert response["Location"] == notification.url
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "unread" not in client.get("/notifications/").content.decode().split("<main")[0]


def test_the_cached_navigation_follows_the_unread_count_on_the_same_page(
    client: Client, notified: User
) -> None:
    """The navigation is rendered once per process for each key (`{% cache %}` in base.html):
    the count is part of the key, so reading a notification changes the very same page."""
    client.force_login(notified)
    assert 'aria-label="1 unread"' in client.get("/events/").content.decode()

    client.post("/notifications/read-all")

    header = client.get("/events/").content.decode().split("<main")[0]
    assert "unread" not in header
    assert 'href="/notifications/"' in header


def test_unread_count_costs_nothing_for_visitors_and_one_query_for_members(
    notified: User, django_assert_num_queries: Any
) -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert unread(request)["unread_notifications"] == 0
    request.user = notified
    with django_assert_num_queries(1):
        assert str(unread(request)["unread_notifications"]) == "1"


def test_someone_elses_notification_is_a_404(client: Client, notified: User) -> None:
    client.force_login(make_user())
    notification = Notification.objects.get(user=notified)
    assert client.post(f"/notifications/{notification.pk}/open").status_code == 404
    assert "Nothing yet" in client.get("/notifications/").content.decode()


def test_mark_all_read(client: Client, notified: User) -> None:
    client.force_login(notified)
    client.post("/notifications/read-all")
    assert not Notification.objects.filter(user=notified, read_at=None).exists()


# --- Settings, phone numbers, unsubscribe --------------------------------------------------------


def settings_form(**changes: str) -> dict[str, str]:
    data = {"phone": "", "reminder_email": "on", "reminder_inapp": "on", "update_email": "on"}
    data.update(changes)
    return {k: v for k, v in data.items() if v}


def test_settings_page_saves_channels_and_a_normalised_phone(
    client: Client, attendee: User
) -> None:
    client.force_login(attendee)
    assert client.get("/notifications/settings/").status_code == 200
    response = client.post(
        "/notifications/settings/", settings_form(phone="+49 151 2345 6789", reminder_sms="on")
    )
    assert response.status_code == 302
    preference = Preference.objects.get(user=attendee)
    assert preference.phone == "+4915123456789"
    assert preference.reminder_sms and not preference.update_inapp


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "country code"),
        ("+49 30 1234567", "country code"),  # a Berlin landline: SMS cannot reach it
        ("+1 555 0000000000000", "country code"),
        ("", "Add a mobile number"),
    ],
)
def test_bad_phone_is_a_form_error(
    client: Client, attendee: User, phone: str, message: str
) -> None:
    client.force_login(attendee)
    response = client.post("/notifications/settings/", settings_form(phone=phone, update_sms="on"))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Preference.objects.filter(user=attendee).exists()


def test_unsubscribe_link_stops_that_kind_of_email_in_one_click(
    client: Client, attendee: User
) -> None:
    token = unsubscribe_token(attendee, "reminder")
    page = client.get(f"/notifications/unsubscribe/{token}/")
    assert page.status_code == 200 and attendee.email in page.content.decode()
    # RFC 8058: the mail client POSTs without a session or CSRF token.
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(
        f"/notifications/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    preference = Preference.objects.get(user=attendee)
    assert not preference.reminder_email and preference.update_email


@pytest.mark.parametrize("token", ["nonsense", "transactional"])
def test_bad_unsubscribe_link_is_a_400_page(client: Client, attendee: User, token: str) -> None:
    if token == "transactional":
        token = unsubscribe_token(attendee, "transactional")
    response = client.post(f"/notifications/unsubscribe/{token}/")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


# --- API -----------------------------------------------------------------------------------------


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token_issue(email=user.email, password=PASSWORD)}"}


def test_api_lists_and_reads_notifications(client: Client, notified: User) -> None:
    headers = bearer(notified)
    body = client.get("/api/v1/notifications", headers=headers).json()
    assert body["unread"] == 1
    notification_id = body["items"][0]["id"]
    read = client.post(f"/api/v1/notifications/{notification_id}/read", headers=headers).json()
    assert read["read"] is True
    other = bearer(make_user())
    response = client.post(f"/api/v1/notifications/{notification_id}/read", headers=other)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_api_preferences_validate_the_phone(client: Client, attendee: User) -> None:
    headers = bearer(attendee)
    response = client.put(
        "/api/v1/notifications/preferences",
        json.dumps({"phone": "not a phone", "reminder_sms": True}),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_PHONE"
    response = client.put(
        "/api/v1/notifications/preferences",
        json.dumps({"phone": "+44 7911 123456", "reminder_sms": True}),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    assert response.json()["phone"] == "+447911123456"


def test_api_webhooks_are_scoped_to_the_organizers_organizations(
    client: Client, organizer: User, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_HTTP = False
    organization = organizer.organizations.get()
    headers = bearer(organizer)
    body = {"organization_id": str(organization.pk), "url": "http://x.test/h", "topics": ["x"]}
    response = client.post(
        "/api/v1/webhooks", json.dumps(body), content_type="application/json", headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_WEBHOOK"
    body.update(url="https://hooks.example.com/boxoffice", topics=["order.confirmed"])
    response = client.post(
        "/api/v1/webhooks", json.dumps(body), content_type="application/json", headers=headers
    )
    assert response.status_code == 201
    endpoint_id = response.json()["id"]
    assert response.json()["secret"].startswith("whsec_")

    stranger = bearer(make_owner())
    assert client.get("/api/v1/webhooks", headers=stranger).json() == []
    assert client.post(f"/api/v1/webhooks/{endpoint_id}/test", headers=stranger).status_code == 404
    response = client.post(
        "/api/v1/webhooks", json.dumps(body), content_type="application/json", headers=stranger
    )
    assert response.status_code == 404
    door = make_user()
    MembershipFactory(organization=organization, user=door, role=Membership.Role.DOOR)
    assert client.get("/api/v1/webhooks", headers=bearer(door)).json() == []


# --- Organizer webhook pages ---------------------------------------------------------------------


def test_organizer_adds_an_endpoint_and_send_test_posts_a_signed_event(
    client: Client,
    organizer: User,
    http_receiver: HttpReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(organizer)
    organization = organizer.organizations.get()
    response = client.post(
        "/manage/webhooks/",
        {
            "organization": str(organization.pk),
            "url": f"{http_receiver.url}/in",
            "topics": ["order.confirmed", "event.changed"],
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert endpoint.topics == ["event.changed", "order.confirmed"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/manage/webhooks/{endpoint.pk}/test")
    assert response.status_code == 302
    assert len(http_receiver.requests) == 1
    request = http_receiver.requests[0]
    timestamp, digest = (
        p.split("=", 1)[1] for p in request.headers["Boxoffice-Signature"].split(",")
    )
    signed = timestamp.encode() + b"." + request.body
    assert digest == hmac.new(endpoint.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert http_receiver.json(0)["type"] == "webhook.test"
    page = client.get(f"/manage/webhooks/{endpoint.pk}/").content.decode()
    assert "webhook.test" in page and "#1 200" in page


def test_bad_webhook_form_is_a_form_error(client: Client, organizer: User) -> None:
    client.force_login(organizer)
    organization = organizer.organizations.get()
    response = client.post(
        "/manage/webhooks/", {"organization": str(organization.pk), "url": "ftp://x", "topics": []}
    )
    assert response.status_code == 422
    assert not WebhookEndpoint.objects.exists()


def test_webhook_pages_are_404_outside_the_organizers_organizations(
    client: Client, organizer: User, attendee: User
) -> None:
    endpoint = WebhookEndpoint.objects.create(
        organization=organizer.organizations.get(), url="https://a.test/h", topics=["event.changed"]
    )
    client.force_login(make_owner())
    assert client.get(f"/manage/webhooks/{endpoint.pk}/").status_code == 404
    assert client.post(f"/manage/webhooks/{endpoint.pk}/delete").status_code == 404
    client.force_login(attendee)
    assert client.get("/manage/webhooks/").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_endpoint_failing_again_and_again_is_switched_off(
    organizer: User, event: Event, http_receiver: HttpReceiver, settings: Any
) -> None:
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    endpoint = WebhookEndpoint.objects.create(
        organization=event.organization, url=f"{http_receiver.url}/h", topics=["event.changed"]
    )
    http_receiver.script = [503] * 10
    for n in range(4):
        message = Message.objects.create(
            topic="event.changed",
            audience="org",
            dedupe_key=f"t{n}",
            event=event,
            organization=event.organization,
            data={"changes": {}},
        )
        message_fan_out(message_id=message.pk)
    results = [delivery_send(delivery_id=d.pk).status for d in Delivery.objects.order_by("pk")]
    assert len(http_receiver.requests) == 3  # the fourth was never tried
    assert results.count("skipped") == 1
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "3 failed attempts" in endpoint.disabled_reason
    # Fan-out skips a switched-off endpoint altogether.
    message = Message.objects.create(
        topic="event.changed",
        audience="org",
        dedupe_key="t5",
        event=event,
        organization=event.organization,
        data={"changes": {}},
    )
    assert message_fan_out(message_id=message.pk) == []


# --- SMS backends and the calendar file ----------------------------------------------------------


def test_http_sms_gateway_gets_json_with_token_and_idempotency_key(
    http_receiver: HttpReceiver, settings: Any
) -> None:
    settings.SMS_GATEWAY_URL = f"{http_receiver.url}/sms"
    settings.SMS_GATEWAY_TOKEN = "gw-secret"
    backend = HttpGatewaySmsBackend()
    assert backend.send(to="+4915123456789", text="Doors at 8", reference="d-1") == "gw-1"
    request = http_receiver.requests[0]
    assert request.headers["Authorization"] == "Bearer gw-secret"
    assert request.headers["Idempotency-Key"] == "d-1"
    assert json.loads(request.body) == {
        "to": "+4915123456789",
        "from": settings.SMS_FROM,
        "text": "Doors at 8",
        "reference": "d-1",
    }
    http_receiver.script = [502, 400]
    with pytest.raises(DeliveryFailed) as server_error:
        backend.send(to="+4915123456789", text="x", reference="d-2")
    assert server_error.value.retryable and server_error.value.code == 502
    with pytest.raises(DeliveryFailed) as bad_request:
        backend.send(to="+4915123456789", text="x", reference="d-3")
    assert not bad_request.value.retryable


def test_console_sms_prints(capsys: Any) -> None:
    ConsoleSmsBackend().send(to="+4915123456789", text="Hello", reference="r")
    assert "SMS to +4915123456789 [r]: Hello" in capsys.readouterr().out


def test_calendar_file_escapes_and_folds(db: None) -> None:
    event = make_event(title="Rock, Paper; Scissors " + "x" * 80)
    ics = event_ics(event).decode()
    assert "SUMMARY:Rock\\, Paper\\; Scissors" in ics
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    assert ics.endswith("END:VCALENDAR\r\n")
    assert mail.outbox == []


def test_api_shows_the_delivery_log_and_deletes_an_endpoint(
    client: Client, organizer: User, event: Event, http_receiver: HttpReceiver
) -> None:
    endpoint = WebhookEndpoint.objects.create(
        organization=event.organization, url=f"{http_receiver.url}/h", topics=["event.changed"]
    )
    http_receiver.script = [500]
    message = Message.objects.create(
        topic="webhook.test",
        audience="endpoint",
        dedupe_key="x",
        endpoint=endpoint,
        organization=event.organization,
    )
    ((delivery_id, _),) = message_fan_out(message_id=message.pk)
    assert delivery_send(delivery_id=delivery_id).status == "retry"
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=None, status="pending")
    assert delivery_send(delivery_id=delivery_id).status == "sent"
    headers = bearer(organizer)
    log = client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries", headers=headers).json()
    assert [(a["number"], a["response_code"]) for a in log[0]["attempts"]] == [(1, 500), (2, 200)]
    assert log[0]["event_id"] == str(message.pk)
    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}", headers=headers).status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_notification_centre_and_webhook_log_take_a_fixed_number_of_queries(
    client: Client, organizer: User, event: Event, django_assert_max_num_queries: Any
) -> None:
    message = Message.objects.create(topic="event.changed", audience="org", dedupe_key="q")
    Notification.objects.bulk_create(
        Notification(
            user=organizer,
            message=Message.objects.create(
                topic="event.changed", audience="user", dedupe_key=f"n{n}"
            ),
            title=f"T{n}",
            body="b",
        )
        for n in range(30)
    )
    endpoint = WebhookEndpoint.objects.create(
        organization=event.organization, url="https://a.test/h", topics=["event.changed"]
    )
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            message=message, channel="webhook", recipient=f"{endpoint.pk}-{n}", endpoint=endpoint
        )
        for n in range(30)
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery=d, number=1, succeeded=False, response_code=500)
        for d in deliveries
    )
    client.force_login(organizer)
    with django_assert_max_num_queries(10):
        assert client.get("/notifications/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(f"/manage/webhooks/{endpoint.pk}/").status_code == 200

"""Marketing goes only to people with a recorded consent (when, where, what they agreed to)."""

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client

from accounts.models import AuditEntry, User
from notifications.models import Delivery, MarketingConsent, Message, Topic
from notifications.preferences import marketing_consent_set, preference_update
from notifications.services import marketing_message_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _wants_marketing_mail() -> User:
    user = UserFactory.create()
    preference_update(user=user, marketing_email=True)  # a channel choice is not consent
    return user


def test_without_a_recorded_consent_nothing_is_recorded_or_sent() -> None:
    user = _wants_marketing_mail()

    assert (
        marketing_message_record(campaign_key="spring", user_id=user.pk, subject="S", body="B")
        is None
    )

    assert not Message.objects.filter(topic=Topic.MARKETING_NEWS).exists()
    assert mail.outbox == []


def test_with_consent_the_mail_goes_out_and_the_consent_is_on_record() -> None:
    user = _wants_marketing_mail()
    consent = marketing_consent_set(
        user=user, given=True, source=MarketingConsent.Source.SETTINGS_PAGE
    )

    marketing_message_record(
        campaign_key="spring", user_id=user.pk, subject="Spring news", body="B"
    )

    assert [m.subject for m in mail.outbox] == ["Spring news"]
    assert mail.outbox[0].extra_headers.get("List-Unsubscribe")
    assert consent is not None and consent.given_at and consent.source == "settings_page"
    assert "withdraw" in consent.wording
    assert AuditEntry.objects.filter(action="privacy.consent_give", actor=user).exists()


def test_a_consent_withdrawn_before_the_fan_out_wins() -> None:
    user = _wants_marketing_mail()
    marketing_consent_set(user=user, given=True, source="settings_page")

    with transaction.atomic():
        marketing_message_record(campaign_key="late", user_id=user.pk, subject="Late", body="B")
        # Withdrawn in the same breath: the message is recorded, but fan-out checks again.
        MarketingConsent.objects.filter(user=user).update(withdrawn_at="2026-01-01T00:00Z")

    assert not Delivery.objects.filter(message__topic=Topic.MARKETING_NEWS).exists()
    assert mail.outbox == []


def test_the_privacy_page_gives_and_withdraws_consent_and_keeps_the_history() -> None:
    user = UserFactory.create()
    client = Client()
    client.force_login(user)

    assert client.post("/account/privacy/consent", {"marketing": "on"}).status_code == 302
    assert client.post("/account/privacy/consent", {"marketing": "on"}).status_code == 302
    assert "checked" in client.get("/account/privacy/").content.decode()
    assert client.post("/account/privacy/consent", {}).status_code == 302

    [consent] = MarketingConsent.objects.filter(user=user)
    assert consent.source == "settings_page" and consent.withdrawn_at is not None
    assert consent.withdrawn_source == "settings_page"

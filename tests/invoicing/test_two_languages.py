"""English and German: the switcher on every page, the buyer's language for mail and PDFs."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import User
from events.models import TicketTier
from notifications.content import render
from notifications.models import Message
from tests.factories import UserFactory, order_paid, order_reserved
from tests.invoicing.conftest import pdf_text

pytestmark = pytest.mark.django_db


def test_the_switcher_changes_the_page_language_and_remembers_it_for_mail(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    client.force_login(attendee)
    order = order_reserved(buyer=attendee, tier=tier)
    english = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'lang="en"' in english and "Checkout" in english
    assert 'action="/i18n/setlang/"' in english  # on the page, as on every page (base.html)
    response = client.post("/i18n/setlang/", {"language": "de", "next": f"/orders/{order.pk}/"})
    assert response.status_code == 302
    german = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'lang="de"' in german and "Kasse" in german and "Wer kommt" in german
    attendee.refresh_from_db()
    assert attendee.language == "de"
    assert client.post("/i18n/setlang/", {"language": "xx"}).status_code == 302
    attendee.refresh_from_db()
    assert attendee.language == "de"  # a language we do not offer changes nothing


def test_money_and_dates_follow_the_language(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    tier.price = Decimal("1234.50")
    tier.save()
    client.force_login(attendee)
    order = order_reserved(buyer=attendee, tier=tier)
    assert "1,234.50 EUR" in client.get(f"/orders/{order.pk}/").content.decode()
    german = client.get(f"/orders/{order.pk}/", headers={"accept-language": "de"})
    assert "1.234,50 €" in german.content.decode().replace("\xa0", " ")


def test_the_confirmation_mail_is_written_in_the_buyers_language(
    attendee: User, tier: TicketTier
) -> None:
    attendee.language = "de"
    attendee.save()
    order_paid(buyer=attendee, tier=tier)
    # What the email channel sends: the outbox message rendered for its recipient.
    rendered = render(Message.objects.get(topic="order.confirmed"), attendee)
    assert rendered.subject == f"Ihre Tickets für {tier.event.title}"
    assert "ist bestätigt" in rendered.text
    assert "Quittung (PDF)" in rendered.text and "/receipt.pdf" in rendered.text
    english = render(Message.objects.get(topic="order.confirmed"), UserFactory.create())
    assert english.subject == f"Your tickets for {tier.event.title}"


def test_the_receipt_pdf_reads_in_german(client: Client, attendee: User, tier: TicketTier) -> None:
    tier.price = Decimal("1234.50")
    tier.save()
    order = order_paid(buyer=attendee, tier=tier).order
    client.force_login(attendee)
    response = client.get(f"/orders/{order.pk}/receipt.pdf", headers={"accept-language": "de"})
    text = pdf_text(response.content).replace("\xa0", " ")
    assert "Quittung" in text and "Bezahlt" in text
    assert "1.234,50 €" in text

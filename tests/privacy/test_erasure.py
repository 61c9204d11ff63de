"""Erasing an account: the address is gone from every table, the money records and the
organizer's figures stay, future tickets are refunded or kept by each event's rules."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditEntry, Membership, User
from analytics.selectors import event_figures
from invoicing.models import Document
from privacy.erasure import ERASED_DOMAIN, account_erase
from privacy.errors import OwnerCannotErase
from tests.factories import MembershipFactory
from tests.privacy.scenario import buyer_with_history, where_text_appears
from ticketing.models import Order, Payment, Refund, Ticket
from ticketing.selectors import event_revenue_net

# transaction=True: the outbox runs after commit, as in production (mail, deliveries).
pytestmark = pytest.mark.django_db(transaction=True)


def test_after_erasure_the_address_is_in_no_text_column_of_any_table() -> None:
    buyer = buyer_with_history()
    before = where_text_appears(buyer.email)
    # The search can fail: the address was in many places before.
    assert {
        "accounts_user.email",
        "notifications_delivery.recipient",
        "ticketing_transfer.to_email",
        "django_admin_log.object_repr",
        "events_feedback.comment",
    } <= set(before), before

    account_erase(user=buyer.user)

    assert where_text_appears(buyer.email) == []
    assert where_text_appears("Ada Lovelace") == [], "the name went too"
    # Nor is it anywhere in the audit trail, which could not be edited afterwards.
    assert not AuditEntry.objects.filter(changes__icontains=buyer.email).exists()
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact" in out.getvalue()


def test_revenue_and_money_records_stay_and_refunds_follow_each_events_rules() -> None:
    buyer = buyer_with_history()
    user = buyer.user
    revenue = {
        e.pk: event_revenue_net(e.pk) for e in (buyer.past, buyer.refundable, buyer.no_refunds)
    }
    figures = {e.pk: event_figures(e).revenue for e in (buyer.past, buyer.no_refunds)}
    orders, payments = Order.objects.filter(buyer=user).count(), Payment.objects.count()
    documents = Document.objects.count()
    mail.outbox.clear()

    erasure = account_erase(user=user)

    outcomes = {o.event: o for o in erasure.outcomes}
    assert outcomes["Spring Gala"].result == "refunded"
    assert outcomes["Spring Gala"].tickets == 2
    assert outcomes["Summer Festival"].result == "kept"
    assert "Last Winter" not in outcomes  # it is over: nothing to decide
    # The received ticket is theirs to keep (the sender paid for it) -- it was never accepted
    # here, so only their own two orders are listed besides.
    refund = Refund.objects.get(order__buyer=user)
    assert refund.amount == Decimal("80.00")
    # The organizer's figures: unchanged where nothing was refunded, down by the refund where
    # the event's rules gave the money back, exactly as any refund does.
    assert event_revenue_net(buyer.past.pk) == revenue[buyer.past.pk]
    assert event_revenue_net(buyer.no_refunds.pk) == revenue[buyer.no_refunds.pk]
    assert event_revenue_net(buyer.refundable.pk) == revenue[buyer.refundable.pk] - refund.amount
    assert {e.pk: event_figures(e).revenue for e in (buyer.past, buyer.no_refunds)} == figures
    # Amounts, dates and invoices stay, linked to the pseudonym.
    assert Order.objects.filter(buyer=user).count() == orders
    assert Payment.objects.count() == payments
    assert Document.objects.count() >= documents  # the refund adds its credit note
    user.refresh_from_db()
    assert user.email.endswith("@" + ERASED_DOMAIN) and not user.is_active
    assert not user.has_usable_password()
    kept = Ticket.objects.filter(order__buyer=user, event=buyer.no_refunds)
    assert {t.status for t in kept} == {Ticket.Status.VALID}
    # Told which, by one mail to the address they had.
    [notice] = [m for m in mail.outbox if "erased" in m.subject]
    assert notice.to == [buyer.email]
    assert "Spring Gala" in notice.body and "refunded" in notice.body
    assert "Summer Festival" in notice.body and "kept" in notice.body


def test_erasing_twice_changes_nothing_more() -> None:
    buyer = buyer_with_history()
    first = account_erase(user=buyer.user)
    refunds = Refund.objects.count()

    second = account_erase(user=User.objects.get(pk=buyer.user.pk))

    assert second.pseudonym == first.pseudonym
    assert Refund.objects.count() == refunds


def test_an_owner_must_hand_over_the_organization_first() -> None:
    owner = MembershipFactory.create(role=Membership.Role.OWNER).user

    with pytest.raises(OwnerCannotErase):
        account_erase(user=owner)

    owner.refresh_from_db()
    assert owner.is_active


def test_the_erase_page_asks_for_the_address_then_signs_out_and_shows_the_outcome() -> None:
    buyer = buyer_with_history()
    client = Client()
    client.force_login(buyer.user)

    wrong = client.post("/account/privacy/erase", {"email": "someone@example.org"})
    assert wrong.status_code == 422
    assert User.objects.get(pk=buyer.user.pk).email == buyer.email

    page = client.post("/account/privacy/erase", {"email": buyer.email.upper()})

    assert page.status_code == 200
    text = page.content.decode()
    assert "Spring Gala" in text and "Refunded" in text
    assert "Summer Festival" in text and "Kept" in text
    assert client.get("/account/privacy/").status_code == 302  # signed out

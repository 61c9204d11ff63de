"""Sign-up mail through Celery, the create_user command, and every admin page."""

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, User
from tests.factories import TicketTierFactory, UserFactory, order_paid


@pytest.mark.django_db
def test_signing_up_on_the_page_sends_the_verification_mail_via_celery(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "email": "new@example.com",
                "password1": "a-long-pass-phrase",
                "password2": "a-long-pass-phrase",
            },
        )

    assert response.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()
    assert len(mail.outbox) == 1  # sent by the Celery task (run inline in tests) after commit
    assert mail.outbox[0].to == ["new@example.com"]
    assert "/accounts/confirm-email/" in mail.outbox[0].body


@pytest.mark.django_db
def test_password_reset_mail_is_sent(
    client: Client, attendee: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": attendee.email})

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[attendee.email]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "membership", "staff"),
    [("attendee", None, False), ("organizer", "owner", False), ("admin", None, True)],
)
def test_create_user_makes_each_role(role: str, membership: str | None, staff: bool) -> None:
    extra = ["--organization", "Night Owls"] if membership else []
    call_command(
        "create_user", "--email", "X@Example.com", "--password", "pw-123456", "--role", role, *extra
    )

    user = User.objects.get(email="x@example.com")
    assert user.check_password("pw-123456")
    assert (user.is_staff, user.is_superuser) == (staff, staff)
    roles = list(Membership.objects.filter(user=user).values_list("role", flat=True))
    assert roles == ([membership] if membership else [])


@pytest.mark.django_db
def test_create_user_door_needs_an_existing_organization() -> None:
    with pytest.raises(CommandError):
        call_command(
            "create_user",
            "--email",
            "d@example.com",
            "--password",
            "pw",
            "--role",
            "door",
            "--organization",
            "Nobody Ltd",
        )
    assert not Organization.objects.exists()
    call_command(
        "create_user",
        "--email",
        "o@example.com",
        "--password",
        "pw",
        "--role",
        "organizer",
        "--organization",
        "Somebody Ltd",
    )
    call_command(
        "create_user",
        "--email",
        "d@example.com",
        "--password",
        "pw",
        "--role",
        "door",
        "--organization",
        "Somebody Ltd",
    )
    assert Membership.objects.get(user__email="d@example.com").role == "door"


@pytest.mark.django_db
def test_every_admin_list_search_and_add_page_answers(client: Client) -> None:
    tier = TicketTierFactory.create()
    order_paid(buyer=UserFactory.create(), tier=tier)
    admin_user = UserFactory.create(is_staff=True, is_superuser=True)
    # The admin opens only for someone with a second factor (accounts/middleware.py).
    Authenticator.objects.create(user=admin_user, type=Authenticator.Type.TOTP, data={})
    client.force_login(admin_user)

    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        if model_admin.search_fields:
            assert client.get(changelist, {"q": "x"}).status_code == 200, changelist
        first = model._default_manager.first()
        if first is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert client.get(change).status_code == 200, change

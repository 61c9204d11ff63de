"""accounts.services: sign-up, API tokens, organizations."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.errors import EmailTaken, InvalidCredentials, InvalidEmail, WeakPassword
from accounts.models import ApiToken, AuditEntry, Membership, Organization, User
from accounts.selectors import organizations_managed_by, organizations_with_door_access
from accounts.services import (
    api_token_issue,
    api_token_user,
    membership_grant,
    organization_create,
    token_lookups,
    user_sign_up,
)
from tests.factories import PASSWORD, UserFactory


def test_sign_up_creates_a_user_with_a_normalised_email(db: None) -> None:
    user = user_sign_up(email="  Ada@Example.COM ", password="a-long-passphrase-42")

    assert user.email == "ada@example.com"
    assert user.check_password("a-long-passphrase-42")
    assert User.objects.count() == 1


def test_sign_up_with_a_taken_email_is_refused_case_insensitively(attendee: User) -> None:
    with pytest.raises(EmailTaken):
        user_sign_up(email=attendee.email.upper(), password="a-long-passphrase-42")

    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        ("not-an-email", "a-long-passphrase-42", InvalidEmail),
        ("weak@example.com", "123", WeakPassword),
        ("weak@example.com", "password", WeakPassword),
    ],
)
def test_sign_up_refuses_bad_email_or_weak_password(
    db: None, email: str, password: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        user_sign_up(email=email, password=password)

    assert User.objects.count() == 0


def test_token_is_issued_for_the_right_password_and_stored_only_as_a_digest(
    attendee: User,
) -> None:
    token = api_token_issue(email=attendee.email, password=PASSWORD)

    row = ApiToken.objects.get(user=attendee)
    assert row.digest == ApiToken.digest_of(token) != token
    assert api_token_user(token) == attendee


@pytest.mark.parametrize("password", ["wrong", ""])
def test_token_is_refused_for_a_wrong_password(attendee: User, password: str) -> None:
    with pytest.raises(InvalidCredentials):
        api_token_issue(email=attendee.email, password=password)

    assert ApiToken.objects.count() == 0


def test_token_of_an_inactive_user_stops_working(attendee: User) -> None:
    token = api_token_issue(email=attendee.email, password=PASSWORD)
    User.objects.filter(pk=attendee.pk).update(is_active=False)

    assert api_token_user(token) is None
    assert api_token_user("bo_made-up") is None


def test_token_use_is_recorded_at_most_hourly(
    attendee: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = api_token_issue(email=attendee.email, password=PASSWORD)
    api_token_user(token)
    first = ApiToken.objects.get().last_used_at
    assert first is not None

    api_token_user(token)
    assert ApiToken.objects.get().last_used_at == first

    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(hours=2))
    # Two hours on, this process's cached lookup (seconds) is long gone too.
    later = time.monotonic() + settings.API_TOKEN_CACHE_SECONDS + 1
    monkeypatch.setattr(token_lookups, "clock", lambda: later)
    api_token_user(token)
    assert ApiToken.objects.get().last_used_at > first  # type: ignore[operator]


def test_organization_create_makes_the_creator_owner_and_is_audited(attendee: User) -> None:
    first = organization_create(owner=attendee, name="Night Owls")
    second = organization_create(owner=UserFactory.create(), name="Night Owls!")

    assert (first.slug, second.slug) == ("night-owls", "night-owls-2")
    assert Membership.objects.get(organization=first).role == Membership.Role.OWNER
    assert list(organizations_managed_by(attendee)) == [first]
    entry = AuditEntry.objects.get(action="organization.create", target_id=str(first.pk))
    assert (entry.actor, entry.organization) == (attendee, first)


def test_door_membership_grants_door_access_but_not_management(attendee: User) -> None:
    organization = Organization.objects.create(name="Club", slug="club")

    membership_grant(organization=organization, user=attendee, role=Membership.Role.DOOR)

    assert list(organizations_with_door_access(attendee)) == [organization]
    assert list(organizations_managed_by(attendee)) == []
    membership_grant(organization=organization, user=attendee, role=Membership.Role.MANAGER)
    assert list(organizations_managed_by(attendee)) == [organization]
    assert Membership.objects.filter(user=attendee).count() == 1

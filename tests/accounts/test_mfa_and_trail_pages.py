"""Second factors where they are required, the owner's audit trail page, and sessions."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.test import Client

from accounts.models import AuditEntry, Membership, Organization, User
from accounts.services import audit_record
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def with_totp(user: User) -> User:
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return user


def test_admins_must_set_up_a_second_factor_before_the_admin(db: None) -> None:
    admin: User = UserFactory.create(is_staff=True, is_superuser=True)

    response = signed_in(admin).get("/admin/")

    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
    assert signed_in(with_totp(admin)).get("/admin/").status_code == 200


def test_the_admin_login_is_the_sites_login_with_its_second_factor(client: Client) -> None:
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_owner_can_require_a_second_factor_of_managers(organizer: User) -> None:
    org = organizer.organizations.get()
    manager = MembershipFactory.create(organization=org, role=Membership.Role.MANAGER).user
    assert signed_in(manager).get("/manage/").status_code == 200

    response = signed_in(organizer).post(
        f"/account/organizations/{org.pk}/security", {"require_mfa_for_managers": "on"}
    )

    assert response.status_code == 302
    assert Organization.objects.get(pk=org.pk).require_mfa_for_managers
    assert signed_in(manager).get("/manage/")["Location"] == "/accounts/2fa/"
    assert signed_in(with_totp(manager)).get("/manage/").status_code == 200
    assert AuditEntry.objects.filter(action="organization.require_mfa").count() == 1


def test_only_owners_change_the_requirement(organizer: User) -> None:
    org = organizer.organizations.get()
    manager = MembershipFactory.create(organization=org, role=Membership.Role.MANAGER).user

    response = signed_in(manager).post(
        f"/account/organizations/{org.pk}/security", {"require_mfa_for_managers": "on"}
    )

    assert response.status_code == 404
    assert not Organization.objects.get(pk=org.pk).require_mfa_for_managers


def test_owners_see_their_organizations_trail_and_only_theirs(organizer: User) -> None:
    own = organizer.organizations.get()
    other: Organization = OrganizationFactory.create()
    audit_record(actor=organizer, action="order.refund", target=own, organization=own)
    audit_record(actor=None, action="order.secret", target=other, organization=other)

    page = signed_in(organizer).get("/account/audit/")
    filtered = signed_in(organizer).get("/account/audit/?action=event.")
    stranger = signed_in(UserFactory.create()).get("/account/audit/")

    assert page.status_code == 200
    assert "order.refund" in page.content.decode()
    assert "order.secret" not in page.content.decode()
    assert "order.refund" not in filtered.content.decode()
    assert stranger.status_code == 403


def test_adding_an_authenticator_is_recorded(attendee: User) -> None:
    authenticator = Authenticator.objects.create(
        user=attendee, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )

    authenticator_added.send(
        sender=Authenticator, request=None, user=attendee, authenticator=authenticator
    )

    entry = AuditEntry.objects.get(action="mfa.added")
    assert entry.actor_id == attendee.pk and entry.changes == {"type": "totp"}


def test_people_list_their_sessions(attendee: User) -> None:
    response = signed_in(attendee).get("/accounts/sessions/")

    assert response.status_code == 200

"""The integrations page: an owner registers a server as an OAuth2 client, copies its secret
once, the secret gets tokens for the organization, and ending the integration ends its tokens."""

import re

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, Application

from accounts.models import AuditEntry, Membership, Organization, User
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def page_url(organization: Organization) -> str:
    return f"/account/organizations/{organization.pk}/integrations"


def client_credentials(client_id: str, secret: str) -> tuple[int, dict[str, str]]:
    answer = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "events:read",
        },
    )
    return answer.status_code, answer.json()


def test_owner_creates_an_integration_uses_it_and_ends_it(client: Client, organizer: User) -> None:
    organization = organizer.organizations.get()
    client.force_login(organizer)
    assert "No integrations yet" in client.get(page_url(organization)).content.decode()

    created = client.post(page_url(organization), {"create": "1", "name": "Badge printer"})
    html = created.content.decode()
    client_id = re.search(r'id="client-id">([^<]+)<', html)
    secret = re.search(r'id="client-secret">([^<]+)<', html)
    assert created.status_code == 200 and client_id and secret
    assert created["Cache-Control"] == "no-store"
    # Shown once: the list afterwards names the integration but not its secret.
    listing = client.get(page_url(organization)).content.decode()
    assert "Badge printer" in listing and secret.group(1) not in listing

    status, token = client_credentials(client_id.group(1), secret.group(1))
    assert status == 200
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert Client().get("/api/v1/organizer/events", headers=bearer).status_code == 200

    application = Application.objects.get(client_id=client_id.group(1))
    integration_id = application.integration.pk
    ended = client.post(page_url(organization), {"revoke": str(integration_id)})
    assert ended.status_code == 302

    after = Client().get("/api/v1/organizer/events", headers=bearer)
    assert after.status_code == 401
    assert client_credentials(client_id.group(1), secret.group(1))[0] == 401
    assert not AccessToken.objects.exists()
    assert list(
        AuditEntry.objects.filter(organization=organization, action__startswith="oauth.integration")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["oauth.integration.create", "oauth.integration.revoke"]


def test_an_empty_name_is_a_form_error_and_creates_nothing(client: Client, organizer: User) -> None:
    organization = organizer.organizations.get()
    client.force_login(organizer)

    response = client.post(page_url(organization), {"create": "1", "name": ""})

    assert response.status_code == 422
    assert "This field is required" in response.content.decode()
    assert not Application.objects.exists()


def test_another_organizations_owner_cannot_end_an_integration(
    client: Client, organizer: User
) -> None:
    organization = organizer.organizations.get()
    client.force_login(organizer)
    client.post(page_url(organization), {"create": "1", "name": "CRM sync"})
    integration_id = Application.objects.get().integration.pk
    stranger: User = MembershipFactory(role=Membership.Role.OWNER).user  # type: ignore[assignment]
    other = Client()
    other.force_login(stranger)

    # Their own page, someone else's integration id: nothing ends.
    response = other.post(
        page_url(stranger.organizations.get()), {"revoke": str(integration_id)}, follow=True
    )

    assert "does not exist any more" in response.content.decode()
    assert Application.objects.filter(integration__pk=integration_id).exists()
    assert other.get(page_url(organization)).status_code == 404

"""The organization's logo page: the owner uploads, replaces and removes the logo; the sizes are
made after the commit; nobody else may change it."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import AuditEntry, Membership, Organization, User
from tests.events.test_cover_images import picture_upload
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def logo_url(organization: Organization) -> str:
    return f"/account/organizations/{organization.pk}/logo"


def test_owner_uploads_replaces_and_removes_the_logo(
    client: Client, organizer: User, media: Path, django_capture_on_commit_callbacks
) -> None:
    organization = organizer.organizations.get()
    client.force_login(organizer)
    page = client.get(logo_url(organization)).content.decode()
    assert "No logo yet" in page and "Upload the logo" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(logo_url(organization), {"logo": picture_upload(900, 900)})
    assert response.status_code == 302
    organization.refresh_from_db()
    first = organization.logo.name
    assert (organization.logo_width, organization.logo_height) == (900, 900)
    # The task ran after the commit: the sizes exist, and the page serves them.
    widths = [v["width"] for v in organization.logo_variants["webp"]]
    assert widths == [400, 800, 900]
    assert all(default_storage.exists(v["name"]) for v in organization.logo_variants["jpg"])
    page = client.get(logo_url(organization)).content.decode()
    assert 'type="image/webp"' in page and "Replace the logo" in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(logo_url(organization), {"logo": picture_upload(500, 500, name="new.png")})
    organization.refresh_from_db()
    assert organization.logo.name != first
    assert organization.logo_variants["source"] == organization.logo.name

    response = client.post(logo_url(organization), {"remove": "1"})
    assert response.status_code == 302
    organization.refresh_from_db()
    assert not organization.logo and organization.logo_variants == {}
    assert organization.logo_width is None
    actions = AuditEntry.objects.filter(action="organization.logo").count()
    assert actions == 3


def test_a_file_that_is_not_a_picture_is_refused(
    client: Client, organizer: User, media: Path
) -> None:
    organization = organizer.organizations.get()
    client.force_login(organizer)
    fake = SimpleUploadedFile("logo.png", b"not a picture", content_type="image/png")
    response = client.post(logo_url(organization), {"logo": fake})
    assert response.status_code == 422
    assert 'class="field-error"' in response.content.decode()
    organization.refresh_from_db()
    assert not organization.logo


@pytest.mark.parametrize("role", [Membership.Role.MANAGER, Membership.Role.DOOR, None])
def test_only_the_owner_may_change_the_logo(
    client: Client, organizer: User, media: Path, role: str | None
) -> None:
    organization = organizer.organizations.get()
    other = (
        MembershipFactory.create(organization=organization, role=role).user
        if role
        else MembershipFactory.create().user
    )
    client.force_login(other)
    assert client.get(logo_url(organization)).status_code == 404
    response = client.post(logo_url(organization), {"logo": picture_upload(400, 400)})
    assert response.status_code == 404
    organization.refresh_from_db()
    assert not organization.logo

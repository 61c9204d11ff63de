"""The organization's logo page: the owner uploads, replaces and removes the logo; the sizes are
made after the commit; nobody else may change it."""

import json
import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import AuditEntry, Membership, Organization, User
from events.models import Event
from tests.events.test_cover_images import picture_upload
from tests.factories import MembershipFactory, TicketTierFactory

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


def test_public_pages_show_the_logo_in_sizes_lazily_and_are_redrawn_when_it_changes(
    client: Client,
    organizer: User,
    event: Event,
    media: Path,
    django_capture_on_commit_callbacks,
) -> None:
    TicketTierFactory.create(event=event)
    organization = organizer.organizations.get()
    page = event.get_absolute_url()
    before = client.get(page).content.decode()  # anonymous: now in the page cache
    assert 'class="org-mark"' not in before

    client.force_login(organizer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(logo_url(organization), {"logo": picture_upload(900, 900)})
    client.logout()
    organization.refresh_from_db()
    small = organization.logo_variants["webp"][0]["name"]

    html = client.get(page).content.decode()  # the upload and its sizes emptied the cache
    mark = re.search(r'<span class="org-mark">(.*?)</span>', html, re.S)
    assert mark, "the event page shows the organizer's logo"
    assert f"{small} 400w" in mark[1] and 'loading="lazy"' in mark[1] and 'alt=""' in mark[1]
    json_ld = re.search(r'application/ld\+json">(.*?)</script>', html, re.S)
    assert json_ld
    data = json.loads(json_ld[1])
    assert (
        data["organizer"]["logo"].startswith("http")
        and "organizations/" in data["organizer"]["logo"]
    )
    # A card without a cover picture shows the logo on its plain cover.
    listing = client.get("/events/").content.decode()
    assert 'class="org-mark"' in listing and f"{small} 400w" in listing

    client.force_login(organizer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(logo_url(organization), {"remove": "1"})
    client.logout()
    assert 'class="org-mark"' not in client.get(page).content.decode()

"""Cover pictures: an organizer uploads one, Celery makes the sizes, pages serve them."""

import io
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from accounts.models import User
from events.forms import EventForm
from events.models import Event, TicketTier
from events.services import event_cover_set
from tests.factories import EventFactory, TicketTierFactory
from tests.notifications.conftest import (  # noqa: F401 - fixtures for the real worker
    WorkerFactory,
    private_broker,
    smtp_server,
    start_worker,
    wait_for,
)


def picture_upload(
    width: int, height: int, fmt: str = "PNG", name: str = "cover.png"
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


@pytest.fixture
def organizer_client(client: Client, organizer: User) -> Client:
    client.force_login(organizer)
    return client


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def edit_form_data(event: Event, tier: TicketTier, **extra: object) -> dict[str, object]:
    data = {k: v for k, v in EventForm.initial_for(event).items() if v is not None}
    data["category"] = event.category_id or ""
    data.pop("cover_image", None)
    data.update(
        {
            "tiers-TOTAL_FORMS": "1",
            "tiers-INITIAL_FORMS": "0",
            "tiers-MIN_NUM_FORMS": "1",
            "tiers-MAX_NUM_FORMS": "1000",
            "tiers-0-id": str(tier.pk),
            "tiers-0-name": tier.name,
            "tiers-0-price": str(tier.price),
            "tiers-0-capacity": str(tier.capacity),
            "tiers-0-max_per_order": str(tier.max_per_order),
        }
    )
    data.update(extra)
    return data


def opened(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as handle:
        image = Image.open(handle)
        image.load()
        return image


def test_organizer_uploads_a_cover_and_gets_webp_and_jpeg_in_three_widths(
    organizer_client: Client, event: Event, media: Path, django_capture_on_commit_callbacks
) -> None:
    tier = TicketTierFactory.create(event=event)
    upload = picture_upload(1600, 900)

    with django_capture_on_commit_callbacks(execute=True):
        response = organizer_client.post(
            f"/manage/events/{event.pk}/",
            edit_form_data(event, tier, cover_image=upload, cover_alt="A red stage"),
        )

    assert response.status_code == 302, response.content.decode()[:2000]
    event.refresh_from_db()
    assert (event.cover_width, event.cover_height, event.cover_alt) == (1600, 900, "A red stage")
    variants = event.cover_variants
    for ext, pil_format in (("webp", "WEBP"), ("jpg", "JPEG")):
        sizes = [(v["width"], v["height"]) for v in variants[ext]]
        assert sizes == [(400, 225), (800, 450), (1200, 675)]
        for variant in variants[ext]:
            image = opened(variant["name"])
            assert image.format == pil_format
            assert image.size == (variant["width"], variant["height"])


def test_a_small_picture_is_never_enlarged(
    event: Event, organizer: User, media: Path, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        event_cover_set(actor=organizer, event=event, image=picture_upload(500, 250))

    event.refresh_from_db()
    assert [v["width"] for v in event.cover_variants["webp"]] == [400, 500]


def test_a_file_that_is_not_a_picture_is_a_form_error(
    organizer_client: Client, event: Event, media: Path
) -> None:
    tier = TicketTierFactory.create(event=event)
    fake = SimpleUploadedFile("cover.png", b"%PDF-1.4 not a picture", content_type="image/png")

    response = organizer_client.post(
        f"/manage/events/{event.pk}/", edit_form_data(event, tier, cover_image=fake)
    )

    assert response.status_code == 200
    assert response.context["form"].errors["cover_image"]
    event.refresh_from_db()
    assert not event.cover_image


def test_cards_and_event_page_serve_sizes_with_their_box_and_lazy_loading(
    client: Client, event: Event, organizer: User, media: Path, django_capture_on_commit_callbacks
) -> None:
    TicketTierFactory.create(event=event)
    later_event = EventFactory.create(
        organization=event.organization, starts_at=event.starts_at + timedelta(days=1)
    )
    later_event.ends_at = later_event.starts_at + timedelta(hours=2)
    later_event.save()
    with django_capture_on_commit_callbacks(execute=True):
        event_cover_set(actor=organizer, event=event, image=picture_upload(1600, 800))
        event_cover_set(actor=organizer, event=later_event, image=picture_upload(1600, 800))

    listing = client.get("/events/").content.decode()
    card = re.search(r"<picture>.*?</picture>", listing, re.S)
    assert card, "the card shows the cover"
    assert 'type="image/webp"' in card.group(0)
    assert re.search(
        r'srcset="[^"]+-400\.webp 400w, [^"]+-800\.webp 800w, [^"]+-1200\.webp', card.group(0)
    )
    assert 'width="800" height="400"' in card.group(0)
    assert 'fetchpriority="high"' in card.group(0)  # the first card is the largest paint
    later = re.findall(r"<picture>.*?</picture>", listing, re.S)[1:]
    assert len(later) == 1
    assert all('loading="lazy"' in picture for picture in later)

    page = client.get(event.get_absolute_url()).content.decode()
    hero = re.search(r'<div class="event-cover">.*?</picture>', page, re.S)
    assert hero and 'fetchpriority="high"' in hero.group(0) and "loading=" not in hero.group(0)


def test_uploaded_files_are_served_from_the_media_url(
    client: Client, event: Event, organizer: User, media: Path, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        event_cover_set(actor=organizer, event=event, image=picture_upload(800, 400))
    event.refresh_from_db()

    response = client.get(default_storage.url(event.cover_variants["webp"][0]["name"]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"RIFF"  # type: ignore[attr-defined]


@pytest.mark.real_celery
@pytest.mark.django_db(transaction=True)
def test_the_worker_makes_the_sizes_after_the_upload_commits(
    start_worker: WorkerFactory,  # noqa: F811
    organizer: User,
    settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "shared-media"
    worker = start_worker(MEDIA_ROOT=str(settings.MEDIA_ROOT))
    event = EventFactory.create(organization=organizer.organizations.get())

    event_cover_set(actor=organizer, event=event, image=picture_upload(1300, 650))
    assert Event.objects.get(pk=event.pk).cover_variants == {}  # the request did not wait

    wait_for(
        lambda: bool(Event.objects.get(pk=event.pk).cover_variants),
        timeout=30,
        what="the cover sizes",
        log=worker.log,
    )
    time.sleep(0.2)
    variants = Event.objects.get(pk=event.pk).cover_variants
    assert [v["width"] for v in variants["jpg"]] == [400, 800, 1200]
    assert all((settings.MEDIA_ROOT / v["name"]).is_file() for v in variants["webp"])


def test_organizer_removes_the_cover_and_saving_without_an_upload_keeps_it(
    organizer_client: Client, event: Event, organizer: User, media: Path
) -> None:
    tier = TicketTierFactory.create(event=event)
    event_cover_set(actor=organizer, event=event, image=picture_upload(800, 400))
    event.refresh_from_db()

    organizer_client.post(f"/manage/events/{event.pk}/", edit_form_data(event, tier))
    event.refresh_from_db()
    assert event.cover_image

    organizer_client.post(
        f"/manage/events/{event.pk}/", edit_form_data(event, tier, remove_cover="on")
    )
    event.refresh_from_db()
    assert not event.cover_image and event.cover_variants == {}

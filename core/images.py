"""Responsive image variants: the sizes a page needs, in WebP and a JPEG fallback.

An uploaded picture is kept as it came; a Celery task (events.tasks, accounts.tasks) calls
`variants_build`, which writes each width in both formats through Django's default storage (the
filesystem, or any S3-compatible store when configured) and returns a small JSON description the
model keeps. Pages render that description with `components/picture.html` through `Picture`.
"""

import io
import posixpath
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import models
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

# Card thumbnails, the event page on a phone and on a wide screen (and 2x phones).
WIDTHS = (400, 800, 1200)
FORMATS = (("webp", "WEBP", "image/webp"), ("jpg", "JPEG", "image/jpeg"))
QUALITY = 80
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuses decompression bombs long before Pillow's own 89 M limit
ACCEPTED = {"JPEG", "PNG", "WEBP"}


def image_upload_check(upload: Any) -> None:
    """Refuse what a browser cannot show or a worker should not decode (form validator)."""
    if upload is None or not hasattr(upload, "size"):
        return
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The picture is larger than 10 MB."), code="image_too_large")
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        with Image.open(upload) as image:
            if image.format not in ACCEPTED:
                raise ValidationError(_("Upload a JPEG, PNG or WebP picture."), code="image_format")
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError(_("The picture has too many pixels."), code="image_too_large")
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValidationError(
            _("This file is not a picture we can read."), code="image_bad"
        ) from exc
    finally:
        upload.seek(position)


def variants_build(
    source_name: str, *, prefix: str, storage: Storage | None = None
) -> dict[str, Any]:
    """Write every width (never wider than the original) in WebP and JPEG; return their names.

    Safe to run twice: names are derived from the source's name, and a rerun overwrites them.
    """
    storage = storage or default_storage
    with storage.open(source_name, "rb") as handle, Image.open(handle) as opened:
        original = ImageOps.exif_transpose(opened)
        original.load()
    # WebP and JPEG have no palette transparency worth keeping on a cover; flatten onto white.
    if original.mode not in ("RGB", "L"):
        background = Image.new("RGB", original.size, (255, 255, 255))
        rgba = original.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        original = background
    original = original.convert("RGB")
    stem = posixpath.splitext(posixpath.basename(source_name))[0]
    widths = sorted({w for w in WIDTHS if w < original.width} | {min(original.width, WIDTHS[-1])})
    sources: dict[str, list[dict[str, Any]]] = {ext: [] for ext, _format, _mime in FORMATS}
    for width in widths:
        height = round(original.height * width / original.width)
        resized = original.resize((width, height), Image.Resampling.LANCZOS)
        for ext, pil_format, _mime in FORMATS:
            buffer = io.BytesIO()
            resized.save(buffer, pil_format, quality=QUALITY, optimize=True)
            name = f"{prefix}/{stem}-{width}.{ext}"
            if storage.exists(name):
                storage.delete(name)
            saved = storage.save(name, ContentFile(buffer.getvalue()))
            sources[ext].append({"name": saved, "width": width, "height": height})
    return {"source": source_name, "width": original.width, "height": original.height, **sources}


@dataclass(frozen=True)
class Picture:
    """What `components/picture.html` needs: srcsets per format, the fallback and its box."""

    src: str
    width: int
    height: int
    webp_srcset: str
    jpeg_srcset: str

    @classmethod
    def of(
        cls,
        variants: dict[str, Any] | None,
        *,
        fallback_url: str = "",
        width: int = 0,
        height: int = 0,
    ) -> "Picture | None":
        """The picture of a model's variants; the bare upload until the task has run."""
        storage = default_storage
        if variants and variants.get("jpg"):
            jpeg = variants["jpg"]
            middle = jpeg[min(1, len(jpeg) - 1)]
            return cls(
                src=storage.url(middle["name"]),
                width=middle["width"],
                height=middle["height"],
                webp_srcset=", ".join(
                    f"{storage.url(v['name'])} {v['width']}w" for v in variants.get("webp", [])
                ),
                jpeg_srcset=", ".join(f"{storage.url(v['name'])} {v['width']}w" for v in jpeg),
            )
        if fallback_url:
            return cls(src=fallback_url, width=width, height=height, webp_srcset="", jpeg_srcset="")
        return None


@dataclass(frozen=True)
class PictureFields:
    """Where a model keeps one picture: the upload, its box, and the sizes the task made."""

    file: str  # the ImageField, e.g. "cover_image"
    width: str
    height: str
    variants: str
    default_name: str  # for an upload without a name


def picture_replace(obj: Any, fields: PictureFields, image: Any | None) -> tuple[str, str]:
    """Put `image` (None: no picture) in `obj`'s picture field and forget the old sizes; the
    caller saves `obj` in its transaction and queues the sizes. Returns (old name, new name)."""
    picture = getattr(obj, fields.file)
    old = picture.name or ""
    if image is None:
        setattr(obj, fields.file, "")
        setattr(obj, fields.width, None)
        setattr(obj, fields.height, None)
    else:
        picture.save(image.name or fields.default_name, image, save=False)
    setattr(obj, fields.variants, {})
    return old, getattr(obj, fields.file).name or ""


def picture_variants_record(
    model: type[models.Model], pk: Any, fields: PictureFields, *, folder: str
) -> dict[str, Any]:
    """Make the sizes of the row's picture and record them, unless the picture was replaced
    meanwhile (the conditional update keeps a newer upload's still-empty sizes). {} if not."""
    rows = model._default_manager.filter(pk=pk)
    row = rows.only(fields.file).first()
    if row is None or not getattr(row, fields.file):
        return {}
    source = getattr(row, fields.file).name or ""
    variants = variants_build(source, prefix=folder)
    updated = rows.filter(**{fields.file: source}).update(**{fields.variants: variants})
    return variants if updated else {}

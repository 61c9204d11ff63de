import posixpath
import uuid
import zoneinfo
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from core.images import Picture

TIME_ZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones() if "/" in tz)


def cover_upload_to(instance: "Event", filename: str) -> str:
    """A fresh name per upload, so a CDN never serves last week's picture under today's URL."""
    extension = posixpath.splitext(filename)[1].lower()[:6] or ".jpg"
    return f"events/{instance.pk}/cover-{uuid.uuid4().hex[:10]}{extension}"


def default_hold_minutes() -> int:
    return settings.BOXOFFICE_HOLD_MINUTES


class Category(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Venue(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="venues")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, db_index=True)
    country = models.CharField(max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. DE"))
    latitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )

    class Meta:
        # "Near me" first cuts a latitude band out of this index, then measures the distance.
        indexes = [models.Index(fields=["latitude", "longitude"], name="venue_lat_lon")]

    def __str__(self) -> str:
        return f"{self.name}, {self.city}"

    @property
    def map_url(self) -> str:
        if self.latitude is not None and self.longitude is not None:
            return (
                "https://www.openstreetmap.org/?"
                + urlencode({"mlat": self.latitude, "mlon": self.longitude})
                + f"#map=17/{self.latitude}/{self.longitude}"
            )
        query = ", ".join(p for p in (self.name, self.address, self.city, self.country) if p)
        return "https://www.openstreetmap.org/search?" + urlencode({"query": query})


class Event(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="events")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="events")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    hold_minutes = models.PositiveSmallIntegerField(
        default=default_hold_minutes,
        help_text=_("How long reserved tickets are held before payment."),
    )
    max_per_buyer = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Most tickets one person may hold for this event.")
    )
    performers = models.CharField(
        max_length=500, blank=True, help_text=_("Performers or speakers, comma-separated.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept by events.search.search_refresh (title, performers, speakers, category, venue, city,
    # description, weighted); search_text is the short part typos are matched against.
    search_vector = SearchVectorField(null=True, editable=False)
    search_text = models.TextField(blank=True, default="", editable=False)
    # Kept by the feedback services, so sorting 10,000 events by rating reads one row each.
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    rating_sum = models.PositiveIntegerField(default=0, editable=False)
    # The organizer's upload as it came; events.tasks makes the sizes pages use (cover_variants).
    cover_image = models.ImageField(
        upload_to=cover_upload_to,
        blank=True,
        db_default="",
        width_field="cover_width",
        height_field="cover_height",
    )
    cover_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    cover_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    cover_alt = models.CharField(
        max_length=200,
        blank=True,
        db_default="",
        help_text=_("What the picture shows, for people who cannot see it."),
    )
    cover_variants = models.JSONField(default=dict, db_default={}, blank=True, editable=False)
    # The title and description in the site's other languages, entered by the organizer:
    # {"de": {"title": ..., "description": ...}}. Pages read them through `text_in`.
    translations = models.JSONField(default=dict, db_default={}, blank=True)
    # Until when buyers may change their attendees' answers after paying (events.questions);
    # empty: until the event starts.
    answers_editable_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Buyers may change attendee answers until then; empty: until the event starts.",
    )
    # Test and rehearsal events: reachable by their link, never in public lists or search.
    is_test = models.BooleanField(
        default=False,
        db_default=False,
        help_text=_("A test event is only reachable by its link: never listed or found by search."),
    )

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=F("starts_at")), name="event_ends_after_start"
            )
        ]
        indexes = [
            models.Index(fields=["status", "starts_at"]),
            models.Index(fields=["status", "ends_at"], name="event_status_ends"),
            GinIndex(fields=["search_vector"], name="event_search_vector"),
            GinIndex(fields=["search_text"], name="event_search_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("events:detail_slug", kwargs={"event_id": self.pk, "slug": self.slug})

    def text_in(self, field: str, language: str | None) -> str:
        """The title or description in `language` if the organizer wrote one, else as entered."""
        if field not in ("title", "description"):
            raise ValueError(f"{field} is not a translated field")
        code = (language or "").split("-")[0].lower()
        translated = (self.translations or {}).get(code, {}).get(field, "")
        return translated or str(getattr(self, field))

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def local_starts_at(self) -> datetime:
        return timezone.localtime(self.starts_at, self.tz)

    @property
    def local_ends_at(self) -> datetime:
        return timezone.localtime(self.ends_at, self.tz)

    @property
    def is_on_sale(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.ends_at > timezone.now()

    @property
    def has_ended(self) -> bool:
        return self.ends_at <= timezone.now()

    @property
    def cover(self) -> Picture | None:
        """The cover for `components/picture.html`: its sizes once made, the upload until then."""
        if not self.cover_image:
            return None
        return Picture.of(
            self.cover_variants,
            fallback_url=self.cover_image.url,
            width=self.cover_width or 0,
            height=self.cover_height or 0,
        )

    @property
    def rating_average(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None


class TicketTier(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=100)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    capacity = models.PositiveIntegerField()
    # Held + sold. Changed only by ticketing's conditional UPDATE; the CHECK is the last guard.
    sold_count = models.PositiveIntegerField(default=0, editable=False)
    max_per_order = models.PositiveSmallIntegerField(default=10)
    sales_start = models.DateTimeField(null=True, blank=True)
    sales_end = models.DateTimeField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # Hidden from the public and sold only with a voucher code that names it (vouchers/).
    requires_voucher = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["position", "price", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sold_count__lte=F("capacity")), name="tier_sold_within_capacity"
            ),
            models.CheckConstraint(condition=Q(sold_count__gte=0), name="tier_sold_not_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="tier_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.event} – {self.name}"

    @property
    def available(self) -> int:
        return max(self.capacity - self.sold_count, 0)

    @property
    def currency(self) -> str:
        return self.event.currency

    def on_sale_at(self, moment: datetime) -> bool:
        return (self.sales_start is None or self.sales_start <= moment) and (
            self.sales_end is None or moment < self.sales_end
        )


class AttendeeQuestion(models.Model):
    """Something the organizer asks about each attendee at checkout (diet, T-shirt size...).

    With a tier, only that tier's tickets are asked; answers live on the ticket (ticketing).
    """

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        CHOICE = "choice", _("One of a list")
        YES_NO = "yes_no", _("Yes or no")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="questions")
    tier = models.ForeignKey(
        TicketTier, null=True, blank=True, on_delete=models.CASCADE, related_name="questions"
    )
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    options = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="choice") | Q(options__len__gte=2),
                name="choice_question_has_options",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def asks(self, tier_id: Any) -> bool:
        """Whether a ticket of `tier_id` is asked this question."""
        return self.tier_id is None or str(self.tier_id) == str(tier_id)


# --- Agenda: rooms, tracks, speakers, sessions, stars ------------------------------------------


class Room(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["venue", "name"], name="room_unique_name")]

    def __str__(self) -> str:
        return self.name


class Track(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tracks")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "name"], name="track_unique_name")]

    def __str__(self) -> str:
        return self.name


class Speaker(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="speakers"
    )
    name = models.CharField(max_length=150)
    bio = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="speaker_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    track = models.ForeignKey(
        Track, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    speakers = models.ManyToManyField(Speaker, blank=True, related_name="sessions")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Optional; like a tier's sold_count, seats_taken moves only by a conditional UPDATE and the
    # CHECK below is the last guard.
    capacity = models.PositiveIntegerField(null=True, blank=True)
    seats_taken = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["starts_at", "room__position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(seats_taken__lte=F("capacity")),
                name="session_seats_within_capacity",
            ),
            # One room, one session at a time: the database refuses the overlap whoever writes.
            ExclusionConstraint(
                name="session_room_no_overlap",
                expressions=[
                    ("room", RangeOperators.EQUAL),
                    (
                        models.Func(
                            F("starts_at"),
                            F("ends_at"),
                            models.Value("[)"),
                            function="tstzrange",
                            output_field=models.DateTimeField(),
                        ),
                        RangeOperators.OVERLAPS,
                    ),
                ],
            ),
        ]
        indexes = [models.Index(fields=["event", "starts_at"], name="session_event_start")]

    def __str__(self) -> str:
        return self.title

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.seats_taken, 0)


class SessionStar(models.Model):
    """A session on someone's personal agenda (holding a seat when the session has a limit)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_stars"
    )
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="stars")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "session"], name="star_once_per_session")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ★ {self.session_id}"


class AgendaFeed(models.Model):
    """The secret behind someone's personal iCal feed URL; rotating it revokes old links."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agenda_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Agenda feed of {self.user_id}"


# --- Feedback ---------------------------------------------------------------------------------


class Feedback(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True, max_length=4000)
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "author"], name="feedback_once_per_person"),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5"
            ),
        ]
        indexes = [
            models.Index(fields=["event", "rating"], name="feedback_event_rating"),
            models.Index(fields=["event", "-created_at"], name="feedback_event_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.event_id}"


class FeedbackReply(models.Model):
    feedback = models.OneToOneField(Feedback, on_delete=models.CASCADE, related_name="reply")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Reply to {self.feedback_id}"


class OrganizerRating(models.Model):
    """All feedback an organization's events received, so upcoming events can sort by it."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="rating"
    )
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.rating_count} ratings"


class SearchWord(models.Model):
    """Every word of the events' short search text, so a misspelt query word can be corrected.

    Filled by the search trigger (events/search_sql.py); words are never removed, which costs a
    correction that finds nothing at worst.
    """

    word = models.CharField(max_length=100, primary_key=True)

    def __str__(self) -> str:
        return self.word

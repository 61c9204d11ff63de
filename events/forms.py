import zoneinfo
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.forms import formset_factory
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from core.images import image_upload_check
from events.models import TIME_ZONE_CHOICES, AttendeeQuestion, Category, Event, TicketTier
from events.search import MAX_QUERY_CHARS, SearchParams
from events.services import EDITABLE_FIELDS, TierSpec, VenueSpec


class EventFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label=_("Keyword"),
        max_length=MAX_QUERY_CHARS,
        strip=True,
        error_messages={
            "max_length": f"A search can be at most {MAX_QUERY_CHARS} characters long."
        },
    )
    category = forms.ModelChoiceField(
        Category.objects.all(), required=False, to_field_name="slug", empty_label=_("Any category")
    )
    city = forms.CharField(required=False, max_length=100, label=_("City"))
    start_date = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.DateField(
        required=False, label=_("Until"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("start_date")
            and data.get("end_date")
            and data["end_date"] < data["start_date"]
        ):
            self.add_error("end_date", _("The end date is before the start date."))
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and high < low:
            self.add_error("price_max", _("The highest price is below the lowest."))
        if (data.get("lat") is None) != (data.get("lon") is None):
            self.add_error(None, _("“Near me” needs both latitude and longitude."))
        return data

    # The discovery fields; the five above stay as they were for existing links.
    when = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("Any time")),
            ("today", _("Today")),
            ("tomorrow", _("Tomorrow")),
            ("weekend", _("This weekend")),
            ("week", _("Next 7 days")),
            ("month", _("Next 31 days")),
        ],
        label=_("When"),
    )
    price_min = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2, label=_("Price from")
    )
    price_max = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2, label=_("Price up to")
    )
    free = forms.BooleanField(required=False, label=_("Free only"))
    available = forms.BooleanField(required=False, label=_("Tickets left"))
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("Best match")),
            ("date", _("Date")),
            ("rating", _("Rating")),
            ("distance", _("Distance")),
        ],
        label=_("Sort by"),
    )
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    radius = forms.FloatField(
        required=False, min_value=1, max_value=500, initial=25, label=_("Within (km)")
    )

    def params(self, *, page: Any = 1, per_page: int = 12) -> SearchParams:
        """The search these (valid) filters ask for; an invalid form means 'no filters'."""
        d = self.cleaned_data if self.is_bound and self.is_valid() else {}
        try:
            page_number = max(1, min(int(page), 10_000))
        except (TypeError, ValueError):
            page_number = 1
        return SearchParams(
            query=d.get("q") or "",
            category=d["category"].slug if d.get("category") else "",
            city=d.get("city") or "",
            latitude=d.get("lat"),
            longitude=d.get("lon"),
            radius_km=d.get("radius") or 25.0,
            start_date=d.get("start_date"),
            end_date=d.get("end_date"),
            when=d.get("when") or "",
            price_min=d.get("price_min"),
            price_max=d.get("price_max"),
            free_only=bool(d.get("free")),
            available_only=bool(d.get("available")),
            sort=d.get("sort") or "",
            page=page_number,
            per_page=per_page,
        )


# The site's languages other than the one events are entered in: their title and description
# are optional fields of the event form.
OTHER_LANGUAGES = [
    (code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE
]


class EventForm(forms.Form):
    """Dates are typed in the event's own time zone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, _native in OTHER_LANGUAGES:
            name = get_language_info(code)["name_translated"]
            self.fields[f"title_{code}"] = forms.CharField(
                max_length=200,
                required=False,
                label=_("Title in %(language)s") % {"language": name},
            )
            self.fields[f"description_{code}"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 5}),
                required=False,
                label=_("Description in %(language)s") % {"language": name},
                help_text=_(
                    "Shown to visitors who read the site in %(language)s; "
                    "left empty, they see the text above."
                )
                % {"language": name},
            )

    title = forms.CharField(max_length=200, label=_("Title"))
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, label=_("Description")
    )
    category = forms.ModelChoiceField(Category.objects.all(), required=False, label=_("Category"))
    venue_name = forms.CharField(max_length=200, label=_("Venue"))
    venue_address = forms.CharField(max_length=300, required=False, label=_("Address"))
    venue_city = forms.CharField(max_length=100, label=_("City"))
    time_zone = forms.ChoiceField(
        choices=TIME_ZONE_CHOICES, initial="Europe/Berlin", label=_("Time zone")
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    currency = forms.ChoiceField(
        choices=[(c, c) for c in ("EUR", "USD", "GBP", "CHF")], label=_("Currency")
    )
    performers = forms.CharField(
        max_length=500,
        required=False,
        help_text=_("Performers or speakers, comma-separated."),
        label=_("Performers"),
    )
    cover_image = forms.ImageField(
        required=False,
        label=_("Cover picture"),
        validators=[image_upload_check],
        help_text=_("JPEG, PNG or WebP up to 10 MB; at least 1200 pixels wide looks best."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    remove_cover = forms.BooleanField(required=False, label=_("Remove the cover picture"))
    cover_alt = forms.CharField(
        max_length=200,
        required=False,
        label=_("Describe the picture"),
        help_text=_("For people who cannot see it, e.g. “The band on stage under blue lights”."),
    )
    is_test = forms.BooleanField(
        required=False,
        label=_("Test event (only reachable by its link, never listed or found by search)"),
    )
    venue_latitude = forms.FloatField(
        required=False, min_value=-90, max_value=90, label=_("Latitude")
    )
    venue_longitude = forms.FloatField(
        required=False, min_value=-180, max_value=180, label=_("Longitude")
    )

    @classmethod
    def initial_for(cls, event: Event) -> dict[str, Any]:
        fmt = "%Y-%m-%dT%H:%M"
        return {
            "title": event.title,
            "description": event.description,
            "category": event.category,
            "venue_name": event.venue.name,
            "venue_address": event.venue.address,
            "venue_city": event.venue.city,
            "time_zone": event.time_zone,
            "starts_at": event.local_starts_at.strftime(fmt),
            "ends_at": event.local_ends_at.strftime(fmt),
            "currency": event.currency,
            "performers": event.performers,
            "cover_alt": event.cover_alt,
            "is_test": event.is_test,
            **{
                f"{field}_{code}": (event.translations or {}).get(code, {}).get(field, "")
                for code, _ in OTHER_LANGUAGES
                for field in ("title", "description")
            },
            "venue_latitude": event.venue.latitude,
            "venue_longitude": event.venue.longitude,
        }

    def _aware(self, value: datetime) -> datetime:
        tz = zoneinfo.ZoneInfo(self.cleaned_data.get("time_zone") or "UTC")
        return value.replace(tzinfo=None).replace(tzinfo=tz)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_at") and data.get("ends_at"):
            data["starts_at"], data["ends_at"] = (
                self._aware(data["starts_at"]),
                self._aware(data["ends_at"]),
            )
            if data["ends_at"] < data["starts_at"]:
                self.add_error("ends_at", _("The event cannot end before it starts."))
        return data

    def venue_spec(self) -> VenueSpec:
        d = self.cleaned_data
        return VenueSpec(
            name=d["venue_name"],
            city=d["venue_city"],
            address=d["venue_address"],
            latitude=d.get("venue_latitude"),
            longitude=d.get("venue_longitude"),
        )

    def event_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        fields = {k: d[k] for k in EDITABLE_FIELDS if k != "translations"}
        return {"translations": self.translations(), **fields}

    def translations(self) -> dict[str, dict[str, str]]:
        """{"de": {"title": ..., "description": ...}} of what was filled in."""
        d = self.cleaned_data
        texts: dict[str, dict[str, str]] = {}
        for code, _name in OTHER_LANGUAGES:
            entered = {
                field: d.get(f"{field}_{code}", "").strip()
                for field in ("title", "description")
                if d.get(f"{field}_{code}", "").strip()
            }
            if entered:
                texts[code] = entered
        return texts

    def translation_fields(self) -> list[forms.BoundField]:
        return [
            self[f"{field}_{code}"]
            for code, _ in OTHER_LANGUAGES
            for field in ("title", "description")
        ]

    def cover_change(self) -> tuple[bool, Any]:
        """(changed, new file or None to remove) from the cover field's upload or clear box."""
        value = self.cleaned_data.get("cover_image")
        if value:
            return True, value
        if self.cleaned_data.get("remove_cover"):
            return True, None
        return False, None


class TierForm(forms.Form):
    id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=100, label=_("Name"))
    price = forms.DecimalField(
        min_value=Decimal("0"), max_digits=10, decimal_places=2, label=_("Price")
    )
    capacity = forms.IntegerField(min_value=0, max_value=1_000_000, label=_("Capacity"))
    max_per_order = forms.IntegerField(
        min_value=1, max_value=100, initial=10, label=_("Max per order")
    )

    def spec(self) -> TierSpec:
        d = self.cleaned_data
        return TierSpec(
            id=d.get("id"),
            name=d["name"],
            price=d["price"],
            capacity=d["capacity"],
            max_per_order=d["max_per_order"],
        )


TierFormSet = formset_factory(TierForm, extra=1, min_num=1, validate_min=True)


class SessionForm(forms.Form):
    """Times are typed in the event's own time zone (the view passes it)."""

    title = forms.CharField(max_length=200, label=_("Title"))
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Description")
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    room = forms.CharField(
        max_length=100, required=False, help_text=_("A room at the venue."), label=_("Room")
    )
    track = forms.CharField(max_length=100, required=False, label=_("Track"))
    speakers = forms.CharField(
        max_length=1000, required=False, help_text=_("Names, comma-separated."), label=_("Speakers")
    )
    capacity = forms.IntegerField(
        min_value=0,
        max_value=100_000,
        required=False,
        help_text=_("Empty: no limit."),
        label=_("Capacity"),
    )

    def __init__(self, *args: Any, time_zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz = zoneinfo.ZoneInfo(time_zone)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("starts_at", "ends_at"):
            if data.get(name):
                data[name] = data[name].replace(tzinfo=None).replace(tzinfo=self.tz)
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("A session must end after it starts."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "title": d["title"],
            "description": d["description"],
            "starts_at": d["starts_at"],
            "ends_at": d["ends_at"],
            "room_name": d["room"],
            "track_name": d["track"],
            "speaker_names": [n for n in d["speakers"].split(",") if n.strip()],
            "capacity": d["capacity"],
        }


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(n, f"{n} star{'s' if n > 1 else ''}") for n in (5, 4, 3, 2, 1)],
        coerce=int,
        widget=forms.RadioSelect,
        label=_("Rating"),
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
        label=_("Comment"),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label=_("Reply")
    )


class QuestionForm(forms.Form):
    """A question asked of each attendee at checkout."""

    label = forms.CharField(max_length=200, label=_("Question"))
    kind = forms.ChoiceField(choices=AttendeeQuestion.Kind.choices, label=_("Answer"))
    options = forms.CharField(
        required=False,
        label=_("Options (for “One of a list”), one per line"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    required = forms.BooleanField(required=False, label=_("An answer is required"))
    tier = forms.ChoiceField(required=False, label=_("Asked of"))

    def __init__(self, *args: Any, tiers: list[TicketTier], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [  # type: ignore[attr-defined]
            ("", _("Every ticket")),
            *((str(t.pk), _("%(tier)s tickets only") % {"tier": t.name}) for t in tiers),
        ]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "label": data["label"],
            "kind": data["kind"],
            "options": data["options"].splitlines(),
            "required": data["required"],
            "tier_id": data["tier"] or None,
        }


class AnswersDeadlineForm(forms.Form):
    """Until when buyers may change their attendees' answers, on the event's own clock."""

    until = forms.DateTimeField(
        required=False,
        label=_("Buyers may change their answers until"),
        help_text=_("On the event's clock. Empty: until the event starts."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz = zoneinfo.ZoneInfo(event.time_zone)
        if event.answers_editable_until:
            # Naive: the field would show an aware value on the site's clock, not the event's.
            local = event.answers_editable_until.astimezone(self.tz)
            self.fields["until"].initial = local.replace(tzinfo=None)

    def clean_until(self) -> datetime | None:
        value = self.cleaned_data["until"]
        return value.replace(tzinfo=None).replace(tzinfo=self.tz) if value else None

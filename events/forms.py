import zoneinfo
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.forms import formset_factory

from events.models import TIME_ZONE_CHOICES, Category, Event
from events.services import TierSpec, VenueSpec


class EventFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Keyword", max_length=100)
    category = forms.ModelChoiceField(
        Category.objects.all(), required=False, to_field_name="slug", empty_label="Any category"
    )
    city = forms.CharField(required=False, max_length=100)
    start_date = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("start_date")
            and data.get("end_date")
            and data["end_date"] < data["start_date"]
        ):
            self.add_error("end_date", "The end date is before the start date.")
        return data


class EventForm(forms.Form):
    """Dates are typed in the event's own time zone."""

    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    category = forms.ModelChoiceField(Category.objects.all(), required=False)
    venue_name = forms.CharField(max_length=200, label="Venue")
    venue_address = forms.CharField(max_length=300, required=False, label="Address")
    venue_city = forms.CharField(max_length=100, label="City")
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="Europe/Berlin")
    starts_at = forms.DateTimeField(
        label="Starts", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Ends", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    currency = forms.ChoiceField(choices=[(c, c) for c in ("EUR", "USD", "GBP", "CHF")])

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
                self.add_error("ends_at", "The event cannot end before it starts.")
        return data

    def venue_spec(self) -> VenueSpec:
        d = self.cleaned_data
        return VenueSpec(name=d["venue_name"], city=d["venue_city"], address=d["venue_address"])

    def event_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            k: d[k]
            for k in (
                "title",
                "description",
                "category",
                "starts_at",
                "ends_at",
                "time_zone",
                "currency",
            )
        }


class TierForm(forms.Form):
    id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=100)
    price = forms.DecimalField(min_value=Decimal("0"), max_digits=10, decimal_places=2)
    capacity = forms.IntegerField(min_value=0, max_value=1_000_000)
    max_per_order = forms.IntegerField(
        min_value=1, max_value=100, initial=10, label="Max per order"
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

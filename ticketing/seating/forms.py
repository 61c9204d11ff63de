"""Forms of the organizer's seating pages: generate, import, edit, apply and block."""

import re
from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from events.models import TicketTier
from ticketing.errors import SeatLayoutInvalid
from ticketing.models import SEAT_STATES
from ticketing.seating.selectors import ATTRIBUTE_FILTERS
from ticketing.seating.services import SeatBlock, layout_parse

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_LABELS = 500


class SeatBlockForm(forms.Form):
    section = forms.CharField(max_length=50, initial="Stalls", label=_("Section"))
    rows = forms.IntegerField(min_value=1, max_value=200, initial=10, label=_("Rows"))
    seats_per_row = forms.IntegerField(
        min_value=1, max_value=200, initial=20, label=_("Seats per row")
    )
    first_row = forms.RegexField(
        regex=r"^([A-Za-z]|\d{1,4})$",
        max_length=4,
        initial="A",
        label=_("First row label"),
        help_text=_("A letter (rows go A, B, … Z, AA) or a number."),
        error_messages={"invalid": "Use one letter or a number."},
    )
    zone = forms.CharField(max_length=30, initial="A", help_text=_("Price zone."), label=_("Zone"))
    aisles_after = forms.CharField(
        required=False,
        label=_("Aisles after seat numbers"),
        help_text=_("For example 5, 15: a gap after seats 5 and 15 of each row."),
    )
    x = forms.IntegerField(min_value=0, max_value=9000, initial=0, label=_("Position x"))
    y = forms.IntegerField(
        min_value=0,
        max_value=9000,
        initial=0,
        label=_("Position y"),
        help_text=_("Rows from the stage."),
    )

    def clean_aisles_after(self) -> tuple[int, ...]:
        text = self.cleaned_data["aisles_after"].strip()
        if not text:
            return ()
        if not re.fullmatch(r"\d+(\s*[,\s]\s*\d+)*", text):
            raise forms.ValidationError(_("Seat numbers separated by commas, like 5, 15."))
        return tuple(sorted({int(n) for n in re.split(r"[,\s]+", text)}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        per_row, aisles = data.get("seats_per_row"), data.get("aisles_after") or ()
        if per_row and any(not 1 <= n < per_row for n in aisles):
            self.add_error(
                "aisles_after", _("Aisles go after seats 1 to %(last)s.") % {"last": per_row - 1}
            )
        return data

    def block(self) -> SeatBlock:
        d = self.cleaned_data
        return SeatBlock(
            section=d["section"].strip(),
            rows=d["rows"],
            seats_per_row=d["seats_per_row"],
            zone=d["zone"].strip(),
            first_row=d["first_row"].upper(),
            aisles_after=d["aisles_after"],
            x=d["x"],
            y=d["y"],
        )


class NewSeatMapForm(SeatBlockForm):
    name = forms.CharField(max_length=100, label=_("Layout name"))

    field_order = ["name"]


class SeatMapImportForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Layout name"))
    fmt = forms.ChoiceField(
        label=_("Format"),
        choices=[("auto", _("Detect")), ("json", "JSON"), ("csv", "CSV")],
        initial="auto",
    )
    file = forms.FileField(required=False, label=_("Upload a file"))
    text = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 8}), label=_("Or paste it")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload, text = data.get("file"), (data.get("text") or "").strip()
        if bool(upload) == bool(text):
            raise forms.ValidationError(_("Upload a file or paste the layout, one of the two."))
        if upload:
            if upload.size > MAX_IMPORT_BYTES:
                raise forms.ValidationError(_("The file is larger than 5 MB."))
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        fmt = data.get("fmt") or "auto"
        if fmt == "auto":
            name = getattr(upload, "name", "") or ""
            if name.lower().endswith(".csv"):
                fmt = "csv"
            elif name.lower().endswith(".json"):
                fmt = "json"
            else:
                fmt = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
        try:
            data["seats"] = layout_parse(data=text, fmt=fmt)
        except SeatLayoutInvalid as exc:
            raise forms.ValidationError(exc.detail_message) from None
        return data


class MapSeatFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search labels"))
    section = forms.ChoiceField(required=False, label=_("Section"))
    zone = forms.ChoiceField(required=False, label=_("Zone"))
    attribute = forms.ChoiceField(
        required=False, choices=[("", _("Any")), *ATTRIBUTE_FILTERS.items()], label=_("Attribute")
    )

    def __init__(self, *args: Any, sections: list[str], zones: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = [("", _("All")), *((s, s) for s in sections)]  # type: ignore[attr-defined]
        self.fields["zone"].choices = [("", _("All")), *((z, z) for z in zones)]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


BULK_ACTIONS = [
    ("remove", _("Remove seats")),
    ("zone", _("Set zone")),
    ("mark_wheelchair", _("Mark wheelchair space")),
    ("mark_companion", _("Mark companion seat")),
    ("mark_restricted_view", _("Mark restricted view")),
    ("mark_aisle", _("Mark aisle")),
    ("unmark_wheelchair", _("Unmark wheelchair space")),
    ("unmark_companion", _("Unmark companion seat")),
    ("unmark_restricted_view", _("Unmark restricted view")),
    ("unmark_aisle", _("Unmark aisle")),
]


class SeatBulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS, label=_("Action"))
    zone = forms.CharField(max_length=30, required=False, label=_("New zone"))
    scope = forms.ChoiceField(
        choices=[("selected", _("Ticked seats")), ("filter", _("All seats matching the filter"))],
        initial="selected",
        widget=forms.RadioSelect,
        label=_("Apply to"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "zone" and not (data.get("zone") or "").strip():
            self.add_error("zone", _("Name the zone to set."))
        return data

    def edit_kwargs(self) -> dict[str, Any]:
        """seat_map_edit's keyword arguments for the chosen action."""
        action = self.cleaned_data["action"]
        if action == "remove":
            return {"remove": True}
        if action == "zone":
            return {"zone": self.cleaned_data["zone"].strip()}
        verb, attribute = action.split("_", 1)
        return {"attributes": {attribute: verb == "mark"}}


class ApplySeatingForm(forms.Form):
    """Pick a tier for each zone of the chosen layout."""

    def __init__(
        self, *args: Any, zones: list[str], tiers: list[TicketTier], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("Choose a tier")), *((str(t.pk), f"{t.name} ({t.price})") for t in tiers)]
        by_name = {t.name.lower(): str(t.pk) for t in tiers}
        self.zone_fields = []
        for i, zone in enumerate(zones):
            name = f"zone_{i}"
            self.fields[name] = forms.ChoiceField(
                choices=choices, label=f"Zone {zone}", initial=by_name.get(zone.lower(), "")
            )
            self.zone_fields.append((zone, name))

    def zone_tiers(self) -> dict[str, str]:
        return {zone: self.cleaned_data[name] for zone, name in self.zone_fields}


class SeatBlockingForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("block", _("Block")), ("release", _("Release"))], label=_("Action")
    )
    labels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Seat labels"),
        help_text=_('One per line or comma separated, like "Stalls A-1, Stalls A-2".'),
    )
    reason = forms.CharField(
        max_length=100,
        required=False,
        help_text=_("For example: technical, house seats."),
        label=_("Reason"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ticked: list[str] = self.data.getlist("seat") if hasattr(self.data, "getlist") else []

    def clean_labels(self) -> list[str]:
        text = self.cleaned_data["labels"]
        labels = [part.strip() for part in re.split(r"[,\n;]+", text) if part.strip()]
        if len(labels) > MAX_LABELS:
            raise forms.ValidationError(
                _("At most %(count)s labels at a time.") % {"count": MAX_LABELS}
            )
        return labels

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("labels") and not self.ticked and "labels" not in self.errors:
            raise forms.ValidationError(_("Tick seats or list their labels."))
        if data.get("action") == "block" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the seats are blocked."))
        return data


class EventSeatFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search labels"))
    section = forms.ChoiceField(required=False, label=_("Section"))
    state = forms.ChoiceField(
        required=False,
        choices=[("", _("Any")), *((k, capfirst(v)) for k, v in SEAT_STATES.items())],
        label=_("State"),
    )

    def __init__(self, *args: Any, sections: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = [("", _("All")), *((s, s) for s in sections)]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from notifications.errors import InvalidPhone
from notifications.models import WEBHOOK_TOPICS, Preference
from notifications.preferences import CHOICE_FIELDS, phone_normalise


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = Preference
        fields = ["phone", *CHOICE_FIELDS]
        labels = {"phone": _("Mobile number (for SMS)")}
        widgets = {"phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})}

    def clean_phone(self) -> str:
        try:
            return phone_normalise(self.cleaned_data.get("phone") or "")
        except InvalidPhone as exc:
            raise forms.ValidationError(exc.detail_message) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        wants_sms = any(data.get(name) for name in CHOICE_FIELDS if name.endswith("_sms"))
        if wants_sms and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Add a mobile number to get messages by SMS."))
        return data


class WebhookForm(forms.Form):
    organization = forms.ModelChoiceField(Organization.objects.none(), empty_label=None)
    url = forms.URLField(label=_("Endpoint URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(max_length=200, required=False, label=_("Description"))
    topics = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=[(str(t), format_lazy("{} — {}", t.value, t.label)) for t in WEBHOOK_TOPICS],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, organizations: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if organizations is None:
            del self.fields["organization"]
        else:
            self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]


class ReminderForm(forms.Form):
    hours = forms.CharField(
        label=_("Remind ticket holders (hours before the start, comma-separated)"),
        required=False,
        max_length=100,
        help_text=_("For example 24, 2. Leave empty for no reminders."),
    )

    def clean_hours(self) -> list[int]:
        raw = self.cleaned_data["hours"]
        minutes = []
        for part in [p.strip() for p in raw.split(",") if p.strip()]:
            try:
                value = Decimal(part)
            except InvalidOperation as exc:
                raise forms.ValidationError(
                    _("“%(part)s” is not a number of hours.") % {"part": part}
                ) from exc
            if not value.is_finite() or not Decimal("0.08") <= value <= 14 * 24:
                raise forms.ValidationError(_("Each reminder is between 5 minutes and 14 days."))
            minutes.append(int(value * 60))
        if len(minutes) > 5:
            raise forms.ValidationError(_("At most five reminders."))
        return minutes

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ticketing.models import EventPolicy


class PolicyForm(forms.ModelForm):
    class Meta:
        model = EventPolicy
        fields = [
            "refunds_allowed",
            "refund_until_hours",
            "refund_fee_percent",
            "refund_fee_fixed",
            "transfers_allowed",
            "transfer_until_hours",
            "waitlist_offer_minutes",
        ]
        labels = {
            "refunds_allowed": _("Attendees may ask for refunds"),
            "refund_until_hours": _("Refunds close (hours before the start)"),
            "refund_fee_percent": _("Refund fee (percent of the ticket price)"),
            "refund_fee_fixed": _("Refund fee (fixed, per ticket)"),
            "transfers_allowed": _("Attendees may transfer tickets"),
            "transfer_until_hours": _("Transfers close (hours before the start)"),
            "waitlist_offer_minutes": _("Waitlist offers are held for (minutes)"),
        }

    def clean_refund_fee_percent(self) -> Any:
        value = self.cleaned_data["refund_fee_percent"]
        if value is not None and not 0 <= value <= 100:
            raise forms.ValidationError(_("Between 0 and 100."))
        return value

    def clean_waitlist_offer_minutes(self) -> Any:
        value = self.cleaned_data["waitlist_offer_minutes"]
        if value is not None and not 1 <= value <= 1440:
            raise forms.ValidationError(_("Between 1 minute and one day."))
        return value

    def clean_refund_fee_fixed(self) -> Any:
        value = self.cleaned_data["refund_fee_fixed"]
        if value is not None and value < 0:
            raise forms.ValidationError(_("Must not be negative."))
        return value


class KeyedForm(forms.Form):
    """A one-button form whose idempotency key makes a double submit one request."""

    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4().hex


class TransferForm(forms.Form):
    email = forms.EmailField(label=_("Recipient's email"), max_length=254)

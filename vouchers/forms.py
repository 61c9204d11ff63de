from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from events.models import Event
from vouchers.models import Voucher
from vouchers.services import VoucherSpec

MAX_BATCH = 1000


class VoucherForm(forms.Form):
    """One code typed by the organizer, or a batch of generated ones."""

    code = forms.CharField(
        max_length=40,
        required=False,
        label=_("Code"),
        help_text=_("Leave empty to generate codes."),
    )
    count = forms.IntegerField(
        min_value=1, max_value=MAX_BATCH, initial=1, label=_("How many codes to generate")
    )
    batch_prefix = forms.CharField(
        max_length=20, required=False, label=_("Prefix of generated codes (names the batch)")
    )
    kind = forms.ChoiceField(choices=Voucher.Kind.choices, label=_("Discount"))
    value = forms.DecimalField(
        min_value=0, max_digits=10, decimal_places=2, initial=0, label=_("Percent or amount off")
    )
    tiers = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Good for these tiers (none: every public tier)"),
    )
    max_uses = forms.IntegerField(min_value=1, initial=1, label=_("Uses per code"))
    per_buyer_limit = forms.IntegerField(min_value=1, required=False, label=_("Uses per buyer"))
    valid_from = forms.DateTimeField(
        required=False,
        label=_("Valid from"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    valid_until = forms.DateTimeField(
        required=False,
        label=_("Valid until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        hidden = _(" (hidden: only with a code)")
        cast(forms.MultipleChoiceField, self.fields["tiers"]).choices = [
            (str(t.pk), f"{t.name}{hidden if t.requires_voucher else ''}")
            for t in event.tiers.all()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Voucher.Kind.PERCENT and (data.get("value") or 0) > 100:
            self.add_error("value", _("A percentage is at most 100."))
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", _("The end must be after the start."))
        if data.get("code") and (data.get("count") or 1) > 1:
            self.add_error("count", _("A typed code is one voucher; leave the code empty."))
        return data

    def spec(self) -> VoucherSpec:
        data = self.cleaned_data
        return VoucherSpec(
            kind=data["kind"],
            value=data["value"],
            max_uses=data["max_uses"],
            per_buyer_limit=data.get("per_buyer_limit"),
            valid_from=data.get("valid_from"),
            valid_until=data.get("valid_until"),
            tier_ids=tuple(data.get("tiers") or ()),
        )

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from checkin.models import CheckinList
from events.models import Event, TicketTier


class CheckinListForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    tiers = forms.ModelMultipleChoiceField(
        queryset=TicketTier.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked admits every tier."),
        label=_("Tiers"),
    )
    allow_reentry = forms.BooleanField(
        required=False, label=_("Allow re-entry (scan people out, and back in)")
    )

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tiers = self.fields["tiers"]
        assert isinstance(tiers, forms.ModelMultipleChoiceField)  # noqa: S101 - for mypy
        tiers.queryset = event.tiers.order_by("position", "name")

    def clean_name(self) -> str:
        return str(self.cleaned_data["name"]).replace("\x00", "").strip()


class DeviceLinkForm(forms.Form):
    checkin_list = forms.ModelChoiceField(queryset=CheckinList.objects.none(), label=_("List"))
    label = forms.CharField(max_length=100, label=_("Who is it for"), initial="Volunteer")

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lists = self.fields["checkin_list"]
        assert isinstance(lists, forms.ModelChoiceField)  # noqa: S101 - for mypy
        lists.queryset = event.checkin_lists.all()

    def clean_label(self) -> str:
        return str(self.cleaned_data["label"]).replace("\x00", "").strip()

from django import forms
from django.utils.translation import gettext_lazy as _

from waitingroom.models import WaitingRoom


class WaitingRoomForm(forms.ModelForm):
    class Meta:
        model = WaitingRoom
        fields = [
            "mode",
            "pace",
            "opens_at",
            "admit_per_minute",
            "auto_arrivals_per_minute",
            "token_minutes",
        ]
        labels = {
            "mode": _("Waiting room"),
            "pace": _("Let people through"),
            "opens_at": _("Sale opens at (arrivals before it are shuffled)"),
            "admit_per_minute": _("People let through per minute"),
            "auto_arrivals_per_minute": _("Switch on by itself above this many arrivals a minute"),
            "token_minutes": _("Minutes a visitor has to book once through"),
        }
        widgets = {"opens_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}

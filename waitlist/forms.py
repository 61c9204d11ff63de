from typing import Any

from django import forms
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _

from events.models import Event


class JoinForm(forms.Form):
    tier = forms.ChoiceField(label=_("Wait for"), required=False)

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str | StrPromise]] = [("", _("Any ticket"))]
        choices += [(str(t.pk), t.name) for t in event.tiers.all() if not t.available]
        self.fields["tier"] = forms.ChoiceField(
            label=_("Wait for"), required=False, choices=choices
        )

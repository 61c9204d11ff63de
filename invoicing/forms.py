from django import forms
from django.utils.translation import gettext_lazy as _

from invoicing.models import InvoicingSettings


class InvoicingSettingsForm(forms.ModelForm):
    class Meta:
        model = InvoicingSettings
        fields = ["enabled", "legal_name", "address", "vat_id", "tax_rate", "footer"]
        labels = {
            "enabled": _("Issue invoices for paid orders"),
            "legal_name": _("Legal name"),
            "address": _("Address"),
            "vat_id": _("VAT ID"),
            "tax_rate": _("Tax rate included in prices (%)"),
            "footer": _("Footer (bank details, registry number)"),
        }
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3}),
            "footer": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("enabled") and not (data.get("address") or "").strip():
            self.add_error("address", _("An invoice needs the organizer's address."))
        return data

from django.contrib import admin

from invoicing.models import Document, InvoicingSettings


@admin.register(InvoicingSettings)
class InvoicingSettingsAdmin(admin.ModelAdmin):
    list_display = ("organization", "enabled", "legal_name", "vat_id", "tax_rate")


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("display_number", "organization", "kind", "order", "issued_at")
    list_filter = ("kind", "organization")
    search_fields = ("order__ref",)
    raw_id_fields = ("order", "refund")

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False  # issued documents are never edited: a credit note corrects one

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False

from django.contrib import admin

from vouchers.models import Voucher, VoucherRedemption


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ("code", "event", "kind", "value", "used", "max_uses", "valid_until", "batch")
    list_filter = ("kind",)
    search_fields = ("code", "batch", "event__title")
    readonly_fields = ("used",)
    raw_id_fields = ("event",)
    filter_horizontal = ("tiers",)


@admin.register(VoucherRedemption)
class VoucherRedemptionAdmin(admin.ModelAdmin):
    list_display = ("voucher", "order", "buyer", "discount", "created_at", "released_at")
    search_fields = ("voucher__code", "order__ref", "buyer__email")
    raw_id_fields = ("voucher", "order", "buyer")

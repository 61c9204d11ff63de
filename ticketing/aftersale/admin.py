"""Admin for refunds, transfers, event policies and refund jobs (imported by ticketing.admin)."""

from django.contrib import admin

from ticketing.models import EventPolicy, Refund, RefundJob, RefundLine, SetAside, Transfer


class RefundLineInline(admin.TabularInline):
    model = RefundLine
    extra = 0
    readonly_fields = ["ticket", "amount"]
    can_delete = False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "reason", "amount", "fee", "currency", "status", "created_at"]
    list_filter = ["status", "reason"]
    search_fields = ["order__buyer__email", "provider_refund_id"]
    list_select_related = ["order"]
    readonly_fields = ["order", "payment", "requested_by", "provider_refund_id"]
    inlines = [RefundLineInline]


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["ticket", "sender", "to_email", "status", "created_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["to_email", "sender__email"]
    list_select_related = ["ticket__tier", "ticket__event", "sender"]
    readonly_fields = ["ticket", "sender", "recipient", "new_ticket", "token_hash"]


@admin.register(EventPolicy)
class EventPolicyAdmin(admin.ModelAdmin):
    list_display = ["event", "refunds_allowed", "refund_until_hours", "transfers_allowed"]
    search_fields = ["event__title"]
    list_select_related = ["event"]


@admin.register(RefundJob)
class RefundJobAdmin(admin.ModelAdmin):
    list_display = ["event", "status", "orders_total", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["event__title"]
    list_select_related = ["event"]
    readonly_fields = ["event", "requested_by"]


@admin.register(SetAside)
class SetAsideAdmin(admin.ModelAdmin):
    list_display = ["tier", "event", "quantity"]
    search_fields = ["event__title"]
    list_select_related = ["tier__event", "event"]
    readonly_fields = ["tier", "event", "quantity"]

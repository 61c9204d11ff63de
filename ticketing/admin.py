from django.contrib import admin

from ticketing.models import Order, OrderLine, Payment, SandboxCharge, Ticket


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["tier", "quantity", "unit_price"]
    can_delete = False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = readonly_fields = (
        "provider",
        "provider_charge_id",
        "amount",
        "currency",
        "status",
        "failure_code",
        "created_at",
    )
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["code", "buyer", "event", "status", "total", "currency", "created_at"]
    list_filter = ["status", "event__organization"]
    search_fields = ["id", "buyer__email", "event__title"]
    date_hierarchy = "created_at"
    list_select_related = ["buyer", "event"]
    readonly_fields = [
        "buyer",
        "event",
        "status",
        "total",
        "currency",
        "expires_at",
        "idempotency_key",
        "created_at",
        "paid_at",
    ]
    exclude = ["request_digest"]
    inlines = [OrderLineInline, PaymentInline]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "attendee_name", "holder", "event", "tier", "status", "issued_at"]
    list_filter = ["status", "event"]
    search_fields = ["id", "attendee_name", "holder__email", "event__title"]
    list_select_related = ["holder", "event", "tier"]
    readonly_fields = ["order", "event", "tier", "holder", "qr_payload", "issued_at"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["order", "provider", "amount", "currency", "status", "created_at"]
    list_filter = ["provider", "status"]
    search_fields = ["order__id", "provider_charge_id"]


@admin.register(SandboxCharge)
class SandboxChargeAdmin(admin.ModelAdmin):
    list_display = ["charge_id", "amount", "currency", "card_last4", "succeeded", "created_at"]
    list_filter = ["succeeded", "decline_code"]
    search_fields = ["charge_id", "idempotency_key"]


from ticketing.aftersale import admin as aftersale_admin  # noqa: E402, F401 - registers refunds, transfers, policies

from django.contrib import admin

from notifications.models import (
    Delivery,
    DeliveryAttempt,
    Message,
    Notification,
    Preference,
    ReminderSchedule,
    WebhookEndpoint,
)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["channel", "recipient", "status", "attempts", "sent_at", "last_error"]
    readonly_fields = ["channel", "recipient", "status", "attempts", "sent_at", "last_error"]
    can_delete = False
    show_change_link = True


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["topic", "audience", "status", "created_at", "fanned_out_at"]
    list_filter = ["topic", "status"]
    search_fields = ["dedupe_key"]
    readonly_fields = [f.name for f in Message._meta.fields]
    inlines = [DeliveryInline]


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = ["number", "succeeded", "response_code", "error", "duration_ms", "at"]
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["channel", "recipient", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["channel", "status"]
    search_fields = ["recipient"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "is_active", "consecutive_failures"]
    list_filter = ["is_active"]
    exclude = ["secret_sealed"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "created_at", "read_at"]
    raw_id_fields = ["user", "message"]


admin.site.register(Preference)
admin.site.register(ReminderSchedule)

from django.contrib import admin

from waitlist.models import Offer, WaitlistEntry


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "tier", "status", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["user__email", "event__title"]
    list_select_related = ["user", "event", "tier"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "tier", "status", "manual", "expires_at", "created_at"]
    list_filter = ["status", "manual"]
    search_fields = ["user__email", "event__title"]
    list_select_related = ["user", "event", "tier"]
    readonly_fields = ["entry", "user", "event", "tier", "order", "token"]

from django.contrib import admin

from waitlist.models import WaitlistEntry


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "tier", "status", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["user__email", "event__title"]
    list_select_related = ["user", "event", "tier"]

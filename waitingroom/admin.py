from django.contrib import admin

from waitingroom.models import WaitingRoom


@admin.register(WaitingRoom)
class WaitingRoomAdmin(admin.ModelAdmin):
    list_display = ["event", "mode", "pace", "opens_at", "admit_per_minute"]
    raw_id_fields = ["event"]

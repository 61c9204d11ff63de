from django.contrib import admin
from django.http import HttpRequest

from checkin.models import Admission, CheckinList, DeviceLink, Scan, SigningKey


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ["kid", "event", "is_current", "created_at", "revoked_at"]
    list_filter = ["is_current"]
    search_fields = ["kid", "event__title"]
    exclude = ["private_key_encrypted", "public_key"]
    readonly_fields = ["kid", "event", "created_at"]


@admin.register(CheckinList)
class CheckinListAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "allow_reentry", "created_at"]
    search_fields = ["name", "event__title"]
    filter_horizontal = ["tiers"]


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = [
        "scanned_at",
        "checkin_list",
        "direction",
        "result",
        "reason",
        "conflict",
        "device_id",
        "scanned_by",
    ]
    list_filter = ["result", "reason", "conflict", "direction"]
    search_fields = ["ticket__id", "device_id", "scanned_by__email"]
    date_hierarchy = "scanned_at"

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # append-only log

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Admission)
class AdmissionAdmin(admin.ModelAdmin):
    list_display = ["ticket", "checkin_list", "admitted_at"]
    search_fields = ["ticket__id"]
    readonly_fields = ["ticket", "checkin_list", "scan", "admitted_at"]


@admin.register(DeviceLink)
class DeviceLinkAdmin(admin.ModelAdmin):
    list_display = ["label", "checkin_list", "created_at", "last_seen_at", "revoked_at"]
    search_fields = ["label", "checkin_list__event__title"]
    # The token itself is never stored; its digest is of no use to anyone reading the admin.
    exclude = ["token_digest"]
    readonly_fields = ["checkin_list", "created_by", "created_at", "last_seen_at"]

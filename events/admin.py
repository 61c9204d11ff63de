from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from events.cache import events_changed
from events.models import (
    Category,
    Event,
    Feedback,
    FeedbackReply,
    Room,
    Session,
    Speaker,
    TicketTier,
    Track,
    Venue,
)


class RefreshesEventPages:
    """An edit here must not wait out the page cache: bump the event's version on commit."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        events_changed(getattr(obj, "event_id", obj.pk))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        events_changed(getattr(obj, "event_id", obj.pk))
        super().delete_model(request, obj)  # type: ignore[misc]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "country", "organization"]
    list_filter = ["city", "country"]
    search_fields = ["name", "city", "address", "organization__name"]


class TicketTierInline(admin.TabularInline):
    model = TicketTier
    extra = 0
    fields = [
        "name",
        "price",
        "capacity",
        "sold_count",
        "max_per_order",
        "sales_start",
        "sales_end",
        "position",
    ]
    readonly_fields = ["sold_count"]


@admin.register(Event)
class EventAdmin(RefreshesEventPages, admin.ModelAdmin):
    list_display = ["title", "organization", "venue", "starts_at", "status"]
    list_filter = ["status", "category", "venue__city", "organization"]
    search_fields = ["title", "description", "venue__name", "venue__city", "organization__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["organization", "venue"]
    inlines = [TicketTierInline]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(TicketTier)
class TicketTierAdmin(RefreshesEventPages, admin.ModelAdmin):
    list_display = ["name", "event", "price", "capacity", "sold_count"]
    search_fields = ["name", "event__title"]
    list_select_related = ["event"]
    readonly_fields = ["sold_count"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "venue", "position"]
    search_fields = ["name", "venue__name", "venue__city"]
    list_select_related = ["venue"]


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["name", "event"]
    search_fields = ["name", "event__title"]
    list_select_related = ["event"]


@admin.register(Speaker)
class SpeakerAdmin(admin.ModelAdmin):
    list_display = ["name", "organization"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]


@admin.register(Session)
class SessionAdmin(RefreshesEventPages, admin.ModelAdmin):
    """The exclusion constraint refuses overlaps here too (shown as a database error)."""

    list_display = ["title", "event", "room", "starts_at", "ends_at", "capacity", "seats_taken"]
    search_fields = ["title", "event__title", "speakers__name"]
    list_select_related = ["event", "room"]
    autocomplete_fields = ["speakers"]
    raw_id_fields = ["event", "room", "track"]
    readonly_fields = ["seats_taken"]


class FeedbackReplyInline(admin.StackedInline):
    model = FeedbackReply
    extra = 0
    raw_id_fields = ["author"]


@admin.register(Feedback)
class FeedbackAdmin(RefreshesEventPages, admin.ModelAdmin):
    """Ratings are changed only by the feedback services (they keep the event's totals)."""

    list_display = ["event", "author", "rating", "hidden", "created_at"]
    list_filter = ["rating", "hidden"]
    search_fields = ["comment", "event__title", "author__email"]
    list_select_related = ["event", "author"]
    raw_id_fields = ["event", "author"]
    readonly_fields = ["event", "author", "rating", "created_at", "updated_at"]
    inlines = [FeedbackReplyInline]

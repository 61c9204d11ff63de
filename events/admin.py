from django.contrib import admin

from events.models import Category, Event, TicketTier, Venue


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
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "venue", "starts_at", "status"]
    list_filter = ["status", "category", "venue__city", "organization"]
    search_fields = ["title", "description", "venue__name", "venue__city", "organization__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["organization", "venue"]
    inlines = [TicketTierInline]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(TicketTier)
class TicketTierAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "price", "capacity", "sold_count"]
    search_fields = ["name", "event__title"]
    list_select_related = ["event"]
    readonly_fields = ["sold_count"]

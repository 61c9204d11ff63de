from django.urls import path

from ticketing import views
from ticketing.aftersale.urls import urlpatterns as aftersale_urlpatterns
from ticketing.seating import views as seating_views

app_name = "ticketing"
urlpatterns = [
    path("events/<uuid:event_id>/book", views.book, name="book"),
    path("events/<uuid:event_id>/seats/", views.seats, name="seats"),
    path("orders/<uuid:order_id>/", views.order_detail, name="order"),
    path("tickets/", views.my_tickets, name="my_tickets"),
    path("payments/stripe/webhook", views.stripe_webhook, name="stripe_webhook"),
]

# Organizer seating pages (ticketing/seating_views.py).
urlpatterns += [
    path("manage/venues/", seating_views.venue_list, name="venue_list"),
    path(
        "manage/venues/<int:venue_id>/seat-maps/",
        seating_views.seat_map_list,
        name="seat_map_list",
    ),
    path(
        "manage/venues/<int:venue_id>/seat-maps/import",
        seating_views.seat_map_import,
        name="seat_map_import",
    ),
    path("manage/seat-maps/<uuid:seat_map_id>/", seating_views.seat_map_edit, name="seat_map_edit"),
    path(
        "manage/seat-maps/<uuid:seat_map_id>/blocks",
        seating_views.seat_map_add_block,
        name="seat_map_add_block",
    ),
    path(
        "manage/seat-maps/<uuid:seat_map_id>/bulk",
        seating_views.seat_map_bulk,
        name="seat_map_bulk",
    ),
    path(
        "manage/seat-maps/<uuid:seat_map_id>/export.json",
        seating_views.seat_map_export,
        name="seat_map_export",
    ),
    path(
        "manage/seat-maps/<uuid:seat_map_id>/delete",
        seating_views.seat_map_delete,
        name="seat_map_delete",
    ),
    path(
        "manage/events/<uuid:event_id>/seating/", seating_views.event_seating, name="event_seating"
    ),
    path(
        "manage/events/<uuid:event_id>/seating/apply",
        seating_views.event_seating_apply,
        name="event_seating_apply",
    ),
    path(
        "manage/events/<uuid:event_id>/seating/block",
        seating_views.event_seating_block,
        name="event_seating_block",
    ),
]

# Refunds, transfers and organizer order pages (ticketing/urls_aftersale.py).
urlpatterns += aftersale_urlpatterns

from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("manage/", views.organizer_home, name="home"),
    path("manage/events/<uuid:event_id>/dashboard", views.event_dashboard, name="event_dashboard"),
    path("manage/events/<uuid:event_id>/live.json", views.event_live_json, name="event_live"),
    path("manage/events/<uuid:event_id>/attendees/", views.event_attendees, name="attendees"),
    path("manage/orders/<uuid:order_id>/", views.order_page, name="order"),
    path(
        "manage/events/<uuid:event_id>/attendees/bulk",
        views.event_attendees_bulk,
        name="attendees_bulk",
    ),
]

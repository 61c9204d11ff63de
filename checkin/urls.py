from django.urls import path

from checkin import views

app_name = "checkin"
urlpatterns = [
    path("door/", views.door_events, name="door_events"),
    path("door/<uuid:event_id>/", views.scanner, name="scanner"),
    path("door/<uuid:event_id>/scan", views.scan_json, name="scan"),
]

from django.urls import path

from waitlist import views

app_name = "waitlist"
urlpatterns = [
    path("events/<uuid:event_id>/waitlist", views.event_waitlist, name="event"),
]

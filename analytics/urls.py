from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("manage/events/<uuid:event_id>/dashboard", views.event_dashboard, name="event_dashboard"),
]

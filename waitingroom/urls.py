from django.urls import path

from waitingroom import views

app_name = "waitingroom"

urlpatterns = [
    path("queue/<uuid:event_id>/", views.room, name="room"),
    path("queue/<uuid:event_id>/status", views.status, name="status"),
    path("manage/events/<uuid:event_id>/waiting-room/", views.manage, name="manage"),
    path("manage/events/<uuid:event_id>/waiting-room/stats", views.stats, name="stats"),
]

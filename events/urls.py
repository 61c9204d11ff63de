from django.urls import path

from events import views

app_name = "events"
urlpatterns = [
    path("events/", views.event_list, name="list"),
    path("events/<uuid:event_id>/", views.event_detail, name="detail"),
    path("events/<uuid:event_id>/<slug:slug>/", views.event_detail, name="detail_slug"),
    path("manage/", views.manage_list, name="manage_list"),
    path("manage/events/new/", views.manage_create, name="manage_create"),
    path("manage/events/<uuid:event_id>/", views.manage_edit, name="manage_edit"),
    path("manage/events/<uuid:event_id>/publish", views.manage_publish, name="manage_publish"),
    path("manage/events/<uuid:event_id>/cancel", views.manage_cancel, name="manage_cancel"),
    path("manage/events/<uuid:event_id>/delete", views.manage_delete, name="manage_delete"),
]

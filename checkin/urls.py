from django.urls import path

from checkin import views

app_name = "checkin"
urlpatterns = [
    path("door/", views.door_events, name="door_events"),
    path("door/sw.js", views.service_worker, name="service_worker"),
    path("door/manifest.webmanifest", views.manifest, name="manifest"),
    path("door/<uuid:event_id>/", views.scanner, name="scanner"),
    path("door/<uuid:event_id>/scan", views.scan_json, name="scan"),
    path("door/<uuid:event_id>/admit", views.admit_guest, name="admit_guest"),
    path("door/<uuid:event_id>/sync", views.sync_json, name="sync"),
    path("door/<uuid:event_id>/bundle", views.bundle_json, name="bundle"),
    path("door/<uuid:event_id>/stats", views.stats_json, name="stats"),
    path("door/link/<str:token>/", views.link_scanner, name="link_scanner"),
    path("door/link/<str:token>/scan", views.link_scan_json, name="link_scan"),
    path("door/link/<str:token>/sync", views.link_sync_json, name="link_sync"),
    path("door/link/<str:token>/bundle", views.link_bundle_json, name="link_bundle"),
    path("door/link/<str:token>/stats", views.link_stats_json, name="link_stats"),
    path("manage/events/<uuid:event_id>/checkin/", views.manage_checkin, name="manage"),
    path(
        "manage/events/<uuid:event_id>/checkin/lists/new",
        views.manage_list_create,
        name="manage_list_create",
    ),
    path(
        "manage/events/<uuid:event_id>/checkin/lists/<uuid:list_id>",
        views.manage_list_update,
        name="manage_list_update",
    ),
    path(
        "manage/events/<uuid:event_id>/checkin/links/new",
        views.manage_link_create,
        name="manage_link_create",
    ),
    path(
        "manage/events/<uuid:event_id>/checkin/links/<uuid:link_id>/revoke",
        views.manage_link_revoke,
        name="manage_link_revoke",
    ),
    path(
        "manage/events/<uuid:event_id>/checkin/keys/rotate",
        views.manage_key_rotate,
        name="manage_key_rotate",
    ),
    path(
        "manage/events/<uuid:event_id>/checkin/keys/<str:kid>/revoke",
        views.manage_key_revoke,
        name="manage_key_revoke",
    ),
    path("manage/events/<uuid:event_id>/attendance/", views.attendance_page, name="attendance"),
    path(
        "manage/events/<uuid:event_id>/attendance.json",
        views.attendance_json,
        name="attendance_json",
    ),
]

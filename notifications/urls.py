from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.centre, name="centre"),
    path("notifications/read-all", views.read_all, name="read_all"),
    path("notifications/<uuid:notification_id>/open", views.open_notification, name="open"),
    path("notifications/settings/", views.preference_edit, name="preferences"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("notifications/ticket-qr/<str:token>.png", views.ticket_qr, name="ticket_qr"),
    path("manage/webhooks/", views.webhook_list, name="webhooks"),
    path("manage/webhooks/<uuid:endpoint_id>/", views.webhook_detail, name="webhook"),
    path(
        "manage/webhooks/<uuid:endpoint_id>/<str:action>",
        views.webhook_action,
        name="webhook_action",
    ),
    path("manage/events/<uuid:event_id>/reminders", views.event_reminders, name="event_reminders"),
]

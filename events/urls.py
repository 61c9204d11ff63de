from django.urls import path

from events import views

app_name = "events"
urlpatterns = [
    path("events/", views.event_list, name="list"),
    path("events/<uuid:event_id>/", views.event_detail, name="detail"),
    path("events/<uuid:event_id>/timetable/", views.event_timetable, name="timetable"),
    path("events/<uuid:event_id>/<slug:slug>/", views.event_detail, name="detail_slug"),
    path("events/<uuid:event_id>/calendar.ics", views.event_calendar, name="calendar"),
    path("events/<uuid:event_id>/agenda.ics", views.event_agenda_feed, name="agenda_ics"),
    path("events/<uuid:event_id>/feedback", views.feedback_give, name="feedback"),
    path("sessions/<uuid:session_id>/star", views.session_star_view, name="star"),
    path("agenda/", views.my_agenda, name="my_agenda"),
    path("agenda/my-agenda.ics", views.my_agenda_ics, name="my_agenda_ics"),
    path("agenda/feed/<str:token>.ics", views.personal_agenda_feed, name="agenda_feed"),
    path("manage/events/", views.manage_list, name="manage_list"),
    path("manage/events/new/", views.manage_create, name="manage_create"),
    path("manage/events/<uuid:event_id>/", views.manage_edit, name="manage_edit"),
    path("manage/events/<uuid:event_id>/publish", views.manage_publish, name="manage_publish"),
    path("manage/events/<uuid:event_id>/cancel", views.manage_cancel, name="manage_cancel"),
    path("manage/events/<uuid:event_id>/delete", views.manage_delete, name="manage_delete"),
    path("manage/events/<uuid:event_id>/sessions/", views.manage_sessions, name="manage_sessions"),
    path("manage/events/<uuid:event_id>/feedback/", views.manage_feedback, name="manage_feedback"),
    path(
        "manage/events/<uuid:event_id>/questions/",
        views.manage_questions,
        name="manage_questions",
    ),
    path(
        "manage/feedback/<int:feedback_id>",
        views.manage_feedback_action,
        name="manage_feedback_action",
    ),
]

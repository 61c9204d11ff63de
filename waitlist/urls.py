from django.urls import path

from waitlist import views

app_name = "waitlist"
urlpatterns = [
    path("events/<uuid:event_id>/waitlist", views.event_waitlist, name="event"),
    path("waitlist/offers/<str:token>", views.offer_detail, name="offer"),
    path("manage/events/<uuid:event_id>/waitlist", views.manage_waitlist, name="manage"),
    path(
        "manage/events/<uuid:event_id>/waitlist/offer-next",
        views.manage_offer_next,
        name="offer_next",
    ),
]

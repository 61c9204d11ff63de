from django.urls import path

from vouchers import views

app_name = "vouchers"
urlpatterns = [
    path("manage/events/<uuid:event_id>/vouchers/", views.manage, name="manage"),
    path("manage/events/<uuid:event_id>/vouchers.csv", views.export, name="export"),
]

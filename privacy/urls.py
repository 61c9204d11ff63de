from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("account/privacy/", views.privacy_home, name="home"),
    path("account/privacy/exports", views.export_start, name="export_start"),
    path(
        "account/privacy/exports/<uuid:export_id>/status", views.export_status, name="export_status"
    ),
    path(
        "account/privacy/exports/<uuid:export_id>/download",
        views.export_file,
        name="export_download",
    ),
    path("account/privacy/consent", views.consent_update, name="consent"),
    path("account/privacy/erase", views.erase, name="erase"),
    path(
        "account/organizations/<uuid:organization_id>/privacy",
        views.organization_retention,
        name="organization_retention",
    ),
]

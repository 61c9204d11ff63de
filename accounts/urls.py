from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("unlock", views.unlock, name="unlock"),
    path("audit/", views.audit_trail_page, name="audit"),
    path(
        "organizations/<uuid:organization_id>/security",
        views.organization_security,
        name="organization_security",
    ),
    path(
        "organizations/<uuid:organization_id>/logo",
        views.organization_logo,
        name="organization_logo",
    ),
    path(
        "organizations/<uuid:organization_id>/integrations",
        views.organization_integrations,
        name="organization_integrations",
    ),
]

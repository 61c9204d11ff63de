from django.urls import path

from invoicing import views

app_name = "invoicing"
urlpatterns = [
    path("orders/<uuid:order_id>/receipt.pdf", views.receipt, name="receipt"),
    path("documents/<uuid:document_id>.pdf", views.document, name="document"),
    path(
        "manage/organizations/<uuid:organization_id>/invoicing/",
        views.settings_page,
        name="settings",
    ),
]

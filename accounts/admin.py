from typing import Any

from allauth.account.decorators import secure_admin_login
from allauth.usersessions.admin import UserSessionAdmin
from allauth.usersessions.models import UserSession
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.http import HttpRequest

from accounts.models import (
    ApiToken,
    AuditEntry,
    Membership,
    OAuthIntegration,
    Organization,
    User,
)
from accounts.tasks import organization_logo_process


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "memberships__role"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def save_model(self, request: Any, obj: Organization, form: Any, change: bool) -> None:
        if "logo" in form.changed_data:
            obj.logo_variants = {}
        super().save_model(request, obj, form, change)
        if "logo" in form.changed_data and obj.logo:
            organization_id = str(obj.pk)
            transaction.on_commit(lambda: organization_logo_process.delay(organization_id))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "created_at", "expires_at", "revoked_at", "last_used_at"]
    search_fields = ["user__email", "name"]
    readonly_fields = ["digest", "created_at", "last_used_at"]


@admin.register(OAuthIntegration)
class OAuthIntegrationAdmin(admin.ModelAdmin):
    """Created with `manage.py oauth_integration_create` (the secret is shown only then)."""

    list_display = ["application", "organization", "service_user", "created_at"]
    readonly_fields = ["application", "organization", "service_user", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "organization", "action", "target_type", "target_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor__email", "target_id", "action"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "organization"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the audit log is append-only

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# allauth searches sessions by user__username; our users have only an email.
admin.site.unregister(UserSession)


@admin.register(UserSession)
class EmailUserSessionAdmin(UserSessionAdmin):
    search_fields = ["user__email", "ip"]


# The admin signs in through the site's own login, so its second factor (allauth.mfa) and the
# sign-in limits apply to it too; RequireMfaMiddleware then insists on a second factor.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

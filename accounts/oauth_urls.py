"""The OAuth2 / OpenID Connect endpoints under /o/: django-oauth-toolkit's, without the device
flow, dynamic client registration and RP-initiated logout, which Boxoffice does not offer.
Consent and withdrawal are ours (accounts/oauth.py); the first match of a path wins."""

from django.urls import URLPattern, path, re_path
from oauth2_provider import urls as toolkit
from oauth2_provider import views

from accounts.oauth import ConsentView, WithdrawAppView

app_name = "oauth2_provider"

urlpatterns: list[URLPattern] = [
    path("authorize/", ConsentView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", views.IntrospectTokenView.as_view(), name="introspect"),
    path(
        "authorized_tokens/<slug:pk>/delete/",
        WithdrawAppView.as_view(),
        name="authorized-token-delete",
    ),
    *toolkit.management_urlpatterns,
    re_path(
        r"^\.well-known/openid-configuration/?$",
        views.ConnectDiscoveryInfoView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", views.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", views.UserInfoView.as_view(), name="user-info"),
]

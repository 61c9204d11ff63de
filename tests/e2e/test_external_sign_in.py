"""Signing in through an external OpenID Connect provider (allauth), in Chromium, against a
real provider: Boxoffice's own, on a second live server. The provider runs on 127.0.0.1 and the
site on localhost, so the two keep separate cookies as two real sites would."""

import copy
from collections.abc import Iterator
from importlib import import_module

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings as django_settings
from oauth2_provider.models import Application
from playwright.sync_api import Browser
from pytest_django.live_server_helper import LiveServer

from accounts.models import AuditEntry, User
from config.settings import external_oidc_login
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import phone_context, record_errors
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROVIDER_ADDRESS = "127.0.0.1:57501"
CLIENT_SECRET = "e2e-client-secret-" + "x" * 30


def a_person() -> User:
    return UserFactory(email="ada@example.com", full_name="Ada Lovelace")


@pytest.fixture
def provider_server(live_server: LiveServer) -> Iterator[LiveServer]:
    server = LiveServer(PROVIDER_ADDRESS)
    yield server
    server.stop()


def test_person_signs_in_with_an_external_openid_connect_provider(
    browser: Browser, live_server: LiveServer, provider_server: LiveServer, settings
) -> None:
    assert "localhost" in live_server.url and "127.0.0.1" in provider_server.url
    person = a_person()
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    app = Application.objects.create(
        name="Boxoffice partner site",
        user=person,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=f"{live_server.url}/accounts/oidc/sso/login/callback/",
        algorithm=Application.RS256_ALGORITHM,
        client_secret=CLIENT_SECRET,
    )
    # What the environment would say; the URLs are only known once the servers run.
    providers, origins = external_oidc_login(
        {
            "OIDC_LOGIN_SERVER_URL": f"{provider_server.url}/o",
            "OIDC_LOGIN_CLIENT_ID": app.client_id,
            "OIDC_LOGIN_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_LOGIN_NAME": "Partner SSO",
            "OIDC_LOGIN_TRUST_EMAIL": "1",
        }
    )
    settings.SOCIALACCOUNT_PROVIDERS = providers
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] += origins
    settings.CONTENT_SECURITY_POLICY = policy

    context = phone_context(browser, live_server)
    page = context.new_page()
    errors = record_errors(page)

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Partner SSO").click()
    page.get_by_role("button", name="Continue").click()

    # At the provider: not signed in there, so its own sign-in page first.
    page.wait_for_url(f"{provider_server.url}/accounts/login/**")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()

    page.wait_for_url(f"{provider_server.url}/o/authorize/**")
    assert (
        page.get_by_role("heading", level=1).inner_text().startswith("Allow Boxoffice partner site")
    )
    assert page.get_by_text("See your email address").is_visible()
    assert_accessible(page, "consent page")
    page.get_by_role("button", name="Allow").click()

    # Back at the site, signed in as the person the provider vouched for.
    page.wait_for_url(f"{live_server.url}/")
    session_cookie = next(
        c["value"] for c in context.cookies(live_server.url) if c["name"] == "sessionid"
    )
    context.close()
    assert not errors, f"Errors in the browser: {errors}"

    account = SocialAccount.objects.get(provider="sso")
    assert account.user == person
    assert account.uid == str(person.pk)
    session = import_module(django_settings.SESSION_ENGINE).SessionStore(session_key=session_cookie)
    assert session.get("_auth_user_id") == str(person.pk)
    assert AuditEntry.objects.filter(actor=person, action="oauth.grant").exists()

"""Boxoffice as an OAuth2 / OpenID Connect provider, over HTTP against the live server: the
authorization code with PKCE, client credentials for an organization, scopes, introspection,
revocation, discovery and the audit trail."""

import base64
import hashlib
import re
import secrets
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from django.conf import settings
from django.test import Client
from oauth2_provider.models import AccessToken, Application
from pytest_django.live_server_helper import LiveServer

from accounts.errors import InsufficientScope
from accounts.models import AuditEntry, Membership, Organization, User
from accounts.services import oauth_integration_create
from core.errors import PermissionDenied
from events.models import Event
from tests.factories import EventFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "http://127.0.0.1:9/callback"
NEW_EVENT = {
    "title": "Scoped",
    "venue_name": "Hall",
    "city": "Berlin",
    "starts_at": "2031-05-01T19:00:00Z",
    "ends_at": "2031-05-01T22:00:00Z",
    "tiers": [{"name": "Standard", "price": "10.00", "capacity": 10}],
}


def an_owner() -> User:
    return MembershipFactory(role=Membership.Role.OWNER).user


def an_event(**fields: Any) -> Event:
    return EventFactory(**fields)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signed_in(live_server: LiveServer, user: User) -> httpx.Client:
    """An HTTP client carrying `user`'s session cookie on the live server."""
    session = Client()
    session.force_login(user)
    cookie = session.cookies[settings.SESSION_COOKIE_NAME].value
    return httpx.Client(
        base_url=live_server.url, cookies={settings.SESSION_COOKIE_NAME: cookie}, timeout=20
    )


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def public_app(owner: User) -> Application:
    return Application.objects.create(
        name="Calendar sync",
        user=owner,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=CALLBACK,
        algorithm=Application.RS256_ALGORITHM,
    )


def authorize(browser: httpx.Client, app: Application, scope: str, challenge: str) -> str:
    """Walk the consent page as the signed-in person and return the authorization code."""
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": "s-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = browser.get("/o/authorize/", params=query)
    assert page.status_code == 200, page.text[:500]
    assert "Calendar sync" in page.text
    assert "See the events you manage" in page.text  # the scope, as a person reads it
    # The consent form redirects to the app: the page's policy lets it go exactly there.
    assert "form-action 'self' http://127.0.0.1:9" in page.headers["Content-Security-Policy"]
    form = hidden_fields(page.text)
    answer = browser.post("/o/authorize/", data={**form, "allow": "Authorize"})
    assert answer.status_code == 302, answer.text[:500]
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    params = parse_qs(location.query)
    assert params["state"] == ["s-123"]
    return params["code"][0]


def test_authorization_code_with_pkce_end_to_end(live_server: LiveServer) -> None:
    organizer = an_owner()
    mine = an_event(organization=organizer.organizations.get())
    app = public_app(organizer)
    verifier, challenge = pkce_pair()
    with signed_in(live_server, organizer) as browser:
        code = authorize(browser, app, "openid email events:read", challenge)

    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": app.client_id,
        }
        wrong = http.post("/o/token/", data={**exchange, "code_verifier": "x" * 50})
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
        missing = http.post("/o/token/", data=exchange)
        assert missing.status_code == 400
        issued = http.post("/o/token/", data={**exchange, "code_verifier": verifier})
        assert issued.status_code == 200, issued.text
        tokens = issued.json()
        assert set(tokens["scope"].split()) == {"openid", "email", "events:read"}
        assert (
            http.post("/o/token/", data={**exchange, "code_verifier": verifier}).status_code == 400
        )

        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        listed = http.get("/api/v1/organizer/events", headers=auth)
        assert listed.status_code == 200
        assert [e["id"] for e in listed.json()] == [str(mine.pk)]
        refused = http.post("/api/v1/events", json=NEW_EVENT, headers=auth)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == InsufficientScope.code
        assert (
            http.post("/api/v1/events/" + str(mine.pk) + "/register", json={}, headers=auth).json()[
                "error"
            ]["code"]
            == "INSUFFICIENT_SCOPE"
        )

        # OpenID Connect: discovery, the signing key, the ID token and userinfo agree.
        discovery = http.get("/o/.well-known/openid-configuration").json()
        assert discovery["issuer"] == f"{live_server.url}/o"
        assert "S256" in discovery["code_challenge_methods_supported"]
        jwks = http.get(discovery["jwks_uri"].replace(live_server.url, "")).json()
        key = jwt.PyJWK(jwks["keys"][0])
        claims = jwt.decode(
            tokens["id_token"],
            key.key,
            algorithms=["RS256"],
            audience=app.client_id,
            issuer=discovery["issuer"],
        )
        assert claims["sub"] == str(organizer.pk)
        assert claims["nonce"] == "n-456"
        userinfo = http.get("/o/userinfo/", headers=auth).json()
        assert userinfo["sub"] == str(organizer.pk)
        assert userinfo["email"] == organizer.email
        assert "name" not in userinfo  # `profile` was not granted

    # The plaintext token is nowhere in the database, only its checksum.
    stored = AccessToken.objects.get(application=app)
    assert stored.token == ""
    assert stored.token_checksum == hashlib.sha256(tokens["access_token"].encode()).hexdigest()
    actions = set(
        AuditEntry.objects.filter(actor=organizer, target_id=str(app.pk)).values_list(
            "action", flat=True
        )
    )
    assert {"oauth.grant", "oauth.token.issue"} <= actions


def test_an_app_cannot_get_the_buyers_account_scope(live_server: LiveServer) -> None:
    attendee = an_owner()
    app = public_app(attendee)
    _verifier, challenge = pkce_pair()
    with signed_in(live_server, attendee) as browser:
        page = browser.get(
            "/o/authorize/",
            params={
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": CALLBACK,
                "scope": "account",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
    # oauthlib answers an unknown scope by sending the person back to the app with an error.
    assert page.status_code == 302
    assert "error=invalid_scope" in page.headers["Location"]


def integration_token(
    http: httpx.Client, client_id: str, secret: str, scope: str
) -> httpx.Response:
    return http.post(
        "/o/token/",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )


def test_client_credentials_act_for_their_organization_only(live_server: LiveServer) -> None:
    owner = an_owner()
    organization = owner.organizations.get()
    ours = an_event(organization=organization)
    an_event()  # another organization's
    integration, secret = oauth_integration_create(
        owner=owner, organization=organization, name="Ticket desk sync"
    )
    client_id = integration.application.client_id
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        wrong = integration_token(http, client_id, "not-the-secret", "events:read")
        assert wrong.status_code == 401
        issued = integration_token(http, client_id, secret, "events:read orders:read")
        assert issued.status_code == 200, issued.text
        assert "refresh_token" not in issued.json()
        auth = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        listed = http.get("/api/v1/organizer/events", headers=auth)
        assert listed.status_code == 200
        assert [e["id"] for e in listed.json()] == [str(ours.pk)]
        orders = http.get(f"/api/v1/events/{ours.pk}/orders", headers=auth)
        assert orders.status_code == 200
        refused = http.post("/api/v1/events", json=NEW_EVENT, headers=auth)
        assert refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
        # No identity scopes for a server, and nothing beyond the six API scopes.
        assert (
            integration_token(http, client_id, secret, "openid").json()["error"] == "invalid_scope"
        )

    assert Organization.objects.filter(membership__user=integration.service_user).count() == 1
    audit = AuditEntry.objects.filter(organization=organization).values_list("action", flat=True)
    assert {"oauth.integration.create", "oauth.token.issue"} <= set(audit)


def test_client_credentials_app_without_an_organization_gets_nothing(
    live_server: LiveServer,
) -> None:
    owner = an_owner()
    secret = "s" * 40
    app = Application.objects.create(
        name="Stray server",
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
    )
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        answer = integration_token(http, app.client_id, secret, "events:read")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


def test_only_an_owner_registers_an_integration() -> None:
    manager: User = MembershipFactory(role=Membership.Role.MANAGER).user  # type: ignore[assignment]
    with pytest.raises(PermissionDenied):
        oauth_integration_create(
            owner=manager, organization=manager.organizations.get(), name="Sneaky"
        )
    assert not Application.objects.exists()


def test_introspection_answers_and_revocation_makes_the_token_fail(
    live_server: LiveServer,
) -> None:
    owner = an_owner()
    organization = owner.organizations.get()
    integration, secret = oauth_integration_create(
        owner=owner, organization=organization, name="Door sync"
    )
    client_id = integration.application.client_id
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        token = integration_token(http, client_id, secret, "checkin:write events:read").json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        assert http.get("/api/v1/organizer/events", headers=auth).status_code == 200

        anonymous = http.post("/o/introspect/", data={"token": token})
        assert anonymous.status_code in {401, 403}
        active = http.post("/o/introspect/", data={"token": token}, auth=(client_id, secret))
        assert active.status_code == 200
        assert active.json()["active"] is True
        assert set(active.json()["scope"].split()) == {"checkin:write", "events:read"}
        assert active.json()["client_id"] == client_id

        revoked = http.post("/o/revoke_token/", data={"token": token}, auth=(client_id, secret))
        assert revoked.status_code == 200
        after = http.get("/api/v1/organizer/events", headers=auth)
        assert after.status_code == 401
        assert after.json()["error"]["code"] == "UNAUTHENTICATED"
        gone = http.post("/o/introspect/", data={"token": token}, auth=(client_id, secret))
        assert gone.json() == {"active": False}

    assert AuditEntry.objects.filter(
        organization=organization, action="oauth.token.revoke", changes__found=True
    ).exists()


def test_app_registration_and_authorized_apps_pages_use_our_frame(client: Client) -> None:
    client.force_login(an_owner())
    for url in ("/o/applications/register/", "/o/applications/", "/o/authorized_tokens/"):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert 'id="main"' in html and "· Boxoffice</title>" in html, url
    assert client.get("/o/register/").status_code == 404  # no open dynamic registration


def test_person_withdrawing_an_app_ends_its_token_and_the_trail_shows_it(
    live_server: LiveServer,
) -> None:
    organizer = an_owner()
    app = public_app(organizer)
    verifier, challenge = pkce_pair()
    with signed_in(live_server, organizer) as browser:
        code = authorize(browser, app, "events:read", challenge)
        token = browser.post(
            "/o/token/",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "client_id": app.client_id,
                "code_verifier": verifier,
            },
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert browser.get("/api/v1/organizer/events", headers=auth).status_code == 200
        stored = AccessToken.objects.get(application=app)
        confirm = browser.get(f"/o/authorized_tokens/{stored.pk}/delete/")
        withdrawn = browser.post(
            f"/o/authorized_tokens/{stored.pk}/delete/", data=hidden_fields(confirm.text)
        )
        assert withdrawn.status_code == 302
        assert browser.get("/api/v1/organizer/events", headers=auth).status_code == 401
    assert AuditEntry.objects.filter(
        actor=organizer, action="oauth.token.revoke", changes__by="user"
    ).exists()

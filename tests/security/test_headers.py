"""Security headers on pages and the API: a strict CSP, camera only on the scanner page."""

import pytest
from django.test import Client

from accounts.models import Membership
from events.models import Event
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def test_pages_carry_a_strict_policy_and_deny_framing(client: Client) -> None:
    response = client.get("/events/")

    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    for name in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[name] and "'unsafe-eval'" not in policy[name]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]


def test_the_api_carries_the_policy_too(client: Client) -> None:
    response = client.get("/api/v1/events")

    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_an_inline_style_block_gets_the_nonce_of_its_response(client: Client, event: Event) -> None:
    event.sessions.create(title="Opening", starts_at=event.starts_at, ends_at=event.ends_at)
    response = client.get(f"/events/{event.pk}/timetable/")

    nonce = directives(response["Content-Security-Policy"])["style-src"][-1]
    assert nonce.startswith("'nonce-")
    assert f'<style nonce="{nonce[7:-1]}">' in response.content.decode()
    assert 'style="' not in response.content.decode()


def test_only_the_scanner_page_may_use_the_camera(client: Client, event: Event) -> None:
    door = MembershipFactory.create(organization=event.organization, role=Membership.Role.DOOR)
    client.force_login(door.user)

    scanner = client.get(f"/door/{event.pk}/")
    listing = client.get("/door/")

    assert scanner.status_code == 200
    assert "camera=(self)" in scanner["Permissions-Policy"]
    assert "'wasm-unsafe-eval'" in directives(scanner["Content-Security-Policy"])["script-src"]
    assert "camera=()" in listing["Permissions-Policy"]
    assert "'wasm-unsafe-eval'" not in listing["Content-Security-Policy"]


def test_production_settings_send_hsts(client: Client, settings) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = False

    response = client.get("/events/", secure=True)

    assert response["Strict-Transport-Security"].startswith("max-age=31536000")

"""The Content-Security-Policy is enforced in Chromium, and the browser tests would notice a
violation (every other browser test fails on one through `record_errors`)."""

import pytest
from playwright.sync_api import Browser
from pytest_django.live_server_helper import LiveServer

from tests.e2e.conftest import phone_context, record_errors

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_injected_inline_script_and_style_are_blocked_and_reported(
    browser: Browser, live_server: LiveServer
) -> None:
    context = phone_context(browser, live_server)
    page = context.new_page()
    errors = record_errors(page)
    page.goto("/events/")
    # What an HTML injection would add: an inline script and a style attribute.
    page.evaluate(
        """() => {
        const s = document.createElement("script");
        s.textContent = "window.__pwned = true";
        document.body.append(s);
        document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="color: red">x</p>');
    }"""
    )
    page.wait_for_timeout(200)
    pwned = page.evaluate("() => window.__pwned === true")
    colour = page.evaluate("() => getComputedStyle(document.getElementById('styled')).color")
    context.close()

    assert pwned is False
    assert colour != "rgb(255, 0, 0)"
    violations = [e for e in errors if e.startswith("CSP violation")]
    assert any("script-src" in v for v in violations), errors
    assert any("style-src" in v for v in violations), errors

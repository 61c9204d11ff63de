"""Browser fixtures: Debian's Chromium driven by Playwright, pages sized like a phone.

`make test` installs Chromium (Makefile `system-deps`); `playwright install` is not used because
its downloads are not available everywhere we run.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

from accounts.models import User

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 360, "height": 740}

Launcher = Callable[..., Browser]


# Package scope: Playwright's event loop and the lifted async check (below) end with tests/e2e.
@pytest.fixture(scope="package")
def _playwright() -> Iterator[Playwright]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Browser tests need Chromium: `apt-get install chromium` (make test does it).")
    # Playwright's sync API keeps an asyncio loop running on this thread, and Django refuses ORM
    # calls from a thread with a running loop. The test thread only builds data and counts rows
    # while the browser waits, so the check can be lifted for as long as Playwright runs.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            yield playwright


@pytest.fixture
def launch_browser(_playwright: Playwright) -> Iterator[Launcher]:
    """Start a Chromium with extra command-line flags (the camera test needs its own)."""
    launched: list[Browser] = []

    def launch(*extra_args: str) -> Browser:
        browser = _playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args]
        )
        launched.append(browser)
        return browser

    yield launch
    for browser in launched:
        browser.close()


@pytest.fixture(scope="package")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# A page watched by `record_errors` reports what the Content-Security-Policy blocked as a
# console error, which fails the test: the policy is enforced, so a violation is a broken
# feature, not a warning.
CSP_VIOLATION_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
});
"""


def phone_context(browser: Browser, live_server: LiveServer) -> BrowserContext:
    context = browser.new_context(
        base_url=live_server.url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    return context


# A form page re-rendered with its errors answers 409 or 422, which Chromium logs as a failed
# load; that is the page working, not an error.
FORM_ANSWERS = ("status of 409", "status of 422")


def record_errors(page: Page) -> list[str]:
    """Collect uncaught JavaScript errors and console errors (a failed static file and a CSP
    violation show here)."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(code in message.text for code in FORM_ANSWERS):
            errors.append(f"{message.text} ({message.location['url']})")

    page.add_init_script(CSP_VIOLATION_REPORTER)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", on_console)
    return errors


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh phone-sized tab on the live server; errors in the browser console fail the test."""
    context = phone_context(browser, live_server)
    page = context.new_page()
    errors = record_errors(page)
    yield page
    context.close()
    assert not errors, f"Errors in the browser: {errors}"


# The two sizes every page is checked at: a small phone and a laptop.
VIEWPORTS = {"phone": (360, 740), "desktop": (1280, 900)}


def viewport_page(
    browser: Browser, live_server: LiveServer, viewport: str, **options: Any
) -> Iterator[Page]:
    """A fresh tab at one of VIEWPORTS (a touch phone at 2x for "phone"), with `options` for
    the browser context (a locale, say); errors in the browser console fail the test."""
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
        **options,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = record_errors(page)
    yield page
    context.close()
    assert not errors, errors


def log_in(context: BrowserContext, live_server: LiveServer, user: User) -> None:
    """Give the browser a session of `user` without going through the login form."""
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )

"""Screenshots of the main pages at 360 px and 1280 px, for docs/screenshots/ and the README.

    make run                                   # in another shell: demo data on :8000
    .venv/bin/python bench/screenshots.py      # or --url http://127.0.0.1:8180 --out DIR

Signs in as the demo attendee, organizer and door person (seed_demo's published logins) through
the login form, books two tickets so there is a checkout and a ticket to show, and writes
<page>-<width>.png. Prints one JSON object: the files written and each page's URL.
Uses Debian's Chromium like the browser tests (CHROMIUM_PATH to override).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

PASSWORD = "boxoffice-demo"  # noqa: S105 - the published demo password
ROOT = Path(__file__).resolve().parent.parent
SIZES = {360: (360, 740), 1280: (1280, 860)}


def shrink(path: Path) -> None:
    """256 colours are plenty for a page of flat colours and keep the repository small."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)


def sign_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile("^(Email|E-mail)", re.I)).fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(Sign In|Log in)$", re.I)).click()
    page.wait_for_load_state("networkidle")


def event_url(page: Page, title: str) -> str:
    page.goto("/events/")
    return page.get_by_role("link", name=title).first.get_attribute("href") or "/"


def shoot(browser: Browser, base: str, width: int, out: Path) -> dict[str, str]:
    w, h = SIZES[width]
    phone = width < 600
    taken: dict[str, str] = {}

    def context_page() -> Page:
        context = browser.new_context(
            base_url=base,
            viewport={"width": w, "height": h},
            device_scale_factor=2 if phone else 1,
            is_mobile=phone,
            has_touch=phone,
            color_scheme="light",
        )
        context.set_default_timeout(20_000)
        return context.new_page()

    def snap(page: Page, name: str, full: bool = True) -> None:
        page.wait_for_load_state("networkidle")
        path = out / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=full)
        shrink(path)
        taken[path.name] = page.url.replace(base, "")

    page = context_page()
    page.goto("/")
    snap(page, "home", full=not phone)
    page.goto("/events/")
    snap(page, "events", full=not phone)
    page.goto(event_url(page, "Jazz Festival by the Lake"))
    snap(page, "event")

    sign_in(page, "attendee@boxoffice.local")
    page.goto(event_url(page, "Symphony Night").rstrip("/").rsplit("/", 1)[0] + "/seats/")
    page.get_by_role("button", name="Whole venue").wait_for()
    snap(page, "seat-map")
    page.goto(event_url(page, "Hands-on Django Workshop"))
    page.locator("input[type=number]:not([disabled])").first.fill("2")
    page.get_by_role("button", name="Book").click()
    page.wait_for_load_state("networkidle")
    snap(page, "checkout")
    pay = page.get_by_role("button", name=re.compile("^Pay"))
    if pay.count():
        card = page.get_by_label(re.compile("Card", re.I))
        if card.count():
            card.first.fill("4242 4242 4242 4242")
        pay.first.click()
        page.wait_for_load_state("networkidle")
    page.goto("/tickets/")
    snap(page, "my-tickets", full=not phone)
    page.context.close()

    page = context_page()
    sign_in(page, "organizer@boxoffice.local")
    page.goto("/manage/")
    snap(page, "organizer-home", full=not phone)
    page.get_by_role("link", name="Jazz Festival by the Lake").first.click()
    snap(page, "organizer-event", full=not phone)
    page.get_by_role("navigation", name="Event sections").get_by_role(
        "link", name="Attendees"
    ).click()
    snap(page, "organizer-attendees", full=not phone)
    page.context.close()

    page = context_page()
    sign_in(page, "door@boxoffice.local")
    page.goto("/door/")
    page.get_by_role("link", name=re.compile("Hands-on Django Workshop")).first.click()
    page.wait_for_load_state("networkidle")
    lookup = page.get_by_label("Name, email or order number")
    lookup.fill("alex")
    page.get_by_role("button", name="Find").click()
    page.wait_for_load_state("networkidle")
    page.locator("#guests").scroll_into_view_if_needed()
    snap(page, "door", full=True)
    page.context.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        files: dict[str, str] = {}
        for width in SIZES:
            files.update(shoot(browser, args.url.rstrip("/"), width, out))
        browser.close()
    print(json.dumps({"out": str(out), "files": files}, indent=1))


if __name__ == "__main__":
    main()

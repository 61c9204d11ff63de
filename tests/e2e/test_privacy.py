"""A person downloads their data and erases their account, through the pages, in Chromium with
the Content-Security-Policy enforced and axe-core checking each page."""

import io
import json
import zipfile
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership, User
from privacy.exports import export_build
from privacy.models import DataExport, RetentionPolicy
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import log_in, phone_context, record_errors
from tests.factories import MembershipFactory
from tests.privacy.scenario import buyer_with_history, where_text_appears

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_page_follows_the_export_being_built_and_downloads_the_zip(
    browser: Browser, live_server: LiveServer
) -> None:
    buyer = buyer_with_history()
    context = phone_context(browser, live_server)
    log_in(context, live_server, buyer.user)
    page = context.new_page()
    errors = record_errors(page)

    page.goto("/account/privacy/")
    assert_accessible(page, "privacy page")
    page.get_by_role("button", name="Prepare my data export").click()
    # Built on commit here (tasks run inline in tests): the page after the request offers it.
    expect(page.get_by_role("link", name="Download the zip")).to_be_visible()

    # One waiting for a worker: the page polls and shows it once it is built.
    waiting = DataExport.objects.create(user=buyer.user)
    page.reload()
    item = page.locator(f'[data-export-status$="{waiting.pk}/status"]')
    expect(item.locator("progress")).to_be_visible()
    export_build(export_id=waiting.pk)
    expect(item.get_by_role("link", name="Download the zip")).to_be_visible()
    expect(item.locator("progress")).to_have_count(0)

    with page.expect_download() as download_info:
        item.get_by_role("link", name="Download the zip").click()
    path = download_info.value.path()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        profile = json.loads(archive.read("profile.json"))
        assert profile[0]["email"] == buyer.email
        assert {"orders.csv", "tickets.json", "audit.json"} <= set(archive.namelist())
    context.close()
    assert not errors, errors


def test_erasing_through_the_pages_tells_what_happened_and_leaves_no_address(
    browser: Browser, live_server: LiveServer, settings: Any
) -> None:
    buyer = buyer_with_history()
    context = phone_context(browser, live_server)
    log_in(context, live_server, buyer.user)
    page = context.new_page()
    errors = record_errors(page)

    page.goto("/account/privacy/")
    page.get_by_role("link", name="Erase my account…").click()
    # A click does not wait for the navigation it starts; axe must see the new document.
    expect(page).to_have_url(f"{live_server.url}/account/privacy/erase")
    expect(page.get_by_label("Type your email address to confirm")).to_be_visible()
    assert_accessible(page, "erase page")
    page.get_by_label("Type your email address to confirm").fill("not-me@example.org")
    page.get_by_role("button", name="Erase my account").click()
    expect(page.get_by_text("This is not the address of your account.")).to_be_visible()
    assert User.objects.get(pk=buyer.user.pk).is_active

    page.get_by_label("Type your email address to confirm").fill(buyer.email)
    page.get_by_role("button", name="Erase my account").click()

    expect(page.get_by_role("heading", name="Your account was erased")).to_be_visible()
    table = page.locator("#erasure-outcomes")
    expect(table.get_by_role("row", name="Spring Gala")).to_contain_text("Refunded")
    expect(table.get_by_role("row", name="Summer Festival")).to_contain_text("Kept")
    assert_accessible(page, "erased page")
    assert where_text_appears(buyer.email) == []
    page.goto("/account/privacy/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/account/privacy/")
    context.close()
    assert not errors, errors


def test_an_owner_sets_the_retention_period_and_an_old_link_explains_itself(
    browser: Browser, live_server: LiveServer
) -> None:
    owner = MembershipFactory.create(role=Membership.Role.OWNER).user
    organization = owner.organizations.get()
    context = phone_context(browser, live_server)
    log_in(context, live_server, owner)
    page = context.new_page()
    errors = record_errors(page)

    page.goto(f"/account/organizations/{organization.pk}/privacy")
    assert_accessible(page, "retention page")
    page.get_by_label("Keep attendee data for this many days after an event ends").fill("90")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_label("Keep attendee data for this many days after an event ends")
    ).to_have_value("90")
    assert RetentionPolicy.objects.get(organization=organization).days == 90

    export = DataExport.objects.create(user=owner)
    page.goto(f"/account/privacy/exports/{export.pk}/download?t=no-longer-valid")
    expect(page.get_by_role("heading", name="Download not available")).to_be_visible()
    assert_accessible(page, "invalid download link page")
    context.close()
    # The invalid link answers 410, which Chromium logs as a failed load: that is the page.
    assert [e for e in errors if "status of 410" not in e] == [], errors

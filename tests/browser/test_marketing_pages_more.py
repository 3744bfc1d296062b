"""Issue 18's leftovers on the marketing pages, in Debian's Chromium: every segment in the
pickers (not the first 100), a suppressed contact shown and filtered as suppressed, double
opt-in asked for on the page, and a scheduled broadcast edited and rescheduled. Each page
with no console error, no request to another origin and no serious axe-core violation.

Runs after ``test_marketing_pages`` (file order) and touches none of its segments."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tests.browser import test_dashboard_pages as base
from tests.browser.conftest import Portal
from tests.browser.test_dashboard_pages import Tab, _audit, shot
from tests.browser.test_marketing_pages import _id_in, _outbox

owner, clean = base.owner, base.clean
MADE: dict[str, str] = {}


def _api(portal: Portal, method: str, path: str, body: Any = None) -> Any:
    """The API, waiting out its rate limit (this module makes a hundred segments)."""
    for _ in range(60):
        response = requests.request(method, portal.url(path), json=body, timeout=30, headers={
            "Authorization": f"Bearer {portal.dev['api_key']}"})
        if response.status_code != 429:
            break
        time.sleep(float(response.headers.get("Retry-After") or 1))
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json()


def test_the_101st_segment_can_be_chosen_on_every_picker(clean: Tab, portal: Portal) -> None:
    """Bug caught: pickers offering only the first 100 segments, so an account with more
    could not add a contact to (or broadcast to) the rest from the dashboard."""
    made = [_api(portal, "POST", "/v1/segments", {"name": f"More {n:03}"})["id"]
            for n in range(101)]
    MADE["segment"] = made[-1]
    page = clean.page
    clean.go("/dashboard/contacts")
    page.get_by_label("Email address").fill("zed@example.org")
    page.locator("#n-segment").select_option(label="More 100")
    page.get_by_role("button", name="Add contact").click()
    page.wait_for_url("**/dashboard/contacts/ct_*")
    MADE["contact"] = _id_in(page.url, "contacts")
    seen = _api(portal, "GET", f"/v1/contacts/{MADE['contact']}")
    assert seen["segment_ids"] == [made[-1]] and seen["status"] == "subscribed"
    clean.go("/dashboard/broadcasts/new")
    offered = page.locator("#b-segment option").all_inner_texts()
    assert {f"More {n:03}" for n in range(101)} <= set(offered)
    clean.go("/dashboard/contact-imports/new")
    assert "More 100" in page.locator("#i-segment option").all_inner_texts()
    assert _audit(page) == []


def test_a_suppressed_contact_is_shown_and_filtered_as_suppressed(clean: Tab,
                                                                  portal: Portal) -> None:
    """Bug caught: a contact whose address is on the suppression list shown (and filtered)
    as "subscribed" on the contacts page, although no broadcast reaches it."""
    page = clean.page
    _api(portal, "POST", "/v1/contacts", {"email": "sue@example.org", "first_name": "Sue"})
    clean.go("/dashboard/suppressions")
    page.locator("#a-email").fill("sue@example.org")
    page.get_by_role("button", name="Suppress", exact=True).click()
    page.wait_for_url("**/dashboard/suppressions?done=added")
    clean.go("/dashboard/contacts")
    page.get_by_label("Subscription").select_option(label="Suppressed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**state=suppressed*")
    rows = page.locator("table tbody tr").all_inner_texts()
    assert len(rows) == 1 and "sue@example.org" in rows[0], rows
    assert "suppressed (added by hand)" in rows[0]
    assert _audit(page) == []
    page.get_by_role("link", name="sue@example.org").click()
    page.wait_for_url("**/dashboard/contacts/ct_*")
    assert page.locator("#contact-state").inner_text().startswith("suppressed (added by hand)")
    page.locator("#contact-state a").click()  # to the entry on the suppression list
    page.wait_for_url("**/dashboard/suppressions?search=*")
    assert "sue@example.org" in page.content()


def test_double_opt_in_asked_for_on_the_page_sends_the_confirmation_first(
        clean: Tab, portal: Portal) -> None:
    """Bug caught: the page offering double opt-in only through a segment's setting, so a
    contact added with "confirm first" was subscribed at once and got no confirmation."""
    page = clean.page
    before = set(_outbox(portal))
    clean.go("/dashboard/contacts")
    page.get_by_label("Email address").fill("dora@example.org")
    page.get_by_label(re.compile("^Send a confirmation email first")).check()
    page.locator("#n-from").fill(f"News <news@{portal.dev['domain']}>")
    page.locator("#n-subject").fill("Dora, please confirm")
    page.get_by_role("button", name="Add contact").click()
    page.wait_for_url("**/dashboard/contacts/ct_*")
    assert page.locator("#contact-state").inner_text().startswith("pending")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = [m for k, m in _outbox(portal).items() if k not in before]
        if new:
            break
        time.sleep(0.5)
    assert [(str(m["To"]), str(m["Subject"])) for m in new] == [
        ("dora@example.org", "Dora, please confirm")]
    assert "/c/" in new[0].get_body(("plain",)).get_content()


def test_a_scheduled_broadcast_is_edited_and_rescheduled_on_its_page(
        clean: Tab, portal: Portal) -> None:
    """Bug caught: a scheduled broadcast that can only be cancelled on the page, or an edit
    that loses the time (or sends it at once)."""
    page = clean.page
    clean.go("/dashboard/broadcasts/new")
    page.get_by_label(re.compile("^Name")).fill("Autumn news")
    page.get_by_label(re.compile("^From")).fill(f"News <news@{portal.dev['domain']}>")
    page.locator("#b-segment").select_option(label="More 100")
    page.get_by_label(re.compile("^Subject")).fill("Autumn")
    page.get_by_label("Text", exact=True).fill("Autumn news.")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/dashboard/broadcasts/bc_*?done=saved")
    broadcast_id = _id_in(page.url, "broadcasts")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    page.locator("#b-when").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    page.wait_for_url("**?done=schedule")
    assert "Scheduled for" in page.locator("#broadcast-scheduled").inner_text()
    later = tomorrow + timedelta(days=1, hours=2)
    page.get_by_label(re.compile("^Subject")).fill("Autumn, revised")
    page.locator("#b-when").fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url("**?done=rescheduled")
    seen = _api(portal, "GET", f"/v1/broadcasts/{broadcast_id}")
    assert seen["status"] == "scheduled" and seen["subject"] == "Autumn, revised"
    assert seen["scheduled_at"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
    assert page.locator("#b-when").input_value() == later.strftime("%Y-%m-%dT%H:%M")
    assert _audit(page) == []
    shot(page, "broadcast-scheduled")
    page.get_by_role("button", name="Cancel broadcast").click()
    page.wait_for_url("**?done=cancelled")
    assert page.locator("#broadcast-status").inner_text() == "cancelled"


def test_the_scheduled_broadcast_screenshot_lands_where_docs_point(portal: Portal) -> None:
    """Bug caught: docs/dashboard.md naming the scheduled broadcast's image while the run
    writes none (or under another name)."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
    assert "dashboard-broadcast-scheduled.png" in docs
    assert (base.SHOTS / "dashboard-broadcast-scheduled.png").exists()

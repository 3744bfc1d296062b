"""Issue 18's marketing pages in Debian's Chromium: contacts (with a CSV import), segments,
topics and broadcasts, driven as a customer would, checked through the API and the local
outbox; each page with no console error, no request to another origin, no critical or
serious axe-core violation, usable at 360 px, and screenshot for docs/dashboard.md.

The tests share one signed-in context and build on each other in file order (a segment,
contacts, a topic, then a broadcast to them), as ``test_dashboard_pages`` does.
"""

from __future__ import annotations

import email
import re
import time
from email import policy
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import Portal
from tests.browser import test_dashboard_pages as base
from tests.browser.test_dashboard_pages import Tab, _audit, shot

owner, clean = base.owner, base.clean  # the same signed-in tab fixtures, for this module

MADE: dict[str, str] = {}  # ids the earlier tests made, for the page walk at the end
CSV = ("email,first_name,unsubscribed\n"
       "bob@example.org,Bob,false\n"
       "uma@example.org,Uma,true\n"
       "not-an-address,Bad,false\n"
       "cyd@example.org,Cyd\n")


def _api(portal: Portal, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, portal.url(path), json=body, timeout=30, headers={
        "Authorization": f"Bearer {portal.dev['api_key']}"})
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json()


def _id_in(url: str, kind: str) -> str:
    match = re.search(rf"/dashboard/{kind}/([a-z]+_[A-Za-z0-9]+)", url)
    assert match, url
    return match.group(1)


def _outbox(portal: Portal) -> dict[str, Any]:
    return {p.name: email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted((portal.state / "outbox").glob("*.eml"))}


def test_a_contact_created_on_the_page_appears_in_the_api(clean: Tab, portal: Portal) -> None:
    """Bug caught: a page-made contact (or its segment) that the API does not see."""
    page = clean.page
    clean.go("/dashboard/segments")
    page.get_by_label("Name", exact=True).fill("Readers")
    page.get_by_role("button", name="Create segment").click()
    page.wait_for_url("**/dashboard/segments/seg_*")
    MADE["segment"] = _id_in(page.url, "segments")
    clean.go("/dashboard/contacts")
    page.get_by_label("Email address").fill("ann@example.org")
    page.get_by_label("First name").fill("Ann")
    page.get_by_label("Segment", exact=False).last.select_option(label="Readers")
    page.get_by_role("button", name="Add contact").click()
    page.wait_for_url("**/dashboard/contacts/ct_*")
    MADE["contact"] = _id_in(page.url, "contacts")
    assert page.get_by_role("heading", name="ann@example.org").is_visible()
    listed = _api(portal, "GET", "/v1/contacts?limit=100")["data"]
    ann = [c for c in listed if c["email"] == "ann@example.org"]
    assert [c["id"] for c in ann] == [MADE["contact"]]
    assert ann[0]["first_name"] == "Ann" and ann[0]["segment_ids"] == [MADE["segment"]]


def test_a_csv_with_a_malformed_row_shows_its_reason_in_the_report(clean: Tab) -> None:
    """Bug caught: an import page that drops the per-row reasons, a file the page does not
    read, or a report that never follows the background job to its end."""
    page = clean.page
    clean.go("/dashboard/contact-imports/new")
    page.locator("#csv-file").set_input_files(files=[{
        "name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.locator("#csv-file-status").filter(has_text="lines read").wait_for()
    assert page.get_by_label("CSV content").input_value() == CSV
    page.get_by_label("Add every contact to segment").select_option(label="Readers")
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/dashboard/contact-imports/imp_*")
    MADE["import"] = _id_in(page.url, "contact-imports")
    # The page follows the job by itself (no reload here): wait for the report.
    page.locator("#import-status", has_text="completed").wait_for(timeout=90_000)
    rows = {r.locator("td").nth(0).inner_text(): r.locator("td").nth(1).inner_text()
            for r in page.locator("#import-errors tbody tr").all()}
    assert set(rows) == {"4", "5"}, rows
    assert rows["4"].startswith("email:"), rows
    assert rows["5"] == "has 2 columns; the header has 3"
    assert page.locator("#import-created").inner_text() == "2"
    assert page.locator("#import-skipped").inner_text() == "2"
    assert "not-an-address" not in page.locator("#import-errors").inner_text()


def test_a_topic_opt_out_changed_on_the_contact_page_is_seen_by_the_api(
        clean: Tab, portal: Portal) -> None:
    """Bug caught: a subscription change on the page that the API (and so the sender)
    never sees."""
    page = clean.page
    clean.go("/dashboard/topics")
    page.get_by_label("Name", exact=True).fill("Monthly news")
    page.get_by_label("Description").fill("The month's news, once a month")
    page.get_by_role("button", name="Create topic").click()
    page.wait_for_url("**/dashboard/topics?done=created*")
    topic = next(t for t in _api(portal, "GET", "/v1/topics?limit=100")["data"]
                 if t["name"] == "Monthly news")
    MADE["topic"] = topic["id"]
    clean.go(f"/dashboard/contacts/{MADE['contact']}")
    box = page.get_by_label(re.compile("^Monthly news"))
    assert box.is_checked(), "an opt-in topic starts subscribed"
    box.uncheck()
    page.get_by_role("button", name="Save subscriptions").click()
    page.wait_for_url("**?done=topics")
    assert not page.get_by_label(re.compile("^Monthly news")).is_checked()
    subs = _api(portal, "GET", f"/v1/contacts/{MADE['contact']}/topics")["data"]
    assert [(s["topic_id"], s["subscribed"], s["explicit"]) for s in subs
            if s["topic_id"] == topic["id"]] == [(topic["id"], False, True)]


def test_a_broadcast_composed_on_the_page_previews_and_reaches_only_the_subscribed(
        clean: Tab, portal: Portal) -> None:
    """Bug caught: a preview not personalized per contact, or a page-sent broadcast that
    mails an unsubscribed contact, misses a subscribed one or shows no progress."""
    page = clean.page
    clean.go("/dashboard/broadcasts/new")
    page.get_by_label(re.compile("^Name")).fill("Spring news")
    page.get_by_label(re.compile("^From")).fill(f"News <news@{portal.dev['domain']}>")
    page.get_by_label("Audience: segment").select_option(label="Readers")
    page.get_by_label(re.compile("^Subject")).fill("Hello {{ contact.first_name }}")
    page.get_by_label("Text", exact=True).fill("Dear {{ contact.first_name }}, spring news.")
    page.get_by_label(re.compile("^Preview for contact")).fill("bob@example.org")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    assert page.locator("#preview-subject").inner_text() == "Hello Bob"
    assert page.locator("#preview-text").inner_text() == "Dear Bob, spring news."
    assert page.locator("#preview-for").inner_text() == "bob@example.org"
    shot(page, "broadcast-compose")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/dashboard/broadcasts/bc_*?done=saved")
    MADE["broadcast"] = _id_in(page.url, "broadcasts")
    before = set(_outbox(portal))
    page.get_by_role("button", name="Send now").click()
    page.wait_for_url("**?done=send")
    page.locator("#broadcast-status", has_text="sent").wait_for(timeout=90_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = {k: m for k, m in _outbox(portal).items() if k not in before}
        if len(new) >= 2:
            break
        time.sleep(0.5)
    time.sleep(3)  # long enough that a third, wrong, message would be here too
    new = {k: m for k, m in _outbox(portal).items() if k not in before}
    texts = {str(m["To"]): m.get_body(("plain",)).get_content() for m in new.values()}
    assert sorted(texts) == ["ann@example.org", "bob@example.org"], texts
    assert "Dear Ann, spring news." in texts["ann@example.org"]
    assert "Dear Bob, spring news." in texts["bob@example.org"]
    assert all(m["List-Unsubscribe"] for m in new.values())
    clean.eventually(f"/dashboard/broadcasts/{MADE['broadcast']}?status=skipped",
                     "uma@example.org")


PAGES = [("contacts", "/dashboard/contacts"), ("contact", "/dashboard/contacts/{contact}"),
         ("contact-import", "/dashboard/contact-imports/{import}"),
         ("contact-import-new", "/dashboard/contact-imports/new"),
         ("segments", "/dashboard/segments"), ("segment", "/dashboard/segments/{segment}"),
         ("topics", "/dashboard/topics"), ("topic", "/dashboard/topics/{topic}"),
         ("broadcasts", "/dashboard/broadcasts"),
         ("broadcast-new", "/dashboard/broadcasts/new"),
         ("broadcast", "/dashboard/broadcasts/{broadcast}")]
SCREENSHOTS = {"contacts", "contact-import", "segments", "topics", "broadcasts", "broadcast"}


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[n for n, _ in PAGES])
def test_every_marketing_page_passes_axe_fits_360px_and_is_screenshot(
        clean: Tab, name: str, path: str) -> None:
    """Bug caught: a marketing page with a serious accessibility fault, a console error, a
    request to another origin, a page that scrolls sideways on a phone, or a stale
    screenshot in docs/."""
    missing = [k for k in re.findall(r"{(\w+)}", path) if k not in MADE]
    if missing:
        pytest.fail(f"run the whole module: the earlier tests make the {missing}")
    path = path.format(**MADE)
    page = clean.page
    page.set_viewport_size({"width": 1100, "height": 800})
    response = clean.go(path)
    assert response.status == 200
    assert _audit(page) == []
    if name in SCREENSHOTS:
        shot(page, name)
    page.set_viewport_size({"width": 360, "height": 740})
    clean.go(path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width}px wide at 360px"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_screenshots_land_where_docs_point(portal: Portal) -> None:
    """Bug caught: docs/dashboard.md naming a marketing image the run does not write."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
    for name in sorted(SCREENSHOTS | {"broadcast-compose"}):
        assert f"dashboard-{name}.png" in docs, name
        assert (base.SHOTS / f"dashboard-{name}.png").exists(), name

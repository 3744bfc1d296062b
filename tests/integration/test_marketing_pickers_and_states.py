"""Issue 18's leftovers on the marketing pages, under moto through ``chalice.test.Client``:
pickers that reach every segment and topic, a suppressed contact shown as suppressed (with
its reason, filterable), per-request double opt-in from the page and the import, and a
scheduled broadcast edited (race-safe against the sweep that starts sending)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from chalicelib import wiring
from chalicelib.marketing_models import SegmentCreate, TopicCreate
from tests.dashboard_support import signed_in


def _options(html: str, select_id: str) -> list[str]:
    match = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select {select_id}"
    return re.findall(r'<option value="([^"]+)"', match.group(1))


def test_every_picker_offers_every_segment_and_topic(client, api, account) -> None:
    """Bug caught: the compose, contact, contact-edit and import pickers offering only the
    store's first 100 segments and topics, so the rest could never be chosen on a page."""
    key = account.api_key
    audiences = wiring.container().audiences  # faster than 208 API calls (and their limit)
    now = datetime.now(UTC)
    segments = {audiences.create_segment(account.account_id, SegmentCreate(name=f"Seg {n:03}"),
                                         now).id for n in range(105)}
    topics = {audiences.create_topic(account.account_id, TopicCreate(name=f"Top {n:03}"),
                                     now).id for n in range(103)}
    contact = api.post("/v1/contacts", {"email": "p@example.org"}, key=key).json["id"]
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    compose = owner.get("/dashboard/broadcasts/new").text
    assert set(_options(compose, "b-segment")) == segments
    assert set(_options(compose, "b-topic")) == topics
    labels = re.findall(r'<option value="seg_[^"]+"[^>]*>([^<]+)<', compose)
    assert labels == sorted(labels) and len(labels) == 105, "every segment, by name"
    assert set(_options(owner.get("/dashboard/contacts").text, "n-segment")) == segments
    assert set(_options(owner.get("/dashboard/contacts").text, "c-segment")) == segments
    assert set(_options(owner.get("/dashboard/contact-imports/new").text,
                        "i-segment")) == segments
    assert set(_options(owner.get(f"/dashboard/contacts/{contact}").text,
                        "s-add")) == segments


def _state_cell(html: str, address: str) -> str:
    match = re.search(rf'>{re.escape(address)}</a></td><td>[^<]*</td>\s*<td>([^<]*)</td>', html)
    assert match, f"{address} not listed"
    return match.group(1)


def test_a_suppressed_contact_shows_suppressed_with_its_reason_and_filters(
        client, account, suppression_reads) -> None:
    """Bug caught: a contact whose address bounced, complained or was suppressed by hand
    listed (and filtered) as "subscribed" although no broadcast reaches it; or the listing
    looking each row's suppression up on its own."""
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    for address in ("ok@example.org", "bounced@example.org", "complained@example.org",
                    "Manual@Example.org", "plain@example.org"):
        assert owner.post("/dashboard/contacts", {"email": address}).status == 303
    suppressions = wiring.container().suppressions
    now = datetime.now(UTC)
    suppressions.add(account.account_id, "bounced@example.org", "bounce", "all", now)
    suppressions.add(account.account_id, "complained@example.org", "complaint", "all", now)
    # By hand on the suppressions page, typed in another case than the contact's.
    assert owner.post("/dashboard/suppressions", {"email": "MANUAL@example.org",
                                                  "scope": "marketing"}).status == 303
    owner.post("/dashboard/contacts", {"email": "left@example.org", "unsubscribed": "on"})
    reads = suppression_reads
    reads.update(get_many=0, get=0)
    listing = owner.get("/dashboard/contacts").text
    assert reads == {"get_many": 1, "get": 0}, "one batched lookup for the page"
    assert _state_cell(listing, "ok@example.org") == "subscribed"
    assert _state_cell(listing, "bounced@example.org") == "suppressed (bounced)"
    assert _state_cell(listing, "complained@example.org") == "suppressed (spam complaint)"
    assert _state_cell(listing, "manual@example.org") == \
        "suppressed (added by hand, marketing only)"
    assert _state_cell(listing, "left@example.org") == "unsubscribed"
    only = owner.get("/dashboard/contacts?state=suppressed").text
    assert sorted(re.findall(r">([a-z]+@example\.org)</a>", only)) == [
        "bounced@example.org", "complained@example.org", "manual@example.org"]
    subscribed = owner.get("/dashboard/contacts?state=subscribed").text
    assert sorted(re.findall(r">([a-z]+@example\.org)</a>", subscribed)) == [
        "ok@example.org", "plain@example.org"]
    found = owner.get("/dashboard/contacts?search=bounced%40example.org").text
    assert "suppressed (bounced)" in found
    contact_id = re.search(r'href="/dashboard/contacts/(ct_[^"]+)">bounced@', listing).group(1)
    detail = owner.get(f"/dashboard/contacts/{contact_id}").text
    assert re.search(r'id="contact-state">suppressed \(bounced\): the address is on', detail)
    # Removed from the list: subscribed again, on the page as in the sender.
    suppressions.remove(account.account_id, "bounced@example.org")
    assert _state_cell(owner.get("/dashboard/contacts").text,
                       "bounced@example.org") == "subscribed"


def test_double_opt_in_per_request_from_the_page_and_the_import(
        client, api, account, stack, drain, tmp_path) -> None:
    """Bug caught: the page adding a contact (or importing) straight to "subscribed" when
    the user asked for a confirmation email first, because only the segment's setting was
    applied; or an import re-pending contacts that already exist."""
    from tests.integration.test_marketing import (FORM, _confirm_link, drain_marketing,
                                                  outbox)
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    plain = owner.post("/dashboard/segments", {"name": "No opt-in here"})
    segment = re.search(r"/dashboard/segments/(seg_[A-Za-z0-9]+)", plain.location).group(1)
    sender = f"News <news@{account.domain}>"
    made = owner.post("/dashboard/contacts", {
        "email": "pat@example.org", "segment_id": segment, "double_opt_in": "on",
        "opt_in_from": sender, "opt_in_subject": "Confirm, Pat"})
    assert made.status == 303, made.text[:500]
    contact_id = re.search(r"/dashboard/contacts/(ct_[A-Za-z0-9]+)", made.location).group(1)
    seen = api.get(f"/v1/contacts/{contact_id}", key=account.api_key).json
    assert seen["status"] == "pending" and seen["opt_in"]["confirmed_at"] is None
    assert seen["opt_in"]["key_id"].startswith("dashboard:usr")
    assert "pending confirmation" in owner.get("/dashboard/contacts").text
    # Without the box ticked, the same segment adds a subscribed contact.
    owner.post("/dashboard/contacts", {"email": "sam@example.org", "segment_id": segment})
    assert api.get("/v1/contacts/sam%40example.org", key=account.api_key).json["status"] == \
        "subscribed"
    missing = owner.post("/dashboard/contacts", {"email": "x@example.org",
                                                 "double_opt_in": "on", "opt_in_from": ""})
    assert missing.status == 422 and "from" in missing.text
    drain()
    link = _confirm_link(tmp_path, "pat@example.org")
    assert api.post(link, raw="confirm=yes", headers=FORM).status_code == 200
    confirmed = api.get(f"/v1/contacts/{contact_id}", key=account.api_key).json
    assert confirmed["status"] == "subscribed" and confirmed["opt_in"]["confirmed_at"]
    # The import: new contacts pending with a confirmation each, an existing one untouched.
    started = owner.post("/dashboard/contact-imports/new", {
        "csv": "email,first_name\nnew@example.org,New\nsam@example.org,Sam\n",
        "double_opt_in": "on", "opt_in_from": sender})
    assert started.status == 303
    drain_marketing(stack, drain)
    fresh = api.get("/v1/contacts/new%40example.org", key=account.api_key).json
    assert fresh["status"] == "pending" and fresh["opt_in"]["source"] == "import"
    assert api.get("/v1/contacts/sam%40example.org", key=account.api_key).json["status"] == \
        "subscribed"
    assert _confirm_link(tmp_path, "new@example.org")
    mail = outbox(tmp_path)
    assert "sam@example.org" not in mail, "an existing contact gets no confirmation"
    assert [m["Subject"] for m in mail["pat@example.org"]] == ["Confirm, Pat"]

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

"""Issue 18's dashboard pages under moto through ``chalice.test.Client``: contacts (with
import, topics and segments), segments, topics and broadcasts go through the same services
as ``/v1``; tenancy, CSRF and clear 4xx hold on every new page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote


from tests.dashboard_support import signed_in
from tests.integration.test_marketing import drain_marketing, outbox, text_of



def _id(page: Any, kind: str) -> str:
    match = re.search(rf"/dashboard/{kind}/([a-z]+_[A-Za-z0-9]+)", page.location)
    assert match, page.location
    return match.group(1)


def test_marketing_pages_render_for_a_member_and_reach_the_api(client, api, account) -> None:
    """Bug caught: a marketing page that fails for the member role, or a contact, segment or
    topic made on a page that the API does not see."""
    member = signed_in(client, account.account_id, "member@example.com", role="member")
    for path in ("/dashboard/contacts", "/dashboard/segments", "/dashboard/topics",
                 "/dashboard/broadcasts", "/dashboard/broadcasts/new",
                 "/dashboard/contact-imports/new"):
        page = member.get(path)
        assert page.status == 200, (path, page.text[:300])
    nav = re.findall(r'<li><a href="(/dashboard[^"]*)"', member.get("/dashboard").text)
    assert [p for p in nav if p in ("/dashboard/contacts", "/dashboard/segments",
                                    "/dashboard/topics", "/dashboard/broadcasts")] == [
        "/dashboard/contacts", "/dashboard/segments", "/dashboard/topics",
        "/dashboard/broadcasts"]
    segment = _id(member.post("/dashboard/segments", {"name": "Readers"}), "segments")
    made = member.post("/dashboard/contacts", {"email": "Ann@Example.org", "first_name": "Ann",
                                               "segment_id": segment})
    assert made.status == 303
    contact_id = _id(made, "contacts")
    seen = api.get(f"/v1/contacts/{contact_id}", key=account.api_key).json
    assert seen["email"] == "ann@example.org" and seen["segment_ids"] == [segment]
    assert seen["opt_in"]["key_id"].startswith("dashboard:usr")
    topic = member.post("/dashboard/topics", {"name": "Monthly", "default": "opt_in"})
    assert topic.status == 303
    topic_id = api.get("/v1/topics", key=account.api_key).json["data"][0]["id"]
    # Unticked on the contact's page: an explicit opt-out the API reports.
    assert member.post(f"/dashboard/contacts/{contact_id}/topics", {}).status == 303
    subs = api.get(f"/v1/contacts/{contact_id}/topics", key=account.api_key).json["data"]
    assert subs == [{"topic_id": topic_id, "name": "Monthly", "subscribed": False,
                     "explicit": True}]
    detail = member.get(f"/dashboard/contacts/{contact_id}")
    assert "Readers" in detail.text and "Consent proof" in detail.text


def test_contact_edit_replaces_properties_and_bad_json_is_a_422(client, api, account) -> None:
    """Bug caught: a property removed on the page kept by the merge, or bad JSON as a 500."""
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    contact_id = _id(owner.post("/dashboard/contacts", {"email": "bo@example.org"}), "contacts")
    form = {"first_name": "Bo", "last_name": "", "properties": '{"plan": "pro", "age": 40}'}
    assert owner.post(f"/dashboard/contacts/{contact_id}", form).status == 303
    form["properties"] = '{"plan": "team"}'
    assert owner.post(f"/dashboard/contacts/{contact_id}", form).status == 303
    seen = api.get(f"/v1/contacts/{contact_id}", key=account.api_key).json
    assert seen["properties"] == {"plan": "team"} and seen["first_name"] == "Bo"
    assert seen["unsubscribed"] is False
    bad = owner.post(f"/dashboard/contacts/{contact_id}", {**form, "properties": "[1]"})
    assert bad.status == 422 and "properties" in bad.text
    assert owner.post(f"/dashboard/contacts/{contact_id}", {"action": "delete"}).status == 303
    assert api.get(f"/v1/contacts/{contact_id}", key=account.api_key).status_code == 404


def test_contacts_filter_and_search_by_address(client, account) -> None:
    """Bug caught: a filter that shows unsubscribed contacts as subscribed, or a search that
    misses an address typed in another case."""
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    owner.post("/dashboard/contacts", {"email": "in@example.org"})
    owner.post("/dashboard/contacts", {"email": "out@example.org", "unsubscribed": "on"})
    subscribed = owner.get("/dashboard/contacts?state=subscribed").text
    assert "in@example.org" in subscribed and "out@example.org" not in subscribed
    unsubscribed = owner.get("/dashboard/contacts?state=unsubscribed").text
    assert "out@example.org" in unsubscribed and "in@example.org" not in unsubscribed
    found = owner.get("/dashboard/contacts?search=" + quote("IN@example.org")).text
    assert "Search result" in found and 'href="/dashboard/contacts/ct_' in found
    assert owner.get("/dashboard/contacts?state=bogus").status == 422


def test_csv_import_on_the_page_reports_the_bad_row(client, account, stack, drain) -> None:
    """Bug caught: an import page that loses the per-row reasons of the report."""
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    started = owner.post("/dashboard/contact-imports/new", {
        "csv": "email,first_name\nann@example.org,Ann\nnot-an-address,Bad\n"})
    assert started.status == 303
    path = started.location.replace("http://127.0.0.1:8000", "")
    assert "queued" in owner.get(path).text
    drain_marketing(stack, drain)
    report = owner.get(path).text
    assert 'id="import-status">completed' in report
    assert re.search(r"<td>3</td><td>email: [^<]+</td>", report), report
    assert 'id="import-created">1<' in report
    assert owner.post("/dashboard/contact-imports/new", {"csv": "name\nx\n"}).status == 422


def test_segment_rename_members_and_delete(client, api, account) -> None:
    """Bug caught: a rename that drops members, or a delete that deletes contacts."""
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    segment = _id(owner.post("/dashboard/segments", {"name": "A"}), "segments")
    contact_id = _id(owner.post("/dashboard/contacts", {"email": "m@example.org"}), "contacts")
    path = f"/dashboard/segments/{segment}"
    assert owner.post(path, {"action": "add", "contact": "m@example.org"}).status == 303
    assert owner.post(path, {"action": "rename", "name": "Renamed"}).status == 303
    assert owner.post(path, {"action": "rename", "name": ""}).status == 422
    shown = owner.get(path).text
    assert "Renamed" in shown and "m@example.org" in shown
    assert api.get(f"/v1/segments/{segment}", key=account.api_key).json["name"] == "Renamed"
    assert owner.post(path, {"action": "remove", "contact": contact_id}).status == 303
    assert "m@example.org" not in owner.get(path).text
    assert owner.post(path, {"action": "delete"}).status == 303
    assert api.get(f"/v1/contacts/{contact_id}", key=account.api_key).status_code == 200


def test_topic_edit_and_delete(client, api, account) -> None:
    """Bug caught: a topic edit that loses its default, or a delete that is not one."""
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    owner.post("/dashboard/topics", {"name": "News", "default": "opt_in"})
    topic_id = api.get("/v1/topics", key=account.api_key).json["data"][0]["id"]
    assert owner.post(f"/dashboard/topics/{topic_id}", {
        "name": "News+", "description": "Weekly", "default": "opt_out"}).status == 303
    seen = api.get(f"/v1/topics/{topic_id}", key=account.api_key).json
    assert (seen["name"], seen["description"], seen["default"]) == ("News+", "Weekly", "opt_out")
    assert owner.post(f"/dashboard/topics/{topic_id}", {"action": "delete"}).status == 303
    assert api.get(f"/v1/topics/{topic_id}", key=account.api_key).status_code == 404


def test_broadcast_composed_previews_per_contact_and_sends(client, api, account, stack, drain,
                                                           tmp_path) -> None:
    """Bug caught: a preview not personalized per contact, a page send that mails an
    unsubscribed contact, or stats the page does not show."""
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    segment = _id(owner.post("/dashboard/segments", {"name": "S"}), "segments")
    for address, extra in (("ann@example.org", {"first_name": "Ann"}),
                           ("uma@example.org", {"first_name": "Uma", "unsubscribed": "on"})):
        owner.post("/dashboard/contacts", {"email": address, "segment_id": segment, **extra})
    form = {"from": f"News <news@{account.domain}>", "segment_id": segment,
            "subject": "Hi {{ contact.first_name }}", "text": "Dear {{ contact.first_name }}.",
            "rate_per_minute": "60000"}
    preview = owner.post("/dashboard/broadcasts/new", {**form, "action": "preview",
                                                       "preview_contact": "uma@example.org"})
    assert preview.status == 200 and '<span id="preview-subject">Hi Uma</span>' in preview.text
    first = owner.post("/dashboard/broadcasts/new", {**form, "action": "preview"})
    assert '<span id="preview-subject">Hi Ann</span>' in first.text, "the segment's first"
    broken = owner.post("/dashboard/broadcasts/new", {**form, "action": "preview",
                                                      "text": "{{ contact.nope.deeper }}"})
    assert "This broadcast would fail" in broken.text
    saved = owner.post("/dashboard/broadcasts/new", {**form, "action": "save"})
    broadcast_id = _id(saved, "broadcasts")
    assert api.get(f"/v1/broadcasts/{broadcast_id}", key=account.api_key).json["status"] == \
        "draft"
    sent = owner.post(f"/dashboard/broadcasts/{broadcast_id}", {**form, "action": "send"})
    assert sent.status == 303
    drain_marketing(stack, drain)
    mail = outbox(tmp_path)
    assert list(mail) == ["ann@example.org"] and "Dear Ann." in text_of(mail["ann@example.org"][0])
    page = owner.get(f"/dashboard/broadcasts/{broadcast_id}")
    assert 'id="broadcast-status">sent' in page.text and "uma@example.org" in page.text
    assert re.search(r"Sent \(including[^<]*<strong>1</strong>", page.text), page.text
    assert re.search(r"Not sent \([^<]*<strong>1</strong>", page.text)
    assert owner.get(f"/dashboard/broadcasts/{broadcast_id}?status=skipped").status == 200
    assert owner.get(f"/dashboard/broadcasts/{broadcast_id}?status=nope").status == 422
    again = owner.post(f"/dashboard/broadcasts/{broadcast_id}", {**form, "action": "send"})
    assert again.status == 409


def test_marketing_pages_are_scoped_and_csrf_protected(client, api, account,
                                                       other_account) -> None:
    """Bug caught: another account's contact, segment or broadcast shown on a page, or a
    marketing change accepted without the CSRF token."""
    made = api.post("/v1/contacts", {"email": "secret@example.org"}, key=account.api_key).json
    segment = api.post("/v1/segments", {"name": "Mine"}, key=account.api_key).json["id"]
    stranger = signed_in(client, other_account.account_id, "x@other.example.org", role="member")
    assert stranger.get(f"/dashboard/contacts/{made['id']}").status == 404
    assert stranger.get(f"/dashboard/segments/{segment}").status == 404
    assert "secret@example.org" not in stranger.get("/dashboard/contacts").text
    owner = signed_in(client, account.account_id, "owner@example.com", role="owner")
    refused = owner.post("/dashboard/contacts", {"email": "z@example.org"}, with_csrf=False)
    assert refused.status == 403
    listed = api.get("/v1/contacts", key=account.api_key).json["data"]
    assert [c["email"] for c in listed] == ["secret@example.org"]


def test_a_broadcast_patch_with_null_clears_the_field(api, account) -> None:
    """Bug caught: a null in PATCH /v1/broadcasts (what the compose page sends for an emptied
    box) failing as a 500 instead of clearing the field."""
    key = account.api_key
    topic = api.post("/v1/topics", {"name": "T"}, key=key).json["id"]
    segment = api.post("/v1/segments", {"name": "S"}, key=key).json["id"]
    made = api.post("/v1/broadcasts", {"from": f"n@{account.domain}", "subject": "s",
                                       "segment_id": segment, "topic_id": topic,
                                       "html": "<p>x</p>", "text": "x"}, key=key).json
    changed = api.request("PATCH", f"/v1/broadcasts/{made['id']}",
                          {"topic_id": None, "html": None}, key=key)
    assert changed.status_code == 200, changed.json
    assert changed.json["topic_id"] is None and changed.json["html"] is None
    assert changed.json["text"] == "x"

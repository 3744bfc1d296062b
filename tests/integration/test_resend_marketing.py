"""The official ``resend`` SDK, unchanged, against /resend's marketing surface: contacts (and
the older audience-scoped paths), segments, topics, broadcasts with Resend's own variables,
templates, suppressions, id paging, and contact.* webhooks its verifier accepts."""

from __future__ import annotations

from typing import Any

import pytest
import resend
from resend import exceptions

from tests.integration.test_marketing import drain_marketing, outbox, text_of
from tests.integration.test_resend_sdk import sdk  # noqa: F401  (the fixture)

MISSING = "ct_01JZZZZZZZZZZZZZZZZZZZZZZZ"


def _contact(address: str, **fields: Any) -> str:
    return str(resend.Contacts.create({"email": address, **fields})["id"])  # type: ignore


def test_contacts_by_id_and_address(sdk, account) -> None:  # noqa: F811
    """Bug caught: contacts answered in our shape (``segment_ids``, flat properties), the SDK's
    url-quoted address not found, update/remove answering without ``object``/``deleted``."""
    made = resend.Contacts.create({"email": "ann@example.org", "first_name": "Ann",
                                   "properties": {"plan": "pro", "seats": 3}})
    assert made["object"] == "contact" and made["id"].startswith("ct_")
    got = resend.Contacts.get(email="ann@example.org")
    assert got["id"] == made["id"] and got["first_name"] == "Ann"
    assert got["last_name"] is None and got["unsubscribed"] is False
    assert got["properties"] == {"plan": {"value": "pro", "type": "string"},
                                 "seats": {"value": 3, "type": "number"}}
    updated = resend.Contacts.update({"email": "ann@example.org", "last_name": "Lee",
                                      "unsubscribed": True})
    assert updated["id"] == made["id"]
    got = resend.Contacts.get(id=made["id"])
    assert got["last_name"] == "Lee" and got["unsubscribed"] is True
    assert [c["id"] for c in resend.Contacts.list()["data"]] == [made["id"]]
    removed = resend.Contacts.remove(id=made["id"])
    assert removed["deleted"] is True and removed["contact"] == made["id"]
    with pytest.raises(exceptions.ResendError) as gone:
        resend.Contacts.get(email="ann@example.org")
    assert gone.value.code == 404 and gone.value.error_type == "not_found"
    with pytest.raises(exceptions.ValidationError):
        resend.Contacts.create({"email": "not an address"})
    with pytest.raises(exceptions.ValidationError) as unknown:
        resend.Contacts.create({"email": "x@example.org", "nickname": "X"})
    assert "nickname" in unknown.value.message


def test_segments_audiences_and_membership(sdk, account) -> None:  # noqa: F811
    """Bug caught: the deprecated Audiences (same paths) or audience-scoped contact paths
    unmapped; an audience path reading a contact that is not in that audience; removing a
    contact from an audience deleting it everywhere."""
    news = resend.Segments.create({"name": "News"})
    assert news["object"] == "segment" and news["name"] == "News"
    old = resend.Audiences.create({"name": "Old list"})
    assert {s["id"] for s in resend.Audiences.list()["data"]} == {news["id"], old["id"]}
    assert resend.Segments.get(news["id"])["name"] == "News"
    assert resend.Segments.update(news["id"], {"name": "Newsletter"})["id"] == news["id"]
    assert resend.Segments.get(news["id"])["name"] == "Newsletter"
    with pytest.raises(exceptions.ValidationError):
        resend.Segments.update(news["id"], {"name": ""})
    in_old = resend.Contacts.create({"email": "bo@example.org", "audience_id": old["id"]})
    outsider = _contact("cy@example.org", segments=[{"id": news["id"]}])
    assert resend.Contacts.get(audience_id=old["id"], id=in_old["id"])["email"] == \
        "bo@example.org"
    with pytest.raises(exceptions.ResendError) as foreign:
        resend.Contacts.get(audience_id=old["id"], id=outsider)
    assert foreign.value.code == 404
    assert [c["id"] for c in resend.Contacts.list(audience_id=old["id"])["data"]] == \
        [in_old["id"]]
    assert [c["id"] for c in resend.Contacts.list(segment_id=news["id"])["data"]] == [outsider]
    resend.Contacts.Segments.add({"segment_id": news["id"], "email": "bo@example.org"})
    listed = resend.Contacts.Segments.list({"contact_id": in_old["id"]})
    assert {s["id"] for s in listed["data"]} == {news["id"], old["id"]}
    assert resend.Contacts.remove(audience_id=old["id"], id=in_old["id"])["deleted"] is True
    assert resend.Contacts.get(id=in_old["id"])["id"] == in_old["id"], "still a contact"
    removed = resend.Contacts.Segments.remove({"segment_id": news["id"],
                                               "contact_id": in_old["id"]})
    assert removed["deleted"] is True
    assert resend.Contacts.Segments.list({"contact_id": in_old["id"]})["data"] == []
    assert resend.Segments.remove(old["id"])["deleted"] is True
    with pytest.raises(exceptions.ResendError) as gone:
        resend.Audiences.get(old["id"])
    assert gone.value.code == 404


def test_topics_and_contact_subscriptions(sdk, account) -> None:  # noqa: F811
    """Bug caught: ``default_subscription`` not mapped onto our default, or the SDK's bare
    list body for a contact's topics refused."""
    weekly = resend.Topics.create({"name": "Weekly", "default_subscription": "opt_out",
                                   "description": "Every Monday"})
    got = resend.Topics.get(weekly["id"])
    assert got["default_subscription"] == "opt_out" and got["description"] == "Every Monday"
    assert resend.Topics.update(weekly["id"], {"name": "Weekly digest"})["id"] == weekly["id"]
    assert resend.Topics.get(weekly["id"])["name"] == "Weekly digest"
    made = _contact("dee@example.org", topics=[{"id": weekly["id"], "subscription": "opt_in"}])
    topics = resend.Contacts.Topics.list(contact_id=made)["data"]
    assert topics == [{"id": weekly["id"], "name": "Weekly digest",
                       "description": "Every Monday", "subscription": "opt_in"}]
    resend.Contacts.Topics.update({"email": "dee@example.org",
                                   "topics": [{"id": weekly["id"], "subscription": "opt_out"}]})
    assert resend.Contacts.Topics.list(email="dee@example.org")["data"][0]["subscription"] == \
        "opt_out"
    with pytest.raises(exceptions.ValidationError):
        resend.Contacts.Topics.update({"id": made, "topics": [{"id": "top_nope",
                                                               "subscription": "opt_in"}]})
    assert [t["id"] for t in resend.Topics.list()["data"]] == [weekly["id"]]
    assert resend.Topics.remove(weekly["id"])["deleted"] is True


def test_broadcast_reaches_only_subscribed_personalized_with_fallback(
        sdk, account, stack, drain, tmp_path) -> None:  # noqa: F811
    """Bug caught: Resend's ``{{{contact.first_name|fallback}}}`` sent literally, a missing
    first name failing the recipient instead of using the fallback, a value injected into the
    HTML unescaped, or a broadcast reaching an unsubscribed contact."""
    segment = resend.Segments.create({"name": "Readers"})["id"]
    _contact("ann@example.org", first_name="<Ann>", segments=[{"id": segment}])
    _contact("ben@example.org", segments=[{"id": segment}])
    _contact("uma@example.org", first_name="Uma", unsubscribed=True, segments=[{"id": segment}])
    html = "<p>Hi {{{contact.first_name|there}}}, plan {{{contact.plan|free}}}</p>"
    made = resend.Broadcasts.create({
        "from": f"News <news@{account.domain}>", "segment_id": segment, "name": "June",
        "subject": "Hello {{{FIRST_NAME|friend}}}", "html": html,
        "text": "Hi {{{contact.first_name|there}}}"})
    got = resend.Broadcasts.get(made["id"])
    assert got["status"] == "draft" and got["html"] == html, "Resend's syntax round-trips"
    assert got["subject"] == "Hello {{{contact.first_name|friend}}}"
    assert resend.Broadcasts.update({"broadcast_id": made["id"], "name": "June news"})["id"] \
        == made["id"]
    assert resend.Broadcasts.send({"broadcast_id": made["id"]})["id"] == made["id"]
    drain_marketing(stack, drain)
    sent = outbox(tmp_path)
    assert sorted(sent) == ["ann@example.org", "ben@example.org"]
    ann, ben = sent["ann@example.org"][0], sent["ben@example.org"][0]
    assert ann["Subject"] == "Hello <Ann>" and ben["Subject"] == "Hello friend"
    assert text_of(ben) == "Hi there" or text_of(ben).strip() == "Hi there"
    ann_html = ann.get_body(("html",)).get_content()
    assert "Hi &lt;Ann&gt;, plan free" in ann_html and "<Ann>" not in ann_html
    assert "Hi there, plan free" in ben.get_body(("html",)).get_content()
    assert resend.Broadcasts.get(made["id"])["status"] == "sent"
    delivered = resend.Broadcasts.recipients(made["id"], {"type": "sent"})["data"]
    assert sorted(r["email"] for r in delivered) == ["ann@example.org", "ben@example.org"]
    with pytest.raises(exceptions.ResendError) as again:
        resend.Broadcasts.send({"broadcast_id": made["id"]})
    assert again.value.code == 409


def test_broadcast_schedule_cancel_duplicate_and_errors(sdk, account) -> None:  # noqa: F811
    """Bug caught: ``send: true`` with ``scheduled_at`` ignored, an unknown variable accepted
    (and sent literally), a Resend-style natural-language time accepted as something else."""
    segment = resend.Segments.create({"name": "Later"})["id"]
    made = resend.Broadcasts.create({
        "from": f"news@{account.domain}", "audience_id": segment, "subject": "Soon",
        "html": "<p>x</p>", "send": True, "scheduled_at": "2099-01-01T09:00:00Z"})
    got = resend.Broadcasts.get(made["id"])
    assert got["status"] == "scheduled" and got["scheduled_at"].startswith("2099-01-01T09:00")
    assert got["audience_id"] == segment
    assert resend.Broadcasts.cancel(made["id"])["id"] == made["id"]
    assert resend.Broadcasts.get(made["id"])["status"] == "canceled"
    copy = resend.Broadcasts.duplicate(made["id"])
    assert copy["id"] != made["id"] and resend.Broadcasts.get(copy["id"])["status"] == "draft"
    assert {b["id"] for b in resend.Broadcasts.list()["data"]} == {made["id"], copy["id"]}
    with pytest.raises(exceptions.ResendError) as kept:  # cancelled: kept with its stats
        resend.Broadcasts.remove(made["id"])
    assert kept.value.code == 409
    assert resend.Broadcasts.remove(copy["id"])["deleted"] is True
    with pytest.raises(exceptions.ResendError) as gone:
        resend.Broadcasts.get(copy["id"])
    assert gone.value.code == 404
    base = {"from": f"news@{account.domain}", "segment_id": segment, "subject": "s"}
    with pytest.raises(exceptions.ValidationError) as unknown:
        resend.Broadcasts.create({**base, "html": "{{{COUPON}}}"})
    assert "COUPON" in unknown.value.message
    with pytest.raises(exceptions.ValidationError):
        resend.Broadcasts.create({**base, "html": "x", "send": True,
                                  "scheduled_at": "in 1 hour"})
    with pytest.raises(exceptions.ValidationError):
        resend.Broadcasts.create({**base, "html": "x", "segment_id": "seg_nope"})


def test_another_account_sees_nothing(sdk, account, other_account) -> None:  # noqa: F811
    """Bug caught: account B's key reading or changing A's contact, segment, topic or
    broadcast through /resend, or a sending_access key managing contacts or suppressions."""
    segment = resend.Segments.create({"name": "Mine"})["id"]
    contact = _contact("ann@example.org", segments=[{"id": segment}])
    topic = resend.Topics.create({"name": "T", "default_subscription": "opt_in"})["id"]
    broadcast = resend.Broadcasts.create({"from": f"news@{account.domain}",
                                          "segment_id": segment, "subject": "s",
                                          "html": "x"})["id"]
    resend.api_key = other_account.api_key
    for call in (lambda: resend.Contacts.get(id=contact),
                 lambda: resend.Contacts.get(email="ann@example.org"),
                 lambda: resend.Contacts.remove(id=contact),
                 lambda: resend.Segments.get(segment),
                 lambda: resend.Contacts.list(segment_id=segment),
                 lambda: resend.Topics.get(topic),
                 lambda: resend.Broadcasts.get(broadcast),
                 lambda: resend.Broadcasts.send({"broadcast_id": broadcast})):
        with pytest.raises(exceptions.ResendError) as hidden:
            call()
        assert hidden.value.code == 404, hidden.value.message
    assert resend.Contacts.list()["data"] == [] and resend.Broadcasts.list()["data"] == []
    resend.api_key = account.api_key
    sending = resend.ApiKeys.create({"name": "app", "permission": "sending_access"})["token"]
    resend.api_key = sending  # a sending key manages no audience
    for call in (lambda: resend.Contacts.list(), lambda: resend.Broadcasts.list(),
                 lambda: resend.Suppressions.add({"email": "x@example.org"})):
        with pytest.raises(exceptions.ResendError) as restricted:
            call()
        assert restricted.value.error_type == "restricted_api_key"
    resend.api_key = other_account.api_key
    with pytest.raises(exceptions.ValidationError):  # B cannot send to A's segment either
        resend.Broadcasts.create({"from": f"news@{other_account.domain}", "segment_id": segment,
                                  "subject": "s", "html": "x"})


def test_lists_page_by_id_after_and_before(sdk, account) -> None:  # noqa: F811
    """Bug caught: the SDK's ``after``/``before`` (an object id, not a cursor) ignored or
    refused, so a second page repeats the first or fails."""
    ids = [_contact(f"p{i}@example.org") for i in range(5)]
    first = resend.Contacts.list(params={"limit": 2})
    assert first["has_more"] is True and [c["id"] for c in first["data"]] == ids[:2]
    second = resend.Contacts.list(params={"limit": 2, "after": first["data"][-1]["id"]})
    assert [c["id"] for c in second["data"]] == ids[2:4] and second["has_more"] is True
    last = resend.Contacts.list(params={"limit": 2, "after": ids[3]})
    assert [c["id"] for c in last["data"]] == ids[4:] and last["has_more"] is False
    back = resend.Contacts.list(params={"limit": 2, "before": ids[4]})
    assert [c["id"] for c in back["data"]] == ids[2:4] and back["has_more"] is True
    with pytest.raises(exceptions.ValidationError):
        resend.Contacts.list(params={"after": ids[0], "before": ids[4]})
    with pytest.raises(exceptions.ValidationError):
        resend.Contacts.list(params={"after": MISSING})


def test_email_list_pages_by_email_id(sdk, account) -> None:  # noqa: F811
    """Bug caught: Emails.list's ``after`` (the last email id) treated as a bad cursor."""
    sent = [resend.Emails.send({"from": f"hi@{account.domain}", "to": ["a@example.net"],
                                "subject": "Hi", "html": "x"})["id"] for _ in range(3)]
    first = resend.Emails.list({"limit": 2})
    rest = resend.Emails.list({"limit": 2, "after": first["data"][-1]["id"]})
    assert rest["has_more"] is False
    assert sorted(e["id"] for e in first["data"] + rest["data"]) == sorted(sent)


def test_contact_webhooks_in_resend_shape_verify_with_the_sdk(sdk, account, stack) -> None:  # noqa: F811
    """Bug caught: contact changes not reaching /resend endpoints, reaching them in our shape
    (``contact_id``, ``recipient``) or under our finer names (``contact.unsubscribed``), or
    signed so that the SDK's verifier refuses them."""
    from tests.integration.test_webhooks import Receiver, _drain_webhooks
    receiver = Receiver()
    try:
        wanted = ["contact.created", "contact.topics.updated", "contact.updated"]
        hook = resend.Webhooks.create({"endpoint": receiver.url, "events": wanted})
        assert resend.Webhooks.get(hook["id"])["events"] == wanted
        segment = resend.Segments.create({"name": "News"})["id"]
        topic = resend.Topics.create({"name": "T", "default_subscription": "opt_out"})["id"]
        made = _contact("ann@example.org", first_name="Ann", segments=[{"id": segment}],
                        topics=[{"id": topic, "subscription": "opt_in"}])
        resend.Contacts.update({"id": made, "unsubscribed": True})
        resend.Contacts.remove(id=made)  # contact.deleted: not subscribed to
        assert _drain_webhooks(stack) == 3
        events = [resend.Webhooks.verify({
            "payload": body.decode(), "webhook_secret": hook["signing_secret"],
            "headers": {"id": headers["svix-id"], "timestamp": headers["svix-timestamp"],
                        "signature": headers["svix-signature"]}})
            for headers, body in receiver.received]
        by_type = {e["type"]: e for e in events}
        assert set(by_type) == set(wanted)
        assert by_type["contact.topics.updated"]["data"] == {
            "email": "ann@example.org", "topics": [{"id": topic, "subscription": "opt_in"}]}
        created = by_type["contact.created"]["data"]
        assert created["id"] == made and created["email"] == "ann@example.org"
        assert created["first_name"] == "Ann" and created["audience_id"] == segment
        assert created["unsubscribed"] is False and created["created_at"]
        assert by_type["contact.updated"]["data"]["unsubscribed"] is True
        event_id = receiver.received[0][0]["svix-id"]
        (attempt,) = resend.Webhooks.list_event_attempts(hook["id"], event_id)["data"]
        assert attempt["http_status_code"] == 200 and attempt["sent_at"]
        with pytest.raises(exceptions.ResendError) as unknown:
            resend.Webhooks.list_event_attempts(hook["id"], "evt_01JZZZZZZZZZZZZZZZZZZZZZZZ")
        assert unknown.value.code == 404
    finally:
        receiver.server.shutdown()


def test_templates_with_resend_variables_send_through_emails_send(
        sdk, account, drain, tmp_path) -> None:  # noqa: F811
    """Bug caught: Resend's ``{{{NAME}}}`` stored literally (so a send renders braces), the
    ``variables`` fallbacks lost, or publish/duplicate unmapped."""
    made = resend.Templates.create({
        "name": "Welcome", "subject": "Welcome {{{NAME}}}",
        "html": "<p>Hi {{{NAME}}}, your plan: {{{PLAN}}}</p>",
        "variables": [{"key": "NAME", "type": "string"},
                      {"key": "PLAN", "type": "string", "fallback_value": "free"}]})
    assert made["object"] == "template"
    got = resend.Templates.get(made["id"])
    assert got["html"] == "<p>Hi {{{NAME}}}, your plan: {{{PLAN|free}}}</p>"
    assert got["status"] == "published" and got["subject"] == "Welcome {{{NAME}}}"
    assert {v["key"]: v["fallback_value"] for v in got["variables"]} == {"NAME": None,
                                                                        "PLAN": "free"}
    assert resend.Templates.publish(made["id"])["id"] == made["id"]
    sent = resend.Emails.send({"from": f"hi@{account.domain}", "to": ["a@example.net"],
                               "template": {"id": made["id"], "variables": {"NAME": "<Jo>"}}})
    bare = resend.Emails.send({"from": f"hi@{account.domain}", "to": ["b@example.net"],
                               "template": {"id": made["id"], "variables": {}}})
    drain()
    (message,) = outbox(tmp_path)["a@example.net"]
    assert message["Subject"] == "Welcome <Jo>"
    assert "<p>Hi &lt;Jo&gt;, your plan: free</p>" in message.get_body(("html",)).get_content()
    assert resend.Emails.get(sent["id"])["last_event"] == "sent"
    assert "b@example.net" not in outbox(tmp_path), "NAME has no fallback: not sent"
    assert resend.Emails.get(bare["id"])["last_event"] == "failed"
    resend.Templates.update({"id": made["id"], "name": "Hello"})
    copy = resend.Templates.duplicate(made["id"])
    assert resend.Templates.get(copy["id"])["name"] == "Hello (copy)"
    assert {t["id"] for t in resend.Templates.list()["data"]} == {made["id"], copy["id"]}
    assert resend.Templates.remove(copy["id"])["deleted"] is True
    with pytest.raises(exceptions.ValidationError) as alias:
        resend.Templates.create({"name": "x", "subject": "s", "html": "x", "alias": "welcome"})
    assert "alias" in alias.value.message
    with pytest.raises(exceptions.ResendError) as gone:
        resend.Templates.get(copy["id"])
    assert gone.value.code == 404


def test_suppressions_by_id_and_address(sdk, account, other_account) -> None:  # noqa: F811
    """Bug caught: suppressions unreachable through the SDK, its id not accepted where the
    SDK passes "id or email", a batch half-applied, or another account lifting ours."""
    added = resend.Suppressions.add({"email": "Ann@Example.org"})
    assert added["object"] == "suppression" and added["id"]
    got = resend.Suppressions.get("ann@example.org")
    assert got["id"] == added["id"] and got["origin"] == "manual"
    assert resend.Suppressions.get(added["id"])["email"] == "ann@example.org"
    batch = resend.Suppressions.Batch.add({"emails": ["b@example.org", "c@example.org"]})
    assert len(batch["data"]) == 2
    assert len(resend.Suppressions.list({"origin": "manual"})["data"]) == 3
    assert resend.Suppressions.list({"origin": "bounce"})["data"] == []
    with pytest.raises(exceptions.ValidationError):
        resend.Suppressions.Batch.add({"emails": ["d@example.org", "not an address"]})
    with pytest.raises(exceptions.ResendError):
        resend.Suppressions.get("d@example.org")  # nothing of the refused batch was added
    resend.api_key = other_account.api_key
    with pytest.raises(exceptions.ResendError) as foreign:
        resend.Suppressions.remove(added["id"])
    assert foreign.value.code == 404
    resend.api_key = account.api_key
    assert resend.Suppressions.remove(added["id"])["deleted"] is True
    removed = resend.Suppressions.Batch.remove({"emails": ["b@example.org", "c@example.org"]})
    assert [r["deleted"] for r in removed["data"]] == [True, True]
    assert resend.Suppressions.list()["data"] == []


def test_broadcast_unsubscribe_url_opens_the_recipients_own_preference_page(
        sdk, account, stack, drain, tmp_path, api) -> None:  # noqa: F811
    """Bug caught: {{{RESEND_UNSUBSCRIBE_URL}}} rendered empty or literally (a body link that
    unsubscribes nobody), or one link shared by every recipient."""
    import re
    segment = resend.Segments.create({"name": "Links"})["id"]
    _contact("ann@example.org", segments=[{"id": segment}])
    _contact("ben@example.org", segments=[{"id": segment}])
    made = resend.Broadcasts.create({
        "from": f"news@{account.domain}", "segment_id": segment, "subject": "s",
        "text": "Leave: {{{RESEND_UNSUBSCRIBE_URL}}}", "send": True})
    drain_marketing(stack, drain)
    links = {to: re.search(r"https://\S+(/u/\S+)", text_of(messages[0])).group(1)
             for to, messages in outbox(tmp_path).items()}
    assert sorted(links) == ["ann@example.org", "ben@example.org"]
    assert links["ann@example.org"] != links["ben@example.org"]
    FORM = {"Content-Type": "application/x-www-form-urlencoded"}
    assert api.post(links["ann@example.org"], raw="List-Unsubscribe=One-Click",
                    headers=FORM).status_code == 200
    assert resend.Contacts.get(email="ann@example.org")["unsubscribed"] is True
    assert resend.Contacts.get(email="ben@example.org")["unsubscribed"] is False
    entry = resend.Suppressions.get("ann@example.org")
    assert entry["origin"] == "unsubscribe" and entry["email"] is None, "kept as its hash"
    with pytest.raises(exceptions.ValidationError):
        resend.Suppressions.remove(entry["id"])
    assert resend.Suppressions.remove("ann@example.org")["deleted"] is True
    assert resend.Broadcasts.get(made["id"])["text"] == "Leave: {{{RESEND_UNSUBSCRIBE_URL}}}"


def test_contact_imports_upload_map_columns_and_skip_existing(
        sdk, account, stack, drain) -> None:  # noqa: F811
    """Bug caught: the SDK's multipart upload refused, Resend's default ``on_conflict: skip``
    overwriting existing contacts, ``column_map`` ignored, or counts in our shape."""
    segment = resend.Segments.create({"name": "Imported"})["id"]
    _contact("ann@example.org", first_name="Ann")
    csv_text = ("Mail,Given,plan\nann@example.org,Changed,pro\nbo@example.org,Bo,free\n"
                "not-an-address,X,\n")
    started = resend.Contacts.Imports.create({
        "file": csv_text.encode(), "column_map": {"email": "Mail", "first_name": "Given"},
        "segments": [{"id": segment}]})
    assert started["object"] == "contact_import"
    assert resend.Contacts.Imports.get(started["id"])["status"] == "queued"
    drain_marketing(stack, drain)
    done = resend.Contacts.Imports.get(started["id"])
    assert done["status"] == "completed" and done["completed_at"]
    assert done["counts"] == {"total": 3, "created": 1, "updated": 0, "skipped": 1,
                              "failed": 1}
    assert resend.Contacts.get(email="ann@example.org")["first_name"] == "Ann", "skip: kept"
    bo = resend.Contacts.get(email="bo@example.org")
    assert bo["first_name"] == "Bo" and bo["properties"]["plan"]["value"] == "free"
    assert [c["id"] for c in resend.Contacts.list(segment_id=segment)["data"]] == [bo["id"]]
    upsert = resend.Contacts.Imports.create({"file": b"email,first_name\nann@example.org,Al\n",
                                             "on_conflict": "upsert"})
    drain_marketing(stack, drain)
    assert resend.Contacts.Imports.get(upsert["id"])["counts"]["updated"] == 1
    assert resend.Contacts.get(email="ann@example.org")["first_name"] == "Al"
    listed = resend.Contacts.Imports.list({"status": "completed"})["data"]
    assert {i["id"] for i in listed} == {started["id"], upsert["id"]}
    with pytest.raises(exceptions.ValidationError):
        resend.Contacts.Imports.create({"file": b"email\nx@example.org\n",
                                        "topics": [{"id": "top_x", "subscription": "opt_in"}]})

"""The marketing workflow under moto, through the real handlers: contacts, imports, segments,
topics, double opt-in, broadcasts (resumable, never twice), the preference page, privacy."""

from __future__ import annotations

import email
import json
import re
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from chalicelib.clock import utcnow
from tests.conftest import erase
from tests.flows import bucket_objects, dump, scan

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def drain_marketing(stack: Any, drain: Any) -> None:
    """Run queued imports and broadcast chunks, then the sends they queued."""
    import app as app_module
    from letterbox.local.pump import drain_once
    while drain_once(stack.client("sqs"), stack.env["LETTERBOX_MARKETING_QUEUE_URL"],
                     app_module.run_marketing, "run_marketing"):
        pass
    drain()


def outbox(tmp_path: Path) -> dict[str, list[email.message.EmailMessage]]:
    """Every sent message, by its To address."""
    found: dict[str, list[Any]] = {}
    for path in sorted((tmp_path / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        found.setdefault(str(message["To"]), []).append(message)
    return found


def text_of(message: Any) -> str:
    part = message.get_body(("plain",))
    return str(part.get_content()) if part else ""


def contact(api: Any, key: str, address: str, **fields: Any) -> dict[str, Any]:
    created = api.post("/v1/contacts", {"email": address, **fields}, key=key)
    assert created.status_code == 201, created.json
    return created.json


def broadcast(api: Any, account: Any, segment_id: str, **fields: Any) -> dict[str, Any]:
    body = {"from": f"News <news@{account.domain}>", "subject": "Hello {{ contact.first_name "
            "| default('friend') }}", "text": "Dear {{ contact.first_name | default('friend') "
            "}}, plan {{ contact.properties.plan | default('free') }}.",
            "segment_id": segment_id, "rate_per_minute": 60000, **fields}
    created = api.post("/v1/broadcasts", body, key=account.api_key)
    assert created.status_code == 201, created.json
    return created.json


@pytest.fixture
def segment(api: Any, account: Any) -> str:
    made = api.post("/v1/segments", {"name": "Newsletter"}, key=account.api_key)
    assert made.status_code == 201, made.json
    return str(made.json["id"])


def test_contacts_are_scoped_paged_and_found_by_address(api, account, other_account) -> None:
    """Catches: another account reading a contact, duplicates by address, a cursor that
    skips or repeats contacts."""
    key = account.api_key
    made = [contact(api, key, f"user{i}@example.org", first_name=f"U{i}") for i in range(5)]
    assert api.post("/v1/contacts", {"email": "USER0@example.org"},
                    key=key).status_code == 409
    by_address = api.get(f"/v1/contacts/{quote('user3@example.org')}", key=key)
    assert by_address.json["id"] == made[3]["id"]
    assert api.get(f"/v1/contacts/{made[0]['id']}",
                   key=other_account.api_key).status_code == 404
    assert api.get(f"/v1/contacts/{quote('user0@example.org')}",
                   key=other_account.api_key).status_code == 404
    seen, cursor = [], None
    while True:
        page = api.get("/v1/contacts?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                       key=key).json
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert sorted(seen) == sorted(c["id"] for c in made)
    bad = api.post("/v1/contacts", {"email": "x@example.org", "properties": {"a b": 1}}, key=key)
    assert bad.status_code == 422 and "a b" in bad.json["error"]["message"]
    changed = api.request("PATCH", f"/v1/contacts/{made[1]['id']}",
                          {"properties": {"plan": "pro", "seats": 3}}, key=key)
    assert changed.json["properties"] == {"plan": "pro", "seats": 3}
    assert api.request("DELETE", f"/v1/contacts/{made[1]['id']}", key=key).status_code == 200
    assert api.get(f"/v1/contacts/{made[1]['id']}", key=key).status_code == 404


def test_csv_import_reports_each_bad_row_and_reimport_changes_nothing(
        api, account, stack, drain, segment) -> None:
    """Catches: a malformed row sinking the import or vanishing unreported; a re-import
    creating duplicates."""
    rows = ["email,first_name,last_name,unsubscribed,plan,seats:number",
            "ann@example.org,Ann,Lee,false,pro,3",
            "not-an-address,Bob,,false,,",
            "cy@example.org,Cy,,maybe,,",
            "dee@example.org,Dee",
            ",NoMail,,,,",
            "eve@example.org,Eve,,true,,x",
            "fay@example.org,Fay,,,,2",
            "ann@example.org,Ann,Lee,false,pro,3"]
    csv_text = "\n".join(rows) + "\n"
    started = api.post("/v1/contact-imports", {"csv": csv_text, "segment_id": segment},
                       key=account.api_key)
    assert started.status_code == 202 and started.json["status"] == "queued"
    drain_marketing(stack, drain)
    report = api.get(f"/v1/contact-imports/{started.json['id']}", key=account.api_key).json
    assert report["status"] == "completed"
    assert (report["created"], report["updated"], report["skipped"]) == (2, 0, 6)
    reasons = {e["row"]: e["reason"] for e in report["errors"]}
    assert set(reasons) == {3, 4, 5, 6, 7, 9}, reasons
    assert "email" in reasons[3] and "unsubscribed" in reasons[4]
    assert "columns" in reasons[5] and "empty" in reasons[6] and "seats" in reasons[7]
    assert reasons[9] == "unchanged"
    assert "example.org" not in json.dumps(report), "the report never echoes addresses"
    ann = api.get(f"/v1/contacts/{quote('ann@example.org')}", key=account.api_key).json
    assert ann["properties"] == {"plan": "pro", "seats": 3} and ann["segment_ids"] == [segment]
    assert ann["opt_in"]["source"] == "import"
    again = api.post("/v1/contact-imports", {"csv": csv_text, "segment_id": segment},
                     key=account.api_key).json
    drain_marketing(stack, drain)
    second = api.get(f"/v1/contact-imports/{again['id']}", key=account.api_key).json
    assert (second["created"], second["updated"]) == (0, 0)
    members = api.get(f"/v1/segments/{segment}/contacts", key=account.api_key).json["data"]
    assert sorted(m["email"] for m in members) == ["ann@example.org", "fay@example.org"]
    assert not [k for k in bucket_objects(stack) if k.startswith("imports/")], \
        "the uploaded file is deleted once imported"


def webhook_types(stack: Any) -> list[str]:
    """The event types queued for the account's webhook endpoints (taken off the queue)."""
    sqs, url = stack.client("sqs"), stack.env["LETTERBOX_WEBHOOK_QUEUE_URL"]
    types = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return types
        for message in got:
            types.append(json.loads(message["Body"])["payload"]["type"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _confirm_link(tmp_path: Path, address: str) -> str:
    message = outbox(tmp_path)[address][-1]
    return re.search(r"https://api\.letterbox\.example(/c/[^\s\"'<>]+)",
                     text_of(message)).group(1)


def test_double_opt_in_link_is_signed_single_use_and_its_proof_exported(
        api, account, stack, drain, tmp_path, segment) -> None:
    """Catches: a GET (a link scanner) confirming, a link working twice or forged, a pending
    contact receiving broadcasts, the proof missing from the privacy export."""
    pending = contact(api, account.api_key, "pat@example.org", first_name="Pat",
                      segment_ids=[segment],
                      double_opt_in={"from": f"news@{account.domain}"})
    assert pending["status"] == "pending" and pending["opt_in"]["confirmed_at"] is None
    drain()
    link = _confirm_link(tmp_path, "pat@example.org")
    assert api.get(link).status_code == 200
    assert api.get(f"/v1/contacts/{pending['id']}", key=account.api_key).json["status"] == \
        "pending", "a GET never confirms"
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert api.post(forged, raw="confirm=yes", headers=FORM).status_code == 404
    assert api.post(link, raw="confirm=yes", headers=FORM).status_code == 200
    assert api.post(link, raw="confirm=yes", headers=FORM).status_code == 404, "single use"
    confirmed = api.get(f"/v1/contacts/{pending['id']}", key=account.api_key).json
    assert confirmed["status"] == "subscribed" and confirmed["opt_in"]["confirmed_at"]
    exported = api.post("/v1/privacy/export", {"email": "pat@example.org"},
                        key=account.api_key).json
    proof = exported["contact"]["opt_in"]
    assert proof["source"] == "api" and proof["key_id"] and proof["confirmed_at"]


def test_expired_confirmation_link_is_refused(api, account, monkeypatch) -> None:
    """Catches: a confirmation link that never expires."""
    from chalicelib import contacts, wiring
    made = contact(api, account.api_key, "late@example.org",
                   double_opt_in={"from": f"news@{account.domain}"})
    service = wiring.container().contacts
    record = service._find(account.account_id, made["id"])
    token = wiring.container().tokens.seal("confirm", {
        "a": account.account_id, "c": made["id"], "n": record["confirm_nonce"],
        "e": int((utcnow() - timedelta(seconds=1)).timestamp())})
    assert not service.confirm(token, utcnow())
    assert contacts.CONFIRM_DAYS == 7


def _five(api: Any, account: Any, segment: str) -> dict[str, str]:
    """The issue's segment: two subscribed, one unsubscribed, one pending, one suppressed."""
    key = account.api_key
    ids = {}
    for name, address, extra in (
            ("Ann", "ann@example.org", {"properties": {"plan": "pro"}}),
            ("Ben", "ben@example.org", {}),
            ("Uma", "uma@example.org", {"unsubscribed": True}),
            ("Pia", "pia@example.org", {"double_opt_in": {"from": f"news@{account.domain}"}}),
            ("Sam", "sam@example.org", {})):
        ids[name] = contact(api, key, address, first_name=name if name != "Ben" else None,
                            segment_ids=[segment], **extra)["id"]
    assert api.post("/v1/suppressions", {"email": "sam@example.org"},
                    key=key).status_code == 201
    return ids


def test_broadcast_reaches_exactly_the_eligible_and_never_twice(
        api, account, stack, drain, tmp_path, segment) -> None:
    """Catches: mail to unsubscribed, pending or suppressed contacts; a second send mailing
    anyone; one unsubscribe link shared between recipients; unpersonalized content."""
    _five(api, account, segment)
    drain()  # Pia's confirmation email
    before = outbox(tmp_path)
    made = broadcast(api, account, segment)
    sent = api.post(f"/v1/broadcasts/{made['id']}/send", {}, key=account.api_key)
    assert sent.status_code == 202, sent.json
    drain_marketing(stack, drain)
    after = outbox(tmp_path)
    new = {to: msgs[len(before.get(to, [])):] for to, msgs in after.items()}
    new = {to: msgs for to, msgs in new.items() if msgs}
    assert sorted(new) == ["ann@example.org", "ben@example.org"]
    ann, ben = new["ann@example.org"][0], new["ben@example.org"][0]
    assert ann["Subject"] == "Hello Ann" and "plan pro" in text_of(ann)
    assert ben["Subject"] == "Hello friend" and "plan free" in text_of(ben)
    assert ann["List-Unsubscribe"] != ben["List-Unsubscribe"]
    for message in (ann, ben):
        signed = re.search(r"(?:^|;)h=([^;]+)", re.sub(r"\s+", "", message["DKIM-Signature"]))
        assert "list-unsubscribe" in signed.group(1).lower().split(":")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    again = api.post(f"/v1/broadcasts/{made['id']}/send", {}, key=account.api_key)
    assert again.status_code == 409
    drain_marketing(stack, drain)
    assert sum(len(v) for v in outbox(tmp_path).values()) == sum(len(v) for v in after.values())
    state = api.get(f"/v1/broadcasts/{made['id']}", key=account.api_key).json
    assert state["status"] == "sent"
    assert state["stats"]["sent"] == 2 and state["stats"]["suppressed"] == 1
    assert state["stats"]["skipped"] == 2
    sent_list = api.get(f"/v1/broadcasts/{made['id']}/recipients?status=sent",
                        key=account.api_key).json["data"]
    assert sorted(r["email"] for r in sent_list) == ["ann@example.org", "ben@example.org"]


class CrashingEmails:
    """The batch path, with the sender killed at the ``crash_on``-th chunk: before queueing
    (claims written, nothing sent) or after (queued, markers not yet written)."""

    def __init__(self, real: Any, crash_on: int, after_queue: bool) -> None:
        self._real, self._crash_on, self._after = real, crash_on, after_queue
        self.calls = 0

    def queue_batch(self, principal: Any, emails: list[dict[str, Any]], now: Any) -> Any:
        self.calls += 1
        if self.calls == self._crash_on and not self._after:
            raise KeyboardInterrupt("killed before queueing")
        result = self._real.queue_batch(principal, emails, now)
        if self.calls == self._crash_on:
            raise KeyboardInterrupt("killed after queueing")
        return result


@pytest.mark.parametrize("after_queue", [False, True])
def test_interrupted_broadcast_resumes_and_completes_without_duplicates(
        api, account, stack, drain, tmp_path, segment, after_queue) -> None:
    """Catches: a resumed broadcast mailing someone twice, or never mailing the recipients
    of the chunk it was killed in."""
    from chalicelib import wiring
    from chalicelib.accounts import Principal
    from chalicelib.broadcast_sender import BroadcastSender
    from chalicelib.marketing_models import MarketingJob
    rows = "\n".join(["email,first_name"] + [f"r{i:03}@example.org,R{i}" for i in range(230)])
    api.post("/v1/contact-imports", {"csv": rows, "segment_id": segment}, key=account.api_key)
    drain_marketing(stack, drain)
    made = broadcast(api, account, segment)
    api.post(f"/v1/broadcasts/{made['id']}/send", {}, key=account.api_key)
    sqs, url = stack.client("sqs"), stack.env["LETTERBOX_MARKETING_QUEUE_URL"]
    sqs.purge_queue(QueueUrl=url)  # this test drives the chunks itself
    container = wiring.container()
    crashing = CrashingEmails(container.emails, crash_on=2, after_queue=after_queue)
    killed = BroadcastSender(container.marketing_store, crashing, container.suppressions,
                             container.templates, container.marketing_queue, container.logs)
    principal = Principal(account_id=account.account_id, key_id="k", scope="full")
    job = MarketingJob(kind="broadcast", account_id=account.account_id, object_id=made["id"])
    assert killed.run(job, principal, utcnow()) == "chunk"
    second = MarketingJob.model_validate_json(
        sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    with pytest.raises(KeyboardInterrupt):
        killed.run(second, principal, utcnow())
    # Redeployed, the queue redelivers the killed chunk once its visibility lapses.
    resumed = container.broadcast_sender
    later = utcnow() + timedelta(minutes=10)
    outcome = resumed.run(second, principal, later)
    while outcome == "chunk":
        body = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=body["ReceiptHandle"])
        outcome = resumed.run(MarketingJob.model_validate_json(body["Body"]), principal, later)
    assert outcome == "sent"
    drain()
    received = outbox(tmp_path)
    assert len(received) == 230, "everyone got it"
    assert all(len(v) == 1 for v in received.values()), "nobody got it twice"
    state = api.get(f"/v1/broadcasts/{made['id']}", key=account.api_key).json
    assert state["stats"]["sent"] == 230 and state["status"] == "sent"


def test_preference_page_changes_topics_and_one_click_still_works(
        api, account, stack, drain, tmp_path, segment) -> None:
    """Catches: a topic opt-out ignored by the next broadcast on that topic, a change without
    a contact.* event, one-click unsubscribe broken by the preference page."""
    hook = api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "event_types": [
        "contact.topics_changed", "contact.unsubscribed"]}, key=account.api_key)
    assert hook.status_code == 201, hook.json
    topic = api.post("/v1/topics", {"name": "Product news", "default": "opt_in"},
                     key=account.api_key).json
    other = api.post("/v1/topics", {"name": "Offers", "default": "opt_out"},
                     key=account.api_key).json
    contact(api, account.api_key, "ann@example.org", first_name="Ann", segment_ids=[segment])
    contact(api, account.api_key, "ben@example.org", first_name="Ben", segment_ids=[segment])
    first = broadcast(api, account, segment, topic_id=topic["id"])
    api.post(f"/v1/broadcasts/{first['id']}/send", {}, key=account.api_key)
    drain_marketing(stack, drain)
    ann_mail = outbox(tmp_path)["ann@example.org"][0]
    page = re.search(r"<https://api\.letterbox\.example(/u/[^>]+)>",
                     ann_mail["List-Unsubscribe"]).group(1)
    shown = api.get(page).body.decode()
    assert "Product news" in shown and "Offers" in shown and "checked" in shown
    saved = api.post(page, raw=urlencode({"action": "save", "topic": other["id"]}),
                     headers=FORM)
    assert saved.status_code == 200
    topics = api.get(f"/v1/contacts/{quote('ann@example.org')}/topics",
                     key=account.api_key).json["data"]
    assert {t["name"]: t["subscribed"] for t in topics} == {"Product news": False,
                                                           "Offers": True}
    assert "contact.topics_changed" in webhook_types(stack)
    second = broadcast(api, account, segment, topic_id=topic["id"])
    api.post(f"/v1/broadcasts/{second['id']}/send", {}, key=account.api_key)
    drain_marketing(stack, drain)
    mails = outbox(tmp_path)
    assert len(mails["ann@example.org"]) == 1 and len(mails["ben@example.org"]) == 2
    one_click = api.post(page, raw="List-Unsubscribe=One-Click", headers=FORM)
    assert one_click.status_code == 200
    ann = api.get(f"/v1/contacts/{quote('ann@example.org')}", key=account.api_key).json
    assert ann["unsubscribed"] is True
    assert "contact.unsubscribed" in webhook_types(stack)
    assert api.get("/u/not-a-token").status_code == 404


def test_erasure_removes_a_contact_from_every_table_and_bucket(
        api, account, stack, drain, tmp_path, segment) -> None:
    """Catches: a contact, membership, opt-in proof or broadcast trace surviving erasure."""
    address = "gone@example.org"
    made = contact(api, account.api_key, address, first_name="Gone", segment_ids=[segment],
                   double_opt_in={"from": f"news@{account.domain}"})
    drain()
    api.post(_confirm_link(tmp_path, address), raw="confirm=yes", headers=FORM)
    api.post("/v1/contact-imports", {"csv": f"email,first_name\n{address},Gone\n",
                                     "segment_id": segment}, key=account.api_key)
    sent = broadcast(api, account, segment)
    api.post(f"/v1/broadcasts/{sent['id']}/send", {}, key=account.api_key)
    drain_marketing(stack, drain)
    assert address in dump(scan(stack, "LETTERBOX_TABLE_NAME"))
    erased = erase(api, stack, account.api_key, address)
    assert erased["contacts_deleted"] == 1
    for table in ("LETTERBOX_TABLE_NAME", "LETTERBOX_IDEMPOTENCY_TABLE_NAME"):
        assert dump(scan(stack, table)).count(address) == 0, table
    assert not any(address.encode() in body for body in bucket_objects(stack).values())
    assert api.get(f"/v1/contacts/{made['id']}", key=account.api_key).status_code == 404
    assert api.get(f"/v1/broadcasts/{sent['id']}/recipients",
                   key=account.api_key).json["data"] == []


def test_broadcast_stats_count_opens_and_clicks_per_link(
        api, account, stack, drain, tmp_path, segment) -> None:
    """Catches: per-broadcast stats that miss engagement, or clicks not counted per link."""
    api.request("PATCH", f"/v1/domains/{account.domain_id}",
                {"track_opens": True, "track_clicks": True}, key=account.api_key)
    for name in ("ann", "ben"):
        contact(api, account.api_key, f"{name}@example.org", segment_ids=[segment])
    made = broadcast(api, account, segment, html="<p>Hi <a href='https://example.com/a'>a</a>"
                     " <a href='https://example.com/b'>b</a></p>")
    api.post(f"/v1/broadcasts/{made['id']}/send", {}, key=account.api_key)
    drain_marketing(stack, drain)
    raw = str(outbox(tmp_path)["ann@example.org"][0].get_body(("html",)).get_content())
    links = re.findall(r"https://api\.letterbox\.example(/t/c/[^\"'\s]+)", raw)
    pixel = re.search(r"https://api\.letterbox\.example(/t/o/[^\"'\s]+)", raw).group(1)
    assert len(links) == 2
    assert api.get(pixel, headers={"Accept": "image/*"}).status_code == 200
    for link in (links[0], links[0], links[1]):
        assert api.get(link).status_code == 302
    state = api.get(f"/v1/broadcasts/{made['id']}", key=account.api_key).json
    assert state["stats"]["opened"] == 1 and state["stats"]["clicked"] == 1
    assert state["clicks"] == {"https://example.com/a": 1, "https://example.com/b": 1}, \
        "clicks per link count recipients, not repeated clicks"
    clicked = api.get(f"/v1/broadcasts/{made['id']}/recipients?status=clicked",
                      key=account.api_key).json["data"]
    assert [r["email"] for r in clicked] == ["ann@example.org"]


def test_scheduled_broadcast_waits_and_a_cancelled_one_sends_nothing(
        api, account, stack, drain, tmp_path, segment) -> None:
    """Catches: a scheduled broadcast going out early, a cancelled one going out at all."""
    from chalicelib import wiring
    from chalicelib.accounts import Principal
    from chalicelib.marketing_models import MarketingJob
    contact(api, account.api_key, "ann@example.org", segment_ids=[segment])
    later = broadcast(api, account, segment)
    due = utcnow() + timedelta(hours=2)
    scheduled = api.post(f"/v1/broadcasts/{later['id']}/send",
                         {"scheduled_at": due.isoformat()}, key=account.api_key)
    assert scheduled.status_code == 202 and scheduled.json["status"] == "scheduled"
    changed = api.request("PATCH", f"/v1/broadcasts/{later['id']}", {"subject": "Later"},
                          key=account.api_key)
    assert changed.status_code == 200 and changed.json["subject"] == "Later"
    sqs, url = stack.client("sqs"), stack.env["LETTERBOX_MARKETING_QUEUE_URL"]
    sqs.purge_queue(QueueUrl=url)
    sender = wiring.container().broadcast_sender
    principal = Principal(account_id=account.account_id, key_id="k", scope="full")
    job = MarketingJob(kind="broadcast", account_id=account.account_id, object_id=later["id"])
    assert sender.run(job, principal, utcnow()) == "waiting"
    assert sender.run(job, principal, due + timedelta(seconds=1)) == "sent"
    drain()
    assert outbox(tmp_path)["ann@example.org"][0]["Subject"] == "Later"
    stopped = broadcast(api, account, segment)
    api.post(f"/v1/broadcasts/{stopped['id']}/send", {"scheduled_at": due.isoformat()},
             key=account.api_key)
    cancelled = api.post(f"/v1/broadcasts/{stopped['id']}/cancel", key=account.api_key)
    assert cancelled.json["status"] == "cancelled"
    job = job.model_copy(update={"object_id": stopped["id"]})
    assert sender.run(job, principal, due + timedelta(seconds=1)) == "done"
    drain()
    assert len(outbox(tmp_path)["ann@example.org"]) == 1
    assert api.request("PATCH", f"/v1/broadcasts/{stopped['id']}", {"subject": "x"},
                       key=account.api_key).status_code == 409


def test_bad_marketing_input_is_a_clear_4xx(api, account, other_account, segment) -> None:
    """Catches: a 500 on bad input, a pending contact left behind when its confirmation
    cannot be sent, another account's segment usable."""
    key = account.api_key
    unverified = api.post("/v1/contacts", {"email": "p@example.org", "double_opt_in": {
        "from": "news@not-ours.example"}}, key=key)
    assert unverified.status_code == 422, unverified.json
    assert api.get(f"/v1/contacts/{quote('p@example.org')}", key=key).status_code == 404
    foreign = api.post("/v1/contacts", {"email": "q@example.org", "segment_ids": [segment]},
                       key=other_account.api_key)
    assert foreign.status_code == 422 and "segment" in foreign.json["error"]["message"]
    no_body = api.post("/v1/broadcasts", {"from": f"n@{account.domain}", "subject": "s",
                                          "segment_id": segment}, key=key)
    assert no_body.status_code == 422 and "html" in no_body.json["error"]["message"]
    unsafe = api.post("/v1/broadcasts", {"from": f"n@{account.domain}", "subject": "s",
                                         "segment_id": segment,
                                         "html": "{{ contact.__class__.__mro__ }}"}, key=key)
    assert unsafe.status_code == 422
    bad_csv = api.post("/v1/contact-imports", {"csv": "name\nx\n"}, key=key)
    assert bad_csv.status_code == 422 and "email" in bad_csv.json["error"]["message"]
    assert api.get("/v1/broadcasts/bc_nope", key=key).status_code == 404
    assert api.get("/v1/contacts?status=odd", key=key).status_code == 422


def test_deleting_a_segment_keeps_its_contacts(api, account, segment) -> None:
    """Catches: contacts lost with their segment, or still listed in it."""
    made = contact(api, account.api_key, "keep@example.org", segment_ids=[segment])
    assert api.request("DELETE", f"/v1/segments/{segment}",
                       key=account.api_key).status_code == 200
    kept = api.get(f"/v1/contacts/{made['id']}", key=account.api_key).json
    assert kept["segment_ids"] == []


def test_account_export_lists_contacts_segments_and_topics(api, account, segment) -> None:
    """Catches: marketing data missing from the account export."""
    api.post("/v1/topics", {"name": "T"}, key=account.api_key)
    contact(api, account.api_key, "ex@example.org", segment_ids=[segment])
    kinds = {i["type"] for i in api.get("/v1/account/export?limit=100",
                                        key=account.api_key).json["items"]}
    assert {"contact", "segment", "segment_member", "topic"} <= kinds


def test_a_chunk_that_exhausted_its_retries_fails_its_broadcast_visibly(
        api, account, stack, segment) -> None:
    """Catches: a broadcast chunk dead-lettered after its retries leaving the broadcast
    "sending" forever (the marketing dead-letter queue had no consumer)."""
    import app as app_module
    from letterbox.local.pump import drain_once
    contact(api, account.api_key, "ann@example.org", segment_ids=[segment])
    made = broadcast(api, account, segment)
    due = utcnow() + timedelta(hours=2)
    api.post(f"/v1/broadcasts/{made['id']}/send", {"scheduled_at": due.isoformat()},
             key=account.api_key)
    sqs = stack.client("sqs")
    queue = sqs.create_queue(QueueName="marketing-dead-letters-under-test")["QueueUrl"]
    body = json.dumps({"kind": "broadcast", "account_id": account.account_id,
                       "object_id": made["id"]})
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert drain_once(sqs, queue, app_module.marketing_dead_letters, "marketing_dead_letters")
    failed = api.get(f"/v1/broadcasts/{made['id']}", key=account.api_key)
    assert failed.status_code == 200 and failed.json["status"] == "failed"
    # A second dead letter for the same broadcast changes nothing and is not an error.
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert drain_once(sqs, queue, app_module.marketing_dead_letters, "marketing_dead_letters")
    assert api.get(f"/v1/broadcasts/{made['id']}", key=account.api_key).json["status"] == "failed"


def test_a_broadcast_whose_topic_was_deleted_mails_nobody(
        api, account, stack, drain, tmp_path, segment) -> None:
    """Bug caught: the sender reading a deleted topic as "no topic" and mailing the whole
    segment, opted-out contacts included."""
    key = account.api_key
    topic = api.post("/v1/topics", {"name": "Offers", "default": "opt_out"}, key=key)
    assert topic.status_code == 201, topic.json
    contact(api, key, "ann@example.org", first_name="Ann", segment_ids=[segment])
    made = broadcast(api, account, segment, topic_id=topic.json["id"])
    assert api.request("DELETE", f"/v1/topics/{topic.json['id']}", None,
                       key=key).status_code in (200, 204)
    before = sum(len(v) for v in outbox(tmp_path).values())
    assert api.post(f"/v1/broadcasts/{made['id']}/send", {}, key=key).status_code == 202
    drain_marketing(stack, drain)
    assert sum(len(v) for v in outbox(tmp_path).values()) == before
    skipped = api.get(f"/v1/broadcasts/{made['id']}/recipients?status=skipped",
                      key=key).json["data"]
    assert [r["email"] for r in skipped] == ["ann@example.org"]

"""The complete sending API (issue 4): every field, templates, attachments, S3 offload,
idempotency, batches, retries, scheduling, suppression, unsubscribe, limits."""

from __future__ import annotations

import base64
import email
import os
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import app as app_module
from chalicelib import wiring
from chalicelib.errors import RetryableFailure
from letterbox.local.pump import LambdaContext, drain_once, scheduled_event


def _ses_sent() -> list:
    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages


def _email(account, **fields) -> dict:
    return {"from": f"Acme <hi@{account.domain}>", "to": "a@example.net", "subject": "Hello",
            "html": "<p>Hello</p>", **fields}


def _eml(tmp_path, email_id: str) -> email.message.EmailMessage:
    raw = (tmp_path / "outbox" / f"{email_id}.eml").read_bytes()
    return email.message_from_bytes(raw, policy=policy.default)


def _status(api, account, email_id: str) -> str:
    return api.get(f"/v1/emails/{email_id}", key=account.api_key).json["status"]


def _settings(monkeypatch, **values) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"LETTERBOX_{name.upper()}", str(value))
    wiring.reset()


class RecordingSender:
    def __init__(self, inner, fail_every: int = 0) -> None:
        self.inner, self.fail_every, self.calls, self.sent = inner, fail_every, 0, []

    def send_raw(self, message_id, raw, sender, destinations, tags=None):
        self.calls += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RetryableFailure("ses ThrottlingException")
        self.sent.append((message_id, destinations, tags))
        return self.inner.send_raw(message_id, raw, sender, destinations, tags)


def test_every_field_reaches_the_message_and_the_events(api, account, drain, tmp_path) -> None:
    pdf = os.urandom(2048)
    accepted = api.post("/v1/emails", _email(
        account, cc=["c@example.net"], bcc=["b@example.net"], reply_to="r@example.net",
        html='<p>Hi <img src="cid:logo"></p>', headers={"X-Campaign": "autumn"},
        tags=[{"name": "category", "value": "welcome"}], metadata={"user_id": "42"},
        attachments=[{"filename": "a.pdf", "content": base64.b64encode(pdf).decode()},
                     {"filename": "logo.png", "content": base64.b64encode(b"PNG").decode(),
                      "content_type": "image/png", "content_id": "logo"}],
        track_opens=True), key=account.api_key)
    assert accepted.status_code == 202, accepted.json
    recorder = RecordingSender(wiring.container().email_sender)
    wiring.use(email_sender=recorder)
    drain()
    parsed = _eml(tmp_path, accepted.json["id"])
    assert parsed["Cc"] == "c@example.net" and parsed["Reply-To"] == "r@example.net"
    assert parsed["X-Campaign"] == "autumn" and parsed["Bcc"] is None
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_content() == pdf
    assert any(p["Content-ID"] == "<logo>" for p in parsed.walk())
    ((_, destinations, tags),) = recorder.sent
    assert set(destinations) == {"a@example.net", "c@example.net", "b@example.net"}
    assert {"name": "category", "value": "welcome"} in tags
    detail = api.get(f"/v1/emails/{accepted.json['id']}", key=account.api_key).json
    assert detail["metadata"] == {"user_id": "42"}
    assert detail["tags"] == [{"name": "category", "value": "welcome"}]
    assert detail["status"] == "sent"


@pytest.mark.parametrize("fields", [
    {"subject": "Hi\r\nBcc: evil@example.net"},
    {"headers": {"X-Evil": "a\r\nBcc: evil@example.net"}},
    {"headers": {"Bcc": "evil@example.net"}},
    {"headers": {"X Bad Name": "v"}},
    {"from": "Evil\r\nBcc: x@example.net <hi@letterbox.example.com>"},
    {"to": ["a@example.net\r\nBcc: evil@example.net"]},
    {"attachments": [{"filename": "a\r\nb.pdf", "content": "AAAA"}]},
    {"attachments": [{"filename": "a.pdf", "content": "not base64!!"}]},
    {"tags": [{"name": "has space", "value": "x"}]},
    {"scheduled_at": "2099-01-01T00:00:00Z"},
    {"scheduled_at": "2026-12-01T00:00:00"},
])
def test_injection_and_bad_fields_are_422(api, account, fields) -> None:
    response = api.post("/v1/emails", _email(account, **fields), key=account.api_key)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"


def test_templates_render_escaped_and_missing_variables_fail(api, account, drain,
                                                            tmp_path) -> None:
    template = api.post("/v1/templates", {
        "name": "welcome", "subject": "Welcome {{ name }}",
        "html": "<p>Hi {{ name }}, {{ note }}</p>", "text": "Hi {{ name }}"},
        key=account.api_key).json
    assert template["variables"] == ["name", "note"]
    body = {"from": f"hi@{account.domain}", "to": "a@example.net",
            "template_id": template["id"], "variables": {"name": "Zoë", "note": "<b>x</b>"}}
    ok = api.post("/v1/emails", body, key=account.api_key).json
    missing = api.post("/v1/emails", {**body, "variables": {"name": "Z"}},
                       key=account.api_key).json
    drain()
    parsed = _eml(tmp_path, ok["id"])
    assert parsed["Subject"] == "Welcome Zoë"
    assert "&lt;b&gt;x&lt;/b&gt;" in parsed.get_body(("html",)).get_content()
    failed = api.get(f"/v1/emails/{missing['id']}", key=account.api_key).json
    assert failed["status"] == "failed"
    assert "missing variable" in failed["events"][-1]["data"]["reason"]
    assert not (tmp_path / "outbox" / f"{missing['id']}.eml").exists()


def test_a_template_cannot_reach_python_internals(api, account, drain, tmp_path) -> None:
    template = api.post("/v1/templates", {
        "name": "evil", "subject": "x",
        "text": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}, key=account.api_key).json
    sent = api.post("/v1/emails", {"from": f"hi@{account.domain}", "to": "a@example.net",
                                   "template_id": template["id"]}, key=account.api_key).json
    drain()
    detail = api.get(f"/v1/emails/{sent['id']}", key=account.api_key).json
    assert detail["status"] == "failed"
    assert "sandbox" in detail["events"][-1]["data"]["reason"]


def test_unknown_template_is_422_naming_template_id(api, account) -> None:
    response = api.post("/v1/emails", {"from": f"hi@{account.domain}", "to": "a@example.net",
                                       "template_id": "tpl_01ARZ3NDEKTSV4RRFFQ69G5FAV"},
                        key=account.api_key)
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "template_id"


def test_large_message_goes_through_s3_and_leaves_nothing(api, account, drain, stack,
                                                          tmp_path) -> None:
    big = os.urandom(5 * 1024 * 1024)
    accepted = api.post("/v1/emails", _email(account, attachments=[
        {"filename": "big.bin", "content": base64.b64encode(big).decode()}]),
        key=account.api_key)
    assert accepted.status_code == 202
    s3 = stack.client("s3")
    bucket = stack.env["LETTERBOX_BUCKET_NAME"]
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert [o["Key"].split("/")[0] for o in listed] == ["offload"]
    drain()
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    (attachment,) = list(_eml(tmp_path, accepted.json["id"]).iter_attachments())
    assert attachment.get_content() == big


def test_over_40_mb_is_413(api, account) -> None:
    from chalicelib.email_models import SendEmailRequest
    request = SendEmailRequest.model_validate(_email(account, attachments=[
        {"filename": "x.bin", "content": "QUFB"}]))
    object.__setattr__(request.attachments[0], "content", "A" * (54 * 1024 * 1024))
    from chalicelib.clock import utcnow
    from chalicelib.errors import PayloadTooLarge
    principal = wiring.container().accounts.authenticate(f"Bearer {account.api_key}")
    with pytest.raises(PayloadTooLarge):
        wiring.container().emails.queue_email(principal, request, utcnow())


def test_idempotent_replay_and_conflicting_body(api, account) -> None:
    headers = {"Idempotency-Key": "order-1234"}
    first = api.post("/v1/emails", _email(account), key=account.api_key, headers=headers)
    again = api.post("/v1/emails", _email(account), key=account.api_key, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json == first.json and again.headers["idempotent-replayed"] == "true"
    changed = api.post("/v1/emails", _email(account, subject="Other"), key=account.api_key,
                       headers=headers)
    assert changed.status_code == 409 and changed.json["error"]["code"] == "conflict"
    other = api.post("/v1/emails", _email(account), key=account.api_key,
                     headers={"Idempotency-Key": "order-1235"})
    assert other.json["id"] != first.json["id"]


def test_batch_with_three_bad_items_queues_the_rest(api, account, stack) -> None:
    emails = [_email(account, to=f"r{i}@example.net") for i in range(100)]
    emails[3] = _email(account, to="not-an-address")
    emails[50] = _email(account, **{"from": "x@unverified.example.com"})
    emails[99] = {"to": "x@example.net"}
    response = api.post("/v1/emails/batch", {"emails": emails}, key=account.api_key)
    assert response.status_code == 200
    body = response.json
    assert body["accepted"] == 97 and body["rejected"] == 3
    errors = {r["index"]: r["error"]["code"] for r in body["data"] if r["error"]}
    assert errors == {3: "validation_error", 50: "domain_not_verified", 99: "validation_error"}
    queue = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.env["LETTERBOX_SEND_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages"])
    assert queue["Attributes"]["ApproximateNumberOfMessages"] == "97"


def test_throttling_on_every_second_call_still_sends_each_exactly_once(
        api, account, stack, monkeypatch) -> None:
    _settings(monkeypatch, retry_base_seconds=0)
    ids = []
    for start in (0, 100):
        batch = [_email(account, to=f"r{i}@example.net") for i in range(start, start + 100)]
        ids += [r["id"] for r in api.post("/v1/emails/batch", {"emails": batch},
                                          key=account.api_key).json["data"]]
    recorder = RecordingSender(wiring.container().email_sender, fail_every=2)
    wiring.use(email_sender=recorder)
    sqs, url = stack.client("sqs"), stack.env["LETTERBOX_SEND_QUEUE_URL"]
    for _ in range(200):
        if not drain_once(sqs, url, app_module.send_worker, "send_worker", retry_delay=0):
            break
    sent_ids = [message_id for message_id, _, _ in recorder.sent]
    assert len(ids) == 200 and sorted(sent_ids) == sorted(ids), "each exactly once"
    assert recorder.calls > 200, "throttling really happened"
    assert len(_ses_sent()) == 200


def test_retries_exhausted_land_in_the_dead_letter_queue_as_failed(api, account, stack,
                                                                   monkeypatch) -> None:
    _settings(monkeypatch, retry_base_seconds=0)
    accepted = api.post("/v1/emails", _email(account), key=account.api_key).json
    wiring.use(email_sender=RecordingSender(wiring.container().email_sender, fail_every=1))
    sqs, url = stack.client("sqs"), stack.env["LETTERBOX_SEND_QUEUE_URL"]
    for _ in range(12):  # maxReceiveCount is 10
        drain_once(sqs, url, app_module.send_worker, "send_worker", retry_delay=0)
    policy_ = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    import json
    dlq_name = json.loads(policy_["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
    dlq_url = sqs.get_queue_url(QueueName=dlq_name.rsplit(":", 1)[1])["QueueUrl"]
    assert drain_once(sqs, dlq_url, app_module.send_dead_letters, "send_dead_letters") == 1
    detail = api.get(f"/v1/emails/{accepted['id']}", key=account.api_key).json
    assert detail["status"] == "failed"
    assert detail["events"][-1]["data"]["reason"] == "retries_exhausted"


def _sweep_at(monkeypatch, moment: datetime) -> dict:
    monkeypatch.setattr("chalicelib.consumers.utcnow", lambda: moment)
    return app_module.sweep_scheduled(scheduled_event(), LambdaContext("sweep_scheduled"))


def test_scheduled_email_waits_for_its_time(api, account, stack, drain, monkeypatch) -> None:
    due = datetime.now(UTC) + timedelta(hours=2)
    accepted = api.post("/v1/emails", _email(account, scheduled_at=due.isoformat()),
                        key=account.api_key).json
    assert accepted["status"] == "scheduled"
    assert _sweep_at(monkeypatch, datetime.now(UTC))["queued"] == 0
    assert drain() == 0 and _ses_sent() == []
    assert _sweep_at(monkeypatch, due - timedelta(minutes=10))["queued"] == 1
    assert _sweep_at(monkeypatch, due - timedelta(minutes=9))["queued"] == 0, "queued once"
    sqs, url = stack.client("sqs"), stack.env["LETTERBOX_SEND_QUEUE_URL"]
    message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                  VisibilityTimeout=0).get("Messages", [])
    assert message == [], "SQS holds it back until it is due"


def test_early_delivery_of_a_scheduled_record_is_refused(api, account, stack) -> None:
    due = datetime.now(UTC) + timedelta(minutes=5)
    accepted = api.post("/v1/emails", _email(account, scheduled_at=due.isoformat()),
                        key=account.api_key).json
    from chalicelib.email_models import OffloadPointer
    from chalicelib.consumers import parse_queue_item
    pointer = OffloadPointer(account_id=account.account_id, message_id=accepted["id"],
                             offload_key=f"scheduled/{account.account_id}/{accepted['id']}.json")
    assert isinstance(parse_queue_item(pointer.model_dump_json()), OffloadPointer)
    from chalicelib.clock import utcnow
    with pytest.raises(RetryableFailure):
        wiring.container().send_worker.process(pointer, utcnow())
    assert _ses_sent() == [] and _status(api, account, accepted["id"]) == "scheduled"
    outcome = wiring.container().send_worker.process(pointer, due + timedelta(seconds=1))
    assert outcome.result == "sent" and len(_ses_sent()) == 1


def test_cancelled_email_never_sends_and_its_content_is_gone(api, account, stack,
                                                             monkeypatch) -> None:
    due = datetime.now(UTC) + timedelta(hours=1)
    accepted = api.post("/v1/emails", _email(account, scheduled_at=due.isoformat()),
                        key=account.api_key).json
    cancelled = api.post(f"/v1/emails/{accepted['id']}/cancel", key=account.api_key)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    s3 = stack.client("s3")
    assert s3.list_objects_v2(Bucket=stack.env["LETTERBOX_BUCKET_NAME"]).get("KeyCount") == 0
    assert _sweep_at(monkeypatch, due)["queued"] == 0
    from chalicelib.email_models import OffloadPointer
    stale = OffloadPointer(account_id=account.account_id, message_id=accepted["id"],
                           offload_key=f"scheduled/{account.account_id}/{accepted['id']}.json")
    assert wiring.container().send_worker.process(stale, due).result == "skipped"
    assert _ses_sent() == []
    again = api.post(f"/v1/emails/{accepted['id']}/cancel", key=account.api_key)
    assert again.status_code == 409


def test_reschedule_moves_the_send_and_old_records_go_stale(api, account, monkeypatch) -> None:
    due = datetime.now(UTC) + timedelta(hours=1)
    accepted = api.post("/v1/emails", _email(account, scheduled_at=due.isoformat()),
                        key=account.api_key).json
    later = due + timedelta(hours=3)
    moved = api.request("PATCH", f"/v1/emails/{accepted['id']}",
                        {"scheduled_at": later.isoformat()}, key=account.api_key)
    assert moved.status_code == 200
    assert moved.json["scheduled_at"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
    assert _sweep_at(monkeypatch, due)["queued"] == 0
    assert _sweep_at(monkeypatch, later - timedelta(minutes=1))["queued"] == 1


def test_suppressed_recipients_are_skipped_without_an_ses_call(api, account, drain) -> None:
    added = api.post("/v1/suppressions", {"email": "Blocked@Example.net"}, key=account.api_key)
    assert added.status_code == 201 and added.json["reason"] == "manual"
    only = api.post("/v1/emails", _email(account, to="blocked@example.net"),
                    key=account.api_key).json
    mixed = api.post("/v1/emails", _email(account, to=["blocked@example.net", "ok@example.net"]),
                     key=account.api_key).json
    drain()
    detail = api.get(f"/v1/emails/{only['id']}", key=account.api_key).json
    assert detail["status"] == "suppressed"
    assert [e["type"] for e in detail["events"]] == ["queued", "suppressed", "suppressed"]
    assert detail["events"][1]["recipient"] == "blocked@example.net"
    (sent,) = _ses_sent()
    assert sent.destinations == ["ok@example.net"] or "ok@example.net" in sent.destinations
    assert _status(api, account, mixed["id"]) == "sent"
    listed = api.get("/v1/suppressions", key=account.api_key).json["data"]
    assert [s["email"] for s in listed] == ["blocked@example.net"]
    removed = api.request("DELETE", "/v1/suppressions/blocked%40example.net",
                          key=account.api_key)
    assert removed.status_code == 200
    assert api.get("/v1/suppressions", key=account.api_key).json["data"] == []


def test_marketing_scope_still_allows_transactional(api, account, drain) -> None:
    api.post("/v1/suppressions", {"email": "m@example.net", "scope": "marketing"},
             key=account.api_key)
    receipt = api.post("/v1/emails", _email(account, to="m@example.net"),
                       key=account.api_key).json
    news = api.post("/v1/emails", _email(account, to="m@example.net", stream="marketing"),
                    key=account.api_key).json
    drain()
    assert _status(api, account, receipt["id"]) == "sent"
    assert _status(api, account, news["id"]) == "suppressed"


def test_one_click_unsubscribe_suppresses_marketing(api, account, drain, tmp_path) -> None:
    news = api.post("/v1/emails", _email(account, to="fan@example.net", stream="marketing"),
                    key=account.api_key).json
    drain()
    parsed = _eml(tmp_path, news["id"])
    raw = (tmp_path / "outbox" / f"{news['id']}.eml").read_bytes()
    import dkim
    h_tags = dkim.DKIM(raw)
    h_tags.verify(dnsfunc=lambda name, timeout=5: None)
    signed_header_list = raw.split(b"h=", 1)[1].split(b";", 1)[0].replace(b"\r\n", b"")
    assert b"list-unsubscribe" in signed_header_list
    assert b"list-unsubscribe-post" in signed_header_list
    url = parsed["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    assert url.startswith("https://api.letterbox.example/u/")
    path = url.removeprefix("https://api.letterbox.example")
    page = api.get(path)
    assert page.status_code == 200 and b"<form method=post" in page.body
    assert _status(api, account, news["id"]) == "sent", "a GET changes nothing"
    clicked = api.post(path, raw="List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert clicked.status_code == 200 and b"unsubscribed" in clicked.body
    events = api.get(f"/v1/emails/{news['id']}", key=account.api_key).json["events"]
    assert events[-1]["type"] == "unsubscribed"
    (entry,) = api.get("/v1/suppressions", key=account.api_key).json["data"]
    assert entry == {**entry, "email": "fan@example.net", "reason": "unsubscribe",
                     "scope": "marketing"}
    again = api.post("/v1/emails", _email(account, to="fan@example.net", stream="marketing"),
                     key=account.api_key).json
    drain()
    assert _status(api, account, again["id"]) == "suppressed"


def test_tampered_unsubscribe_token_is_404(api, account) -> None:
    forged = api.post("/u/eyJhIjoiYWNjdF94In0.AAAA", raw="List-Unsubscribe=One-Click",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert forged.status_code == 404
    assert api.get("/u/garbage").status_code == 404
    assert api.get("/v1/suppressions", key=account.api_key).json["data"] == []


def test_marketing_needs_exactly_one_recipient(api, account) -> None:
    response = api.post("/v1/emails", _email(account, to=["a@example.net", "b@example.net"],
                                             stream="marketing"), key=account.api_key)
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "to"


def test_rate_limit_answers_429_with_headers(api, account, monkeypatch) -> None:
    _settings(monkeypatch, rate_limit_per_second=2)
    moment = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    monkeypatch.setattr("chalicelib.api.edge.utcnow", lambda: moment)
    first = api.get("/v1/suppressions", key=account.api_key)
    assert first.headers["ratelimit-limit"] == "2" and first.headers["ratelimit-remaining"] == "1"
    api.get("/v1/suppressions", key=account.api_key)
    third = api.get("/v1/suppressions", key=account.api_key)
    assert third.status_code == 429 and third.json["error"]["code"] == "rate_limited"
    assert third.headers["retry-after"] == "1" and third.headers["ratelimit-remaining"] == "0"
    monkeypatch.setattr("chalicelib.api.edge.utcnow", lambda: moment + timedelta(seconds=1))
    assert api.get("/v1/suppressions", key=account.api_key).status_code == 200


def test_daily_quota_is_all_or_nothing(api, account, monkeypatch) -> None:
    _settings(monkeypatch, daily_quota=3)
    two = [_email(account, to=f"q{i}@example.net") for i in range(2)]
    assert api.post("/v1/emails/batch", {"emails": two}, key=account.api_key).json["accepted"] == 2
    over = api.post("/v1/emails/batch", {"emails": two}, key=account.api_key)
    assert over.status_code == 429 and "quota" in over.json["error"]["message"]
    assert int(over.headers["retry-after"]) > 0
    assert api.post("/v1/emails", _email(account), key=account.api_key).status_code == 202

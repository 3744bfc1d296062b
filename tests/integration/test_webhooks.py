"""Customer webhooks: Standard Webhooks signatures, SSRF refusal, retries then disabling."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from standardwebhooks import Webhook

import app as app_module
from chalicelib import wiring
from chalicelib.adapters.webhook_http import BlockedDestination, PinnedPoster
from chalicelib.webhook_models import WebhookDelivery
from chalicelib.webhooks import RETRY_SCHEDULE
from letterbox.local.pump import drain_once


class Receiver:
    """A customer endpoint on loopback: records what it gets, answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()


def _drain_webhooks(stack) -> int:
    sqs = stack.client("sqs")
    total = 0
    while count := drain_once(sqs, stack.env["LETTERBOX_WEBHOOK_QUEUE_URL"],
                              app_module.deliver_webhooks, "deliver_webhooks"):
        total += count
    return total


def _create(api, account, url: str, **fields) -> dict:
    response = api.post("/v1/webhooks", {"url": url, **fields}, key=account.api_key)
    assert response.status_code == 201, response.json
    return response.json


def test_events_arrive_signed_and_verify_with_standardwebhooks(api, account, drain, stack,
                                                               receiver) -> None:
    hook = _create(api, account, receiver.url, event_types=["email.sent"])
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in json.dumps(api.get("/v1/webhooks", key=account.api_key).json)
    email_id = api.post("/v1/emails", {"from": f"hi@{account.domain}", "to": "a@example.net",
                                       "subject": "s", "text": "t"}, key=account.api_key).json["id"]
    drain()
    assert _drain_webhooks(stack) == 1, "only email.sent matches the filter"
    ((headers, body),) = receiver.received
    payload = Webhook(hook["secret"]).verify(body, headers)
    assert payload["type"] == "email.sent" and payload["data"]["email_id"] == email_id
    assert headers["webhook-signature"].startswith("v1,")
    assert "raw" not in payload["data"]["data"]
    from standardwebhooks.webhooks import WebhookVerificationError
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(body.replace(b"sent", b"sEnt"), headers)
    attempts = api.get(f"/v1/webhooks/{hook['id']}/attempts", key=account.api_key).json["data"]
    assert attempts[0]["ok"] is True and attempts[0]["status_code"] == 200


def test_rotation_signs_with_both_secrets_during_overlap(api, account, stack, receiver) -> None:
    hook = _create(api, account, receiver.url)
    rotated = api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", key=account.api_key).json
    assert rotated["secret"] != hook["secret"]
    api.post(f"/v1/webhooks/{hook['id']}/test", key=account.api_key)
    _drain_webhooks(stack)
    ((headers, body),) = receiver.received
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated["secret"]):
        assert Webhook(secret).verify(body, headers)["type"] == "webhook.test"


@pytest.mark.parametrize("url", ["https://10.0.0.1/hook", "https://127.0.0.1/hook",
                                 "https://169.254.169.254/latest/meta-data",
                                 "https://[::1]/hook", "https://localhost/hook"])
def test_private_addresses_are_refused_outside_local_mode(url) -> None:
    with pytest.raises(BlockedDestination):
        PinnedPoster(allow_loopback_http=False).post(url, b"{}", {})


def test_plain_http_is_refused_outside_local_mode(api, account, monkeypatch) -> None:
    monkeypatch.setenv("LETTERBOX_LOCAL_MODE", "false")
    wiring.reset()
    response = api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hooks"}, key=account.api_key)
    assert response.status_code == 422 and response.json["error"]["details"][0]["field"] == "url"
    bad_type = api.post("/v1/webhooks", {"url": "https://hooks.example.com/x",
                                         "event_types": ["email.nope"]}, key=account.api_key)
    assert bad_type.status_code == 422


class RecordingQueue:
    """Holds what would go on the webhook queue, with its delay, so the test can move time."""

    def __init__(self) -> None:
        self.records: list[tuple[WebhookDelivery, int]] = []

    def enqueue(self, command, delay_seconds: int = 0) -> str:
        self.records.append((command, delay_seconds))
        return "id"

    def enqueue_many(self, commands) -> list:
        return [self.enqueue(c, d) for c, d in commands]


def test_failing_endpoint_retries_on_schedule_then_is_disabled(api, account, receiver) -> None:
    receiver.status = 500
    queue = RecordingQueue()
    wiring.use(webhook_queue=queue)
    hook = _create(api, account, receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", key=account.api_key)
    deliverer = wiring.container().webhook_deliverer
    now = datetime.now(UTC)
    outcomes, tried_at = [], []
    while queue.records:
        delivery, delay = queue.records.pop(0)
        assert delay <= 900, "SQS delays stop at 15 minutes; longer waits hop"
        now += timedelta(seconds=delay)  # as SQS would hold the record back
        outcome = deliverer.deliver(delivery, now)
        if outcome != "waiting":
            outcomes.append(outcome)
            tried_at.append(int(now.timestamp()))
    gaps = [b - a for a, b in itertools.pairwise(tried_at)]
    assert gaps == list(RETRY_SCHEDULE)
    assert sum(RETRY_SCHEDULE) / 3600 > 24, "about a day of retries"
    assert outcomes.count("retrying") == len(RETRY_SCHEDULE) and outcomes[-1] == "disabled"
    assert len(receiver.received) == len(RETRY_SCHEDULE) + 1
    shown = api.get(f"/v1/webhooks/{hook['id']}", key=account.api_key).json
    assert shown["status"] == "disabled" and "failed deliveries" in shown["disabled_reason"]
    attempts = api.get(f"/v1/webhooks/{hook['id']}/attempts", key=account.api_key).json["data"]
    assert len(attempts) == len(RETRY_SCHEDULE) + 1 and not any(a["ok"] for a in attempts)
    reenabled = api.request("PATCH", f"/v1/webhooks/{hook['id']}", {"enabled": True},
                            key=account.api_key).json
    assert reenabled["status"] == "enabled" and reenabled["disabled_reason"] is None


def test_webhooks_are_private_to_their_account(api, account, other_account, receiver) -> None:
    hook = _create(api, account, receiver.url)
    for method, path in (("GET", f"/v1/webhooks/{hook['id']}"),
                         ("DELETE", f"/v1/webhooks/{hook['id']}"),
                         ("POST", f"/v1/webhooks/{hook['id']}/test")):
        assert api.request(method, path, key=other_account.api_key).status_code == 404
    assert api.get("/v1/webhooks", key=other_account.api_key).json["data"] == []


def test_blocked_delivery_is_logged_as_a_failed_attempt(api, account, stack, monkeypatch) -> None:
    hook = _create(api, account, "https://hooks.example.com/x")
    monkeypatch.setattr("chalicelib.adapters.webhook_http.resolve_public",
                        lambda host, port, allow: (_ for _ in ()).throw(
                            BlockedDestination(f"{host} resolves to a non-public address")))
    api.post(f"/v1/webhooks/{hook['id']}/test", key=account.api_key)
    _drain_webhooks(stack)
    (attempt,) = api.get(f"/v1/webhooks/{hook['id']}/attempts", key=account.api_key).json["data"]
    assert attempt["ok"] is False and attempt["error"].startswith("blocked")


@pytest.mark.parametrize("url", [
    "https://[64:ff9b::a9fe:a9fe]/latest", "https://[2002:a00:1::]/x", "https://[::10.0.0.1]/x",
    "https://[::ffff:169.254.169.254]/x", "https://2852039166/latest", "https://0xa9.254.169.254/",
    "https://0251.0376.0251.0376/", "https://169.254.169.254./", "https://localhost./x",
    "https://metadata.localhost/x", "https://user:pw@hooks.example.com/x", "https://[zz]/x",
    "https://hooks.example.com:99999/x",
])
def test_non_public_webhook_urls_are_refused_at_creation(api, account, monkeypatch,
                                                         url) -> None:
    """Issue 14, item 5: creation only looked at the scheme."""
    monkeypatch.setenv("LETTERBOX_LOCAL_MODE", "false")
    wiring.reset()
    response = api.post("/v1/webhooks", {"url": url}, key=account.api_key)
    assert response.status_code == 422 and response.json["error"]["details"][0]["field"] == "url"


def test_local_mode_still_takes_http_on_loopback(api, account) -> None:
    response = api.post("/v1/webhooks", {"url": "http://127.0.0.1:8123/hooks"},
                        key=account.api_key)
    assert response.status_code == 201
    assert api.post("/v1/webhooks", {"url": "http://10.0.0.1:8123/hooks"},
                    key=account.api_key).status_code == 422

"""The official ``resend`` Python SDK, unchanged, against ``/resend``: every method docs/resend.md
marks supported, its exception classes, and a webhook its own verifier accepts.

The SDK's HTTP layer is bridged to ``chalice.test.Client`` (the same app object Lambda runs),
so what the SDK really sends (``{}`` bodies on GET/DELETE, bare arrays, its headers) and what
it really parses (``statusCode``/``name`` errors, content types) are exercised as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import resend
from resend import exceptions
from resend.http_client import HTTPClient

import app as app_module
from tests.integration.test_webhooks import Receiver, _drain_webhooks

BASE = "http://letterbox.test/resend"


class ChaliceBridge(HTTPClient):
    """The SDK's HTTP client interface, answered in-process by the app."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.sent: list[tuple[str, str, dict[str, str], Any]] = []

    def request(self, method: str, url: str, headers: Any, json: Any = None,
                files: Any = None, data: Any = None) -> tuple[bytes, int, dict[str, str]]:
        import json as json_module
        path = url.removeprefix("http://letterbox.test")
        body: Any = json_module.dumps(json) if json is not None else ""
        sent = {**headers, "Content-Type": "application/json"}
        if files is not None:  # Contacts.Imports.create: multipart, as requests would send it
            from urllib3.filepost import encode_multipart_formdata
            body, content_type = encode_multipart_formdata({**(data or {}), **files})
            sent["Content-Type"] = content_type
        self.sent.append((method.upper(), path, dict(headers), json))
        raw = self.client.http.request(method.upper(), path, headers=sent, body=body)
        return raw.body or b"", raw.status_code, dict(raw.headers)


@pytest.fixture
def sdk(stack, account) -> Iterator[ChaliceBridge]:
    from chalice.test import Client

    from tests.conftest import ROOT
    with Client(app_module.app, stage_name="dev", project_dir=str(ROOT)) as client:
        bridge = ChaliceBridge(client)
        saved = (resend.api_key, resend.api_url, resend.default_http_client)
        resend.api_key, resend.api_url, resend.default_http_client = (account.api_key, BASE,
                                                                      bridge)
        try:
            yield bridge
        finally:
            resend.api_key, resend.api_url, resend.default_http_client = saved


def _email(account: Any, **fields: Any) -> dict[str, Any]:
    return {"from": f"Acme <hi@{account.domain}>", "to": ["a@example.net"], "subject": "Hi",
            "html": "<p>Hello</p>", **fields}


def test_send_get_list_with_rate_limit_headers(sdk, account, drain) -> None:
    """Bug caught: a send answered in our shape ({"status": …}, 202 without ``id`` at the top),
    an email object without ``object``/``last_event``, or a list without Resend's envelope."""
    sent = resend.Emails.send(_email(account, tags=[{"name": "kind", "value": "welcome"}]))
    assert sent["id"].startswith("em_")
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= {
        k.lower() for k in sent["http_headers"]}
    drain()
    email = resend.Emails.get(sent["id"])
    assert email["object"] == "email" and email["id"] == sent["id"]
    assert email["last_event"] == "sent" and email["to"] == ["a@example.net"]
    assert email["from"] == f"Acme <hi@{account.domain}>" and email["subject"] == "Hi"
    listed = resend.Emails.list({"limit": 10})
    assert listed["object"] == "list" and listed["has_more"] is False
    assert [e["id"] for e in listed["data"]] == [sent["id"]]


def test_idempotency_key_replays_the_first_send(sdk, account) -> None:
    """Bug caught: ``Idempotency-Key`` ignored on /resend, so an SDK retry sends twice."""
    first = resend.Emails.send(_email(account), {"idempotency_key": "order-42"})
    again = resend.Emails.send(_email(account), {"idempotency_key": "order-42"})
    assert again["id"] == first["id"]
    with pytest.raises(exceptions.ResendError) as caught:
        resend.Emails.send(_email(account, subject="other"), {"idempotency_key": "order-42"})
    assert caught.value.code == 409 and caught.value.error_type == "invalid_idempotent_request"


def test_schedule_update_and_cancel(sdk, account) -> None:
    """Bug caught: the SDK's PATCH body (which echoes ``id``) refused as an unknown field, or
    cancel/update answering without the ``object``/``id`` the SDK returns."""
    later = datetime.now(UTC) + timedelta(hours=2)
    sent = resend.Emails.send(_email(account, scheduled_at=later.isoformat()))
    assert resend.Emails.get(sent["id"])["last_event"] == "scheduled"
    moved = resend.Emails.update({"id": sent["id"],
                                  "scheduled_at": (later + timedelta(hours=1)).isoformat()})
    assert moved == {"object": "email", "id": sent["id"], "http_headers": moved["http_headers"]}
    cancelled = resend.Emails.cancel(sent["id"])
    assert cancelled["id"] == sent["id"]
    assert resend.Emails.get(sent["id"])["last_event"] == "canceled"


def test_batch_strict_refuses_everything_permissive_sends_the_valid(sdk, account) -> None:
    """Bug caught: strict mode sending the valid half of a bad batch, or permissive mode
    dropping the per-item errors the SDK returns."""
    good, bad = _email(account), _email(account, to=["not an address"])
    with pytest.raises(exceptions.ValidationError) as caught:
        resend.Batch.send([good, bad])
    assert "emails[1]" in caught.value.message
    assert resend.Emails.list()["data"] == [], "strict mode sent nothing"
    result = resend.Batch.send([good, bad], {"batch_validation": "permissive"})
    assert len(result["data"]) == 1 and result["errors"][0]["index"] == 1
    assert [h for h in sdk.sent if h[1] == "/resend/emails/batch"][-1][2][
        "x-batch-validation"] == "permissive"
    assert len(resend.Batch.send([good, good])["data"]) == 2


def test_errors_raise_the_sdk_exception_classes(sdk, account, monkeypatch) -> None:
    """Bug caught: errors in our ``{"error": …}`` shape, which the SDK turns into a generic
    ResendError with "Unknown error", or a 401 where Resend answers 403 invalid_api_key."""
    with pytest.raises(exceptions.ValidationError):
        resend.Emails.send(_email(account, to=[]))
    with pytest.raises(exceptions.ResendError) as missing:
        resend.Emails.get("em_01JZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.value.code == 404 and missing.value.error_type == "not_found"
    monkeypatch.setattr(resend, "api_key", "lb_nope_nope")
    with pytest.raises(exceptions.InvalidApiKeyError) as invalid:
        resend.Domains.list()
    assert invalid.value.code == 403
    body, status, _ = sdk.request("get", f"{BASE}/domains", {})
    assert status == 401 and json.loads(body)["name"] == "missing_api_key"


def test_rate_limit_raises_rate_limit_error_with_retry_after(sdk, account, monkeypatch) -> None:
    """Bug caught: a 429 without Resend's ``rate_limit_exceeded`` name or ``retry-after``."""
    from chalicelib import wiring
    monkeypatch.setenv("LETTERBOX_RATE_LIMIT_PER_SECOND", "1")
    wiring.reset()
    with pytest.raises(exceptions.RateLimitError) as caught:
        for _ in range(5):
            resend.Domains.list()
    assert caught.value.code == 429
    assert "retry-after" in {k.lower() for k in caught.value.headers}


def test_domains_lifecycle(sdk, account) -> None:
    """Bug caught: domain records in our vocabulary (``purpose``) instead of Resend's
    ``record``/``priority``, or remove answering without ``deleted``."""
    created = resend.Domains.create({"name": "news.acme.test", "open_tracking": True})
    assert created["name"] == "news.acme.test" and created["status"] == "not_started"
    kinds = {(r["record"], r["type"]) for r in created["records"]}
    assert {("DKIM", "TXT"), ("SPF", "MX"), ("SPF", "TXT")} <= kinds
    assert next(r for r in created["records"] if r["type"] == "MX")["priority"] == 10
    got = resend.Domains.get(created["id"])
    assert got["object"] == "domain" and got["open_tracking"] is True
    assert resend.Domains.update({"id": created["id"], "click_tracking": True})["id"] == \
        created["id"]
    assert resend.Domains.get(created["id"])["click_tracking"] is True
    assert resend.Domains.verify(created["id"])["id"] == created["id"]
    assert {d["name"] for d in resend.Domains.list()["data"]} == {account.domain,
                                                                   "news.acme.test"}
    removed = resend.Domains.remove(created["id"])
    assert removed["deleted"] is True and removed["id"] == created["id"]
    with pytest.raises(exceptions.ResendError) as gone:
        resend.Domains.get(created["id"])
    assert gone.value.code == 404


def test_api_keys_with_sending_access_and_domain_limit(sdk, account, other_account) -> None:
    """Bug caught: ``sending_access`` keys able to manage domains, a ``domain_id`` limit not
    enforced on send, or one account removing another account's key."""
    full = resend.ApiKeys.create({"name": "ci"})
    assert full["token"].startswith("lb_")
    limited = resend.ApiKeys.create({"name": "app", "permission": "sending_access",
                                     "domain_id": account.domain_id})
    ids = {k["id"] for k in resend.ApiKeys.list()["data"]}
    assert {full["id"], limited["id"]} <= ids
    resend.api_key = limited["token"]
    assert resend.Emails.send(_email(account))["id"].startswith("em_")
    with pytest.raises(exceptions.ResendError) as refused:
        resend.Emails.send(_email(account, **{"from": "hi@elsewhere.example"}))
    assert refused.value.code in (403, 422)
    with pytest.raises(exceptions.ResendError) as restricted:
        resend.Domains.list()
    assert restricted.value.error_type == "restricted_api_key"
    resend.api_key = other_account.api_key
    with pytest.raises(exceptions.ResendError) as foreign:
        resend.ApiKeys.remove(limited["id"])
    assert foreign.value.code == 404
    resend.api_key = account.api_key
    assert resend.ApiKeys.remove(limited["id"])["deleted"] is True
    assert limited["id"] not in {k["id"] for k in resend.ApiKeys.list()["data"]}
    resend.api_key = limited["token"]
    with pytest.raises(exceptions.InvalidApiKeyError):
        resend.Emails.send(_email(account))


def test_webhooks_crud_and_rotation(sdk, account) -> None:
    """Bug caught: Resend event names refused (``email.delivery_delayed``), or webhook objects
    without ``endpoint``/``events``."""
    created = resend.Webhooks.create({"endpoint": "https://hooks.example.com/r",
                                      "events": ["email.delivered", "email.delivery_delayed"]})
    assert created["signing_secret"].startswith("whsec_")
    got = resend.Webhooks.get(created["id"])
    assert got["endpoint"] == "https://hooks.example.com/r"
    assert got["events"] == ["email.delivered", "email.delivery_delayed"]
    resend.Webhooks.update({"webhook_id": created["id"], "events": ["email.bounced"],
                            "status": "disabled"})
    got = resend.Webhooks.get(created["id"])
    assert got["events"] == ["email.bounced"] and got["status"] == "disabled"
    assert [h["id"] for h in resend.Webhooks.list()["data"]] == [created["id"]]
    rotated = resend.Webhooks.rotate_signing_secret(created["id"])
    assert rotated["signing_secret"] != created["signing_secret"]
    assert resend.Webhooks.remove(created["id"])["deleted"] is True
    with pytest.raises(exceptions.ValidationError):
        resend.Webhooks.create({"endpoint": "https://hooks.example.com/r",
                                "events": ["email.teleported"]})


def test_resend_webhook_delivery_verifies_with_the_sdk(sdk, account, stack, drain) -> None:
    """Bug caught: Resend endpoints signed with ``webhook-*`` headers (the SDK's verifier wants
    ``svix-*``) or sent our payload shape instead of Resend's ``type``/``created_at``/``data``;
    and /v1 endpoints switched to Svix by mistake."""
    receiver = Receiver()
    try:
        hook = resend.Webhooks.create({"endpoint": receiver.url, "events": ["email.sent"]})
        sent = resend.Emails.send(_email(account))
        drain()
        assert _drain_webhooks(stack) == 1
        ((headers, body),) = receiver.received
        assert "webhook-signature" not in headers
        event = resend.Webhooks.verify({
            "payload": body.decode(), "webhook_secret": hook["signing_secret"],
            "headers": {"id": headers["svix-id"], "timestamp": headers["svix-timestamp"],
                        "signature": headers["svix-signature"]}})
        assert event["type"] == "email.sent" and event["data"]["email_id"] == sent["id"]
        assert "created_at" in event and "created_at" in event["data"]
    finally:
        receiver.server.shutdown()


def test_list_pages_with_after(sdk, account) -> None:
    """Bug caught: ``has_more`` always false, or ``after`` ignored so a second page repeats
    the first (the SDK passes ``limit``/``after`` as query parameters)."""
    ids = {resend.Emails.send(_email(account))["id"] for _ in range(3)}
    first = resend.Emails.list({"limit": 2})
    assert first["has_more"] is True and len(first["data"]) == 2
    second = resend.Emails.list({"limit": 2, "after": first["next_cursor"]})
    assert second["has_more"] is False
    assert {e["id"] for e in first["data"] + second["data"]} == ids


def test_api_key_names_are_stored_and_renamed(sdk, account, other_account) -> None:
    """Bug caught: ``name`` dropped at create (the list shows a hint instead), ApiKeys.update
    unmapped, or one account renaming another account's (or a revoked) key."""
    made = resend.ApiKeys.create({"name": "ci"})
    names = {k["id"]: k["name"] for k in resend.ApiKeys.list()["data"]}
    assert names[made["id"]] == "ci"
    renamed = resend.ApiKeys.update({"id": made["id"], "name": "deploys"})
    assert renamed["id"] == made["id"] and renamed["object"] == "api_key"
    assert {k["id"]: k["name"] for k in resend.ApiKeys.list()["data"]}[made["id"]] == "deploys"
    with pytest.raises(exceptions.ValidationError):
        resend.ApiKeys.update({"id": made["id"], "name": ""})
    resend.api_key = other_account.api_key
    with pytest.raises(exceptions.ResendError) as foreign:
        resend.ApiKeys.update({"id": made["id"], "name": "mine"})
    assert foreign.value.code == 404
    resend.api_key = account.api_key
    resend.ApiKeys.remove(made["id"])
    with pytest.raises(exceptions.ResendError) as revoked:
        resend.ApiKeys.update({"id": made["id"], "name": "again"})
    assert revoked.value.code == 404

"""The send path end to end under moto: API → SQS → worker → SES → status and timeline."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

from tests.conftest import ApiClient


def _send(api: ApiClient, key: str, domain: str, **overrides: object) -> dict:
    body = {"from": f"Acme <hello@{domain}>", "to": ["success@simulator.amazonses.com"],
            "subject": "Welcome, Zoë", "html": "<p>Hi <b>there</b> — café</p>",
            **overrides}
    response = api.post("/v1/emails", body, key=key)
    assert response.status_code == 202, response.json
    return response.json


def test_send_reaches_sent_with_timeline_and_outbox(api, account, drain, tmp_path) -> None:
    accepted = _send(api, account.api_key, account.domain, cc=["cc@example.net"],
                     bcc=["hidden@example.net"], reply_to="support@example.net")
    assert accepted["id"].startswith("em_") and accepted["status"] == "queued"

    queued = api.get(f"/v1/emails/{accepted['id']}", key=account.api_key).json
    assert queued["status"] == "queued"
    assert [e["type"] for e in queued["events"]] == ["queued"]

    assert drain() == 1
    sent = api.get(f"/v1/emails/{accepted['id']}", key=account.api_key).json
    assert sent["status"] == "sent"
    assert [e["type"] for e in sent["events"]] == ["queued", "sent"]
    assert sent["events"][1]["data"]["ses_message_id"]
    assert sent["bcc"] == ["hidden@example.net"]

    raw = (tmp_path / "outbox" / f"{accepted['id']}.eml").read_bytes()
    assert raw.isascii(), "SES must get 7-bit MIME"
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Welcome, Zoë"
    assert parsed["Cc"] == "cc@example.net"
    assert parsed["Reply-To"] == "support@example.net"
    assert "Bcc" not in parsed, "Bcc recipients must never appear in the headers"
    text = parsed.get_body(("plain",)).get_content()
    assert "Hi there — café" in text, "text part is derived from html when absent"
    assert "café" in parsed.get_body(("html",)).get_content()


def test_ses_receives_every_recipient_including_bcc(api, account, drain, stack) -> None:
    accepted = _send(api, account.api_key, account.domain, to=["a@example.net"],
                     cc=["b@example.net"], bcc=["c@example.net"])
    drain()
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert len(sent) == 1
    assert {"a@example.net", "b@example.net", "c@example.net"} <= set(sent[0].destinations)
    assert accepted["id"] in sent[0].raw_data


def test_message_log_never_stores_the_body(api, account, drain, stack) -> None:
    _send(api, account.api_key, account.domain, html="<p>SECRET-BODY-MARKER</p>",
          text="SECRET-BODY-MARKER")
    drain()
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    assert items and "SECRET-BODY-MARKER" not in str(items)


def test_every_stored_item_carries_its_retention_class(api, account, drain, stack) -> None:
    _send(api, account.api_key, account.domain)
    drain()
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    for item in items:
        assert "retention_class" in item, item["pk"]
        if item["sk"]["S"].startswith("EM#"):
            assert "expires_at" in item and "expiry_bucket" in item, item["sk"]


def test_from_on_unverified_domain_is_refused(api, account) -> None:
    response = api.post("/v1/emails", {"from": "x@not-ours.example.com", "to": "a@example.net",
                                       "subject": "s", "text": "t"}, key=account.api_key)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "domain_not_verified"


def test_from_on_another_accounts_domain_is_refused(api, account, other_account) -> None:
    response = api.post("/v1/emails", {"from": f"x@{other_account.domain}", "to": "a@example.net",
                                       "subject": "s", "text": "t"}, key=account.api_key)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "domain_not_verified"


def test_another_accounts_email_is_not_found(api, account, other_account) -> None:
    accepted = _send(api, account.api_key, account.domain)
    response = api.get(f"/v1/emails/{accepted['id']}", key=other_account.api_key)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    missing = api.get("/v1/emails/em_01ARZ3NDEKTSV4RRFFQ69G5FAV", key=account.api_key)
    assert missing.json == {"error": {"code": "not_found",
                                      "message": "no email em_01ARZ3NDEKTSV4RRFFQ69G5FAV"}}
    assert response.json["error"]["message"].replace(accepted["id"], "X") == \
        missing.json["error"]["message"].replace("em_01ARZ3NDEKTSV4RRFFQ69G5FAV", "X")


def test_local_outbox_is_not_written_without_the_setting(api, account, drain, tmp_path,
                                                         monkeypatch) -> None:
    from chalicelib import wiring
    monkeypatch.delenv("LETTERBOX_OUTBOX_DIR")
    wiring.reset()
    accepted = _send(api, account.api_key, account.domain)
    drain()
    assert not Path(tmp_path / "outbox" / f"{accepted['id']}.eml").exists()

"""The whole email flow for one address, as the privacy tests need it: sent (tracked, with an
Idempotency-Key), a second one scheduled (content in S3), delivered, opened, clicked,
bounced and so suppressed; every event through the real handlers."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from chalicelib.clock import iso, utcnow
from letterbox.local.simulator import LocalSnsSigner

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ses"
ADDRESS = "recipient@example.net"  # the address the SES fixtures carry
BODY_MARK = "Quokka-sunrise-7741"  # body text that must never be stored or logged


def ses_fixture(name: str, email_id: str, account_id: str) -> dict[str, Any]:
    text = (FIXTURES / f"{name}.json").read_text()
    return json.loads(text.replace("EM_ID", email_id).replace("ACCOUNT_ID", account_id))


def scan(stack: Any, table_env: str) -> list[dict[str, Any]]:
    """Every item of a table, for tests that prove what is (not) stored anywhere."""
    client, items, start = stack.client("dynamodb"), [], None
    while True:
        page = client.scan(TableName=stack.env[table_env],
                           **({"ExclusiveStartKey": start} if start else {}))
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def dump(value: Any) -> str:
    """JSON text of scanned items, binary attributes (ciphertexts) included as latin-1."""
    return json.dumps(value, default=lambda b: bytes(b).decode("latin-1"))


def bucket_objects(stack: Any) -> dict[str, bytes]:
    s3, bucket = stack.client("s3"), stack.env["LETTERBOX_BUCKET_NAME"]
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def full_flow(api: Any, account: Any, drain: Any, stack: Any, tmp_path: Path,
              monkeypatch: Any, address: str = ADDRESS) -> str:
    """Run the flow for ``address``; returns the sent email's id."""
    from chalicelib import wiring

    signer = LocalSnsSigner(tmp_path / "sns.pem")
    monkeypatch.setenv("LETTERBOX_SNS_LOCAL_CERT_FILE", str(tmp_path / "sns.pem"))
    wiring.reset()
    html = (f"<html><body><p>{BODY_MARK} <a href='https://example.com/offer'>offer</a>"
            "</p></body></html>")
    base = {"from": f"news@{account.domain}", "to": address, "subject": "Your offer",
            "html": html, "text": f"{BODY_MARK} https://example.com/offer"}
    sent = api.post("/v1/emails", {**base, "track_opens": True, "track_clicks": True},
                    key=account.api_key, headers={"Idempotency-Key": "privacy-flow-1"})
    assert sent.status_code == 202, sent.json
    scheduled = api.post("/v1/emails", {**base, "scheduled_at": iso(utcnow() + timedelta(days=2))},
                         key=account.api_key)
    assert scheduled.status_code == 202, scheduled.json
    drain()
    email_id = sent.json["id"]
    raw = (tmp_path / "outbox" / f"{email_id}.eml").read_text()
    raw = re.sub(r"=\r?\n", "", raw).replace("=3D", "=")
    pixel = re.search(r'https://api\.letterbox\.example(/t/o/[^"\'\s]+)', raw).group(1)
    click = re.search(r'https://api\.letterbox\.example(/t/c/[^"\'\s]+)', raw).group(1)
    assert api.get(pixel, headers={"Accept": "image/*"}).status_code == 200
    assert api.get(click).status_code == 302
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    for name in ("delivery", "bounce_permanent"):
        envelope = signer.envelope(topic, ses_fixture(name, email_id, account.account_id))
        posted = api.post("/webhooks/ses", raw=json.dumps(envelope),
                          headers={"Content-Type": "text/plain; charset=UTF-8"})
        assert posted.json["recorded"] == 1
    detail = api.get(f"/v1/emails/{email_id}", key=account.api_key).json
    kinds = {e["type"] for e in detail["events"]}
    assert {"queued", "sent", "delivered", "opened", "clicked", "bounced"} <= kinds, kinds
    suppressed = api.get("/v1/suppressions", key=account.api_key).json["data"]
    assert [s["email"] for s in suppressed] == [address]
    return str(email_id)

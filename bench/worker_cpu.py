"""Worker CPU per email: the real SendWorker path (MIME build, tracking rewrite, DKIM
signing, the SES call through a real boto3 client answered by botocore's Stubber), with the
DynamoDB-backed pieces replaced by in-memory fakes so only CPU is measured."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from typing import Any

from bench.dkim_rate import per_second
from chalicelib.ports import Claim
from chalicelib.adapters.ses import SesEmailSender
from chalicelib.send_worker import SendWorker
from chalicelib.dkim_signing import SigningKey, generate_key_pair
from chalicelib.email_models import SendCommand
from chalicelib.tokens import TokenSigner
from chalicelib.tracking.opens_clicks import TrackingService

PARAGRAPH = ('<p>Your order has shipped. <a href="https://shop.example/orders/42">Track it</a> '
             "any time from your account page.</p>\n")


class Messages:
    def claim(self, *args: Any, **kwargs: Any) -> Claim:
        return Claim.CLAIMED

    def release(self, *args: Any) -> None: ...

    def mark_sending(self, *args: Any) -> bool:
        return True

    def transition(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def record_events(self, *args: Any) -> None: ...


class Keyring:
    def __init__(self) -> None:
        self.keys = [SigningKey("lb1", "rsa-sha256", generate_key_pair("rsa-sha256").private)]

    def signing_keys(self, account_id: str, domain: str) -> list[SigningKey]:
        return self.keys

    def tracking_defaults(self, account_id: str, domain: str) -> tuple[bool, bool]:
        return True, True


class NoSuppressions:
    def suppressed(self, account_id: str, addresses: list[str], stream: str) -> set[str]:
        return set()


class NoContent:
    def get(self, key: str) -> bytes:
        raise AssertionError("the benchmark keeps content on the queue")

    def delete(self, key: str) -> None: ...


def _stubbed_ses() -> Any:
    import boto3
    from botocore.stub import ANY, Stubber
    client = boto3.session.Session().client(
        "sesv2", region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench")
    stubber = Stubber(client)
    stubber.activate()

    def arm() -> None:
        stubber.add_response("send_email", {"MessageId": "0100-bench"},
                             {"FromEmailAddress": ANY, "Destination": ANY, "Content": ANY,
                              "EmailTags": ANY, "ConfigurationSetName": ANY})
    client.arm = arm
    return client


def command(attachment_bytes: int = 0) -> SendCommand:
    fields: dict[str, Any] = {
        "account_id": "acct_bench", "message_id": "em_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "from": "Acme <orders@acme.example>", "to": ["customer@example.net"],
        "subject": "Your order has shipped", "html": PARAGRAPH * 40,
        "track_opens": True, "track_clicks": True}
    if attachment_bytes:
        fields["attachments"] = [{"filename": "invoice.pdf", "content_type": "application/pdf",
                                  "content": base64.b64encode(os.urandom(attachment_bytes))
                                  .decode()}]
    return SendCommand.model_validate(fields)


def run() -> dict[str, Any]:
    tokens = TokenSigner(lambda: b"bench-secret")
    ses = _stubbed_ses()
    worker = SendWorker(Messages(), SesEmailSender(ses, "letterbox"), Keyring(), NoContent(),
                        NoSuppressions(), tokens, "https://api.acme.example",
                        TrackingService(tokens, None, "https://api.acme.example"))  # type: ignore[arg-type]
    now = datetime.now(UTC)
    results: dict[str, Any] = {}
    for name, item in (("plain_5kb", command()), ("attachment_200kb", command(200_000))):
        def send(item: SendCommand = item) -> None:
            ses.arm()
            assert worker.process(item, now).result == "sent"
        rate = per_second(send, 2.0)
        results[f"{name}_per_s"] = rate
        results[f"{name}_cpu_ms"] = 1000 / rate
    sender = SesEmailSender(ses, "letterbox")
    raw = b"From: a@acme.example\r\n\r\n" + b"x" * 5000

    def ses_only() -> None:
        ses.arm()
        sender.send_raw("em_1", raw, "a@acme.example", ["b@example.net"], [])
    results["ses_call_cpu_ms"] = 1000 / per_second(ses_only, 1.0)
    return results


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:32} {value:10.2f}")

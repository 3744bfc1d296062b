"""Local mode's SES mailbox simulator: after each send, the events SES would publish, as SNS
notifications signed with a local certificate and posted to the real ``/webhooks/ses``.

success@ → Delivery; bounce@ → permanent Bounce; complaint@ → Delivery then Complaint;
suppressionlist@ → permanent Bounce (OnAccountSuppressionList); ooto@ → Delivery; anything
else → Delivery. ``success+label@`` behaves like ``success@``.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from chalicelib.adapters.https_fetch import LOCAL_CERT_URL
from chalicelib.ports import EmailSender
from chalicelib.tracking.sns import string_to_sign

SIMULATOR_DOMAIN = "simulator.amazonses.com"


class LocalSnsSigner:
    """A throwaway RSA key and self-signed certificate: trusted by this local stack only."""

    def __init__(self, cert_file: Path) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                .sign(self._key, hashes.SHA256()))
        cert_file.parent.mkdir(parents=True, exist_ok=True)
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def envelope(self, topic_arn: str, message: dict[str, Any]) -> dict[str, Any]:
        envelope = {"Type": "Notification", "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn, "Message": json.dumps(message),
                    "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "SignatureVersion": "2", "SigningCertURL": LOCAL_CERT_URL,
                    "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}
        signature = self._key.sign(string_to_sign(envelope), padding.PKCS1v15(),
                                   hashes.SHA256())
        envelope["Signature"] = base64.b64encode(signature).decode()
        return envelope


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def simulated_events(recipient: str, mail: dict[str, Any]) -> list[dict[str, Any]]:
    """The SES events (event-publishing shape) the simulator address stands for."""
    local, _, domain = recipient.lower().partition("@")
    behaviour = local.split("+", 1)[0] if domain == SIMULATOR_DOMAIN else "success"
    mail = {**mail, "destination": [recipient]}
    delivery = {"eventType": "Delivery", "mail": mail, "delivery": {
        "timestamp": _now(), "processingTimeMillis": 120, "recipients": [recipient],
        "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "local.letterbox"}}
    if behaviour in ("bounce", "suppressionlist"):
        subtype = "General" if behaviour == "bounce" else "OnAccountSuppressionList"
        return [{"eventType": "Bounce", "mail": mail, "bounce": {
            "bounceType": "Permanent", "bounceSubType": subtype, "timestamp": _now(),
            "feedbackId": str(uuid.uuid4()), "reportingMTA": "dsn; local.letterbox",
            "bouncedRecipients": [{"emailAddress": recipient, "action": "failed",
                                   "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}}]
    if behaviour == "complaint":
        return [delivery, {"eventType": "Complaint", "mail": mail, "complaint": {
            "complainedRecipients": [{"emailAddress": recipient}], "timestamp": _now(),
            "feedbackId": str(uuid.uuid4()), "complaintFeedbackType": "abuse",
            "userAgent": "local-simulator"}}]
    return [delivery]


class SimulatingSender:
    """Wraps the real sender; after SES accepts, queues the simulator's events for posting."""

    def __init__(self, inner: EmailSender, signer: LocalSnsSigner, topic_arn: str,
                 post: Callable[[dict[str, Any]], None]) -> None:
        self._inner = inner
        self._signer = signer
        self._topic = topic_arn
        self._post = post

    def send_raw(self, message_id: str, raw: bytes, sender: str, destinations: list[str],
                 tags: list[dict[str, str]] | None = None) -> str:
        ses_id = self._inner.send_raw(message_id, raw, sender, destinations, tags)
        mail = {"timestamp": _now(), "source": sender, "messageId": ses_id,
                "sendingAccountId": "123456789012",
                "tags": {"letterbox_id": [message_id],
                         **{t["name"]: [t["value"]] for t in tags or []}}}
        for recipient in destinations:
            for event in simulated_events(recipient, mail):
                self._post(self._signer.envelope(self._topic, event))
        return ses_id


class WebhookPoster(threading.Thread):
    """Posts envelopes to /webhooks/ses a moment later, as SNS would, in order."""

    def __init__(self, url: str, stop: threading.Event,
                 on_error: Callable[[BaseException], None], delay: float = 0.5) -> None:
        super().__init__(name="ses-simulator", daemon=True)
        self._url = url
        self._halt = stop
        self._on_error = on_error
        self._delay = delay
        self._pending: queue.Queue[dict[str, Any]] = queue.Queue()

    def post(self, envelope: dict[str, Any]) -> None:
        self._pending.put(envelope)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                envelope = self._pending.get(timeout=0.5)
            except queue.Empty:
                continue
            time.sleep(self._delay)
            request = urllib.request.Request(  # noqa: S310 - loopback, our own API
                self._url, data=json.dumps(envelope).encode(), method="POST",
                headers={"Content-Type": "text/plain; charset=UTF-8",
                         "x-amz-sns-message-type": "Notification"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    response.read()
            except Exception as err:  # keep simulating; the developer sees the error
                self._on_error(err)

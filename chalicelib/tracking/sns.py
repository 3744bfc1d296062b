"""Amazon SNS message verification (SignatureVersion 1 and 2), as AWS documents it.

The certificate URL must be https on ``sns.<region>.amazonaws.com`` (or ``.com.cn``) with the
path ``/SimpleNotificationService-<hex>.pem``; the
certificate is fetched through an injected function and cached; the topic must be allowed.
Anything else is refused before a single field of the message is trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.errors import Forbidden, MalformedRequest

# SNS's own regional endpoints only: a region name (us-east-1, us-gov-west-1, cn-north-1…),
# never another service's host such as sns.s3.amazonaws.com (a bucket anyone may own).
_SNS_HOST = re.compile(r"^sns\.(?:[a-z]{2}|us-gov|us-iso[a-z]?|eu-isoe)-[a-z]+-[0-9]{1,2}"
                       r"\.amazonaws\.com(?:\.cn)?$")
_CERT_PATH = re.compile(r"^/SimpleNotificationService-[0-9a-f]{8,64}\.pem$")
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1,
                                                           "2": hashes.SHA256}


@dataclass(frozen=True)
class SnsMessage:
    type: str
    message_id: str
    topic_arn: str
    message: str
    token: str | None = None


def string_to_sign(envelope: dict[str, Any]) -> bytes:
    """``Key\\nValue\\n`` for each signed field present, in AWS's order."""
    fields = _SIGNED_FIELDS[envelope["Type"]]
    return "".join(f"{key}\n{envelope[key]}\n" for key in fields
                   if envelope.get(key) is not None).encode()


def trusted_cert_url(url: str) -> bool:
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:  # a malformed port or bracketed host
        return False
    return (parsed.scheme == "https" and port is None and not parsed.query
            and not parsed.fragment and not parsed.username and not parsed.password
            and parsed.netloc == parsed.hostname
            and bool(_SNS_HOST.fullmatch(parsed.hostname or ""))
            and bool(_CERT_PATH.fullmatch(parsed.path)))


class SnsVerifier:
    def __init__(self, fetch_cert: Callable[[str], bytes], allowed_topics: set[str]) -> None:
        self._fetch = fetch_cert
        self._topics = allowed_topics
        self._certs: dict[str, rsa.RSAPublicKey] = {}

    def _public_key(self, url: str) -> rsa.RSAPublicKey:
        if url not in self._certs:
            key = x509.load_pem_x509_certificate(self._fetch(url)).public_key()
            if not isinstance(key, rsa.RSAPublicKey):
                raise Forbidden("SNS signing certificate is not RSA")
            self._certs[url] = key
        return self._certs[url]

    def from_queue(self, body: bytes | str) -> SnsMessage:
        """A notification SNS delivered to our own queue. Only the stack's topic may send
        there (the queue policy says so), so the topic is checked and no signature is."""
        envelope = self._envelope(body)
        if envelope.get("TopicArn") not in self._topics:
            raise Forbidden("SNS topic is not allowed")
        return SnsMessage(type=envelope["Type"], message_id=str(envelope.get("MessageId")),
                          topic_arn=envelope["TopicArn"], message=str(envelope.get("Message")),
                          token=envelope.get("Token"))

    @staticmethod
    def _envelope(body: bytes | str) -> dict[str, Any]:
        try:
            envelope = json.loads(body)
        except (ValueError, TypeError) as err:
            raise MalformedRequest("not an SNS message (invalid JSON)") from err
        if not isinstance(envelope, dict) or envelope.get("Type") not in _SIGNED_FIELDS:
            raise MalformedRequest("not an SNS message")
        return envelope

    def verify(self, body: bytes | str) -> SnsMessage:
        envelope = self._envelope(body)
        missing = [k for k in ("MessageId", "TopicArn", "Message", "Timestamp", "Signature",
                               "SignatureVersion", "SigningCertURL") if not envelope.get(k)]
        if missing:
            raise MalformedRequest(f"SNS message lacks {', '.join(missing)}")
        if envelope["TopicArn"] not in self._topics:
            raise Forbidden("SNS topic is not allowed")
        version = str(envelope["SignatureVersion"])
        if version not in _HASHES:
            raise Forbidden("unsupported SNS SignatureVersion")
        url = str(envelope["SigningCertURL"])
        if not trusted_cert_url(url):
            raise Forbidden("SNS SigningCertURL is not SNS's own https certificate URL")
        try:
            signature = base64.b64decode(envelope["Signature"], validate=True)
            self._public_key(url).verify(signature, string_to_sign(envelope),
                                         padding.PKCS1v15(), _HASHES[version]())
        except (InvalidSignature, binascii.Error, ValueError, KeyError) as err:
            raise Forbidden("SNS signature does not verify") from err
        return SnsMessage(type=envelope["Type"], message_id=envelope["MessageId"],
                          topic_arn=envelope["TopicArn"], message=envelope["Message"],
                          token=envelope.get("Token"))

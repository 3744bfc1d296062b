"""Where a letter goes once its carrier has accepted it: the print step.

Locally, the document and its label are written to ``.letterbox/letters/`` (like the
email outbox). Deployed, they are posted to the print partner's HTTPS endpoint, signed with
HMAC-SHA256 over ``<timestamp>.<body>`` with a key derived for the partner alone
(``letterbox print partner-key``), never the deployment's signing secret: whoever holds the
partner key can sign print requests and nothing else. ``Letterbox-Key-Id`` names the root
key it was derived from, so the partner can hold two while the deployment rotates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from chalicelib.errors import RetryableFailure


def _suffix(letter: dict[str, Any]) -> str:
    return ".pdf" if letter.get("content_type") == "application/pdf" else ".html"


class LocalPrinter:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def print(self, letter: dict[str, Any], document: bytes, label: bytes | None) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        (self._directory / f"{letter['letter_id']}{_suffix(letter)}").write_bytes(document)
        if label:
            (self._directory / f"{letter['letter_id']}.label.pdf").write_bytes(label)


class PartnerPrinter:
    def __init__(self, url: str, key: bytes, key_id: str) -> None:
        self._url = url
        self._key = key
        self._key_id = key_id

    def print(self, letter: dict[str, Any], document: bytes, label: bytes | None) -> None:
        import requests

        body = json.dumps({
            "letter_id": letter["letter_id"], "carrier": letter["carrier"],
            "tracking_number": letter.get("tracking_number"), "color": letter["color"],
            "double_sided": letter["double_sided"], "content_type": letter["content_type"],
            "document": base64.b64encode(document).decode(),
            "label": base64.b64encode(label).decode() if label else None}).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(self._key, stamp.encode() + b"." + body, hashlib.sha256)
        try:
            response = requests.post(self._url, data=body, timeout=15, headers={
                "Content-Type": "application/json", "Letterbox-Timestamp": stamp,
                "Letterbox-Key-Id": self._key_id,
                "Letterbox-Signature": f"v1={signature.hexdigest()}"})
        except requests.RequestException as err:
            raise RetryableFailure("the print partner could not be reached") from err
        if response.status_code >= 300:
            raise RetryableFailure(f"the print partner answered {response.status_code}")

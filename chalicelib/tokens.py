"""HMAC-signed tokens for links in mail (unsubscribe now, tracking later).

A token is ``base64url(payload) "." base64url(HMAC-SHA256(key, payload))``; each purpose uses
its own key derived from the deployment secret, so a token for one purpose is worthless for
another. Verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from chalicelib.models import address_of


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: Callable[[], bytes]) -> None:
        self._secret = secret  # fetched lazily: most requests never sign anything

    def key(self, purpose: str) -> bytes:
        return hmac.new(self._secret(), f"letterbox/{purpose}".encode(), hashlib.sha256).digest()

    def purpose_token(self, purpose: str) -> str:
        """A stable secret for one purpose (a carrier's push URL), derived, never stored."""
        return _b64(self.key(purpose))[:32]

    def seal(self, purpose: str, payload: dict[str, Any]) -> str:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self.key(purpose), body, hashlib.sha256).digest()
        return f"{_b64(body)}.{_b64(mac)}"

    def open(self, purpose: str, token: str) -> dict[str, Any] | None:
        """The payload, or None for anything forged, truncated or malformed."""
        body_part, _, mac_part = token.partition(".")
        try:
            body, mac = _unb64(body_part), _unb64(mac_part)
        except (ValueError, TypeError):
            return None
        expected = hmac.new(self.key(purpose), body, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    def recipient_with_hash(self, account_id: str, mailboxes: list[str],
                            address_hash: str | None) -> str | None:
        """The bare address among ``mailboxes`` whose keyed hash a token carries, if any."""
        if not address_hash:
            return None
        bare = [address_of(m) for m in mailboxes]
        return next((a for a in bare if self.address_hash(account_id, a) == address_hash), None)

    def address_hash(self, account_id: str, address: str) -> str:
        """The keyed hash that identifies an address in the suppression list."""
        message = f"{account_id}:{address.strip().lower()}".encode()
        return hmac.new(self.key("suppression"), message, hashlib.sha256).hexdigest()

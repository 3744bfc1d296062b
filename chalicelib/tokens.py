"""HMAC-signed tokens for links in mail (click, open, unsubscribe) and derived secrets.

A token is ``<key id> "~" base64url(payload) "." base64url(HMAC-SHA256(key, payload))``; each
purpose uses its own key derived from one of the deployment's root keys, so a token for one
purpose is worthless for another, and a token names the root key that signed it, so a new
root key can sign while links already sent keep working. Tokens without a key id (signed
before key ids existed) are checked against the root key ``k0``. Verification compares in
constant time.

The deployment secret is either one string (root key ``k0``) or JSON
``{"current": "k1", "keys": {"k0": "…", "k1": "…"}}``: ``current`` signs, every listed key
verifies. Suppression hashes always use ``k0`` (or ``"hash_key"``): they must never change.
Outsiders (the print partner) get keys derived for them, never a root key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from chalicelib.models import address_of


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


LEGACY_KEY_ID = "k0"
PRINT_PARTNER = "print-partner"  # the purpose whose derived key the print partner holds
_KEY_ID = re.compile(r"^[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class RootKeys:
    current: str
    keys: dict[str, bytes]
    hash_key: str = LEGACY_KEY_ID


def root_keys(secret: bytes) -> RootKeys:
    """Parse the deployment secret: one string, or the JSON key set (see the module doc)."""
    try:
        parsed = json.loads(secret)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or "keys" not in parsed:
        return RootKeys(LEGACY_KEY_ID, {LEGACY_KEY_ID: secret})
    keys = {str(k): str(v).encode() for k, v in dict(parsed["keys"]).items()}
    current, hash_key = str(parsed.get("current", "")), str(parsed.get("hash_key", "k0"))
    if (not all(_KEY_ID.match(k) for k in keys) or current not in keys
            or hash_key not in keys):
        raise ValueError("the signing secret's key set names a key it does not hold")
    return RootKeys(current, keys, hash_key)


class TokenSigner:
    def __init__(self, secret: Callable[[], bytes]) -> None:
        self._secret = secret  # fetched lazily: most requests never sign anything

    @cached_property
    def _roots(self) -> RootKeys:
        return root_keys(self._secret())

    @property
    def current_key_id(self) -> str:
        return self._roots.current

    def key(self, purpose: str, key_id: str | None = None) -> bytes:
        """The key for one purpose, derived from root key ``key_id`` (default: current)."""
        root = self._roots.keys[key_id or self._roots.current]
        return hmac.new(root, f"letterbox/{purpose}".encode(), hashlib.sha256).digest()

    def partner_key(self, purpose: str) -> str:
        """An outsider's HMAC key (its ASCII bytes are the key), derived from the current
        root key for that purpose alone: it verifies and forges nothing else."""
        return self.key(purpose).hex()

    def purpose_token(self, purpose: str) -> str:
        """A stable secret for one purpose (a carrier's push URL), derived, never stored."""
        return f"{self.current_key_id}~{self._purpose_token(purpose, self.current_key_id)}"

    def _purpose_token(self, purpose: str, key_id: str) -> str:
        return _b64(self.key(purpose, key_id))[:32]

    def accepts_purpose_token(self, purpose: str, given: str) -> bool:
        """A purpose token from any root key still held (``k0``'s may lack its key id)."""
        key_id, _, token = given.rpartition("~")
        key_id = key_id or LEGACY_KEY_ID
        if key_id not in self._roots.keys:
            return False
        return hmac.compare_digest(token.encode(),
                                   self._purpose_token(purpose, key_id).encode())

    def seal(self, purpose: str, payload: dict[str, Any]) -> str:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        key_id = self.current_key_id
        mac = hmac.new(self.key(purpose, key_id), body, hashlib.sha256).digest()
        return f"{key_id}~{_b64(body)}.{_b64(mac)}"

    def open(self, purpose: str, token: str) -> dict[str, Any] | None:
        """The payload, or None for anything forged, truncated, malformed or signed with a
        root key no longer held."""
        key_id, _, sealed = token.rpartition("~")
        key_id = key_id or LEGACY_KEY_ID
        if key_id not in self._roots.keys:
            return None
        body_part, _, mac_part = sealed.partition(".")
        try:
            body, mac = _unb64(body_part), _unb64(mac_part)
        except (ValueError, TypeError):
            return None
        expected = hmac.new(self.key(purpose, key_id), body, hashlib.sha256).digest()
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
        return hmac.new(self.key("suppression", self._roots.hash_key), message,
                        hashlib.sha256).hexdigest()

"""Prefixed, time-sortable identifiers (``em_01J…``): a ULID body behind a type prefix."""

from __future__ import annotations

import hashlib
import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset({"acct", "key", "em", "dom", "evt", "ltr", "wh", "tpl", "sup", "aud",
                      "wha", "smtp", "adr", "trk", "usr", "cns", "ntc",
                      "ct", "seg", "top", "bc", "imp", "cn"})


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """A 26-character ULID (48-bit milliseconds, 80 random bits) with ``prefix_``."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    return _encode(prefix, millis, int.from_bytes(os.urandom(10), "big"))


def _encode(prefix: str, millis: int, tail: int) -> str:
    """48 bits of milliseconds and 80 bits of ``tail``, in Crockford base32."""
    value = (millis << 80) | tail
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def derived_id(prefix: str, moment_ms: int, seed: str) -> str:
    """A ULID whose random part comes from ``seed``: the same input always gives the same id,
    which makes recording a provider's event twice a no-op."""
    return _encode(prefix, moment_ms,
                   int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big"))


def id_bound(prefix: str, moment_ms: int, upper: bool) -> str:
    """The lowest (or highest) id of that type created in that millisecond: for time ranges."""
    return _encode(prefix, moment_ms, (1 << 80) - 1 if upper else 0)


def has_prefix(value: str, prefix: str) -> bool:
    """True when ``value`` looks like an id of that type (cheap shape check, no lookup)."""
    body = value.removeprefix(f"{prefix}_")
    return body != value and len(body) == 26 and all(c in _CROCKFORD for c in body)

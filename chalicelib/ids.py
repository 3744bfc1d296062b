"""Prefixed, time-sortable identifiers (``em_01J…``): a ULID body behind a type prefix."""

from __future__ import annotations

import hashlib
import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset({"acct", "key", "em", "dom", "evt", "ltr", "wh", "tpl", "sup", "erq",
                      "smtp"})


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """A 26-character ULID (48-bit milliseconds, 80 random bits) with ``prefix_``."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def derived_id(prefix: str, moment_ms: int, seed: str) -> str:
    """A ULID whose random part comes from ``seed``: the same input always gives the same id,
    which makes recording a provider's event twice a no-op."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    value = (moment_ms << 80) | digest
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def has_prefix(value: str, prefix: str) -> bool:
    """True when ``value`` looks like an id of that type (cheap shape check, no lookup)."""
    body = value.removeprefix(f"{prefix}_")
    return body != value and len(body) == 26 and all(c in _CROCKFORD for c in body)

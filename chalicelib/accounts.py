"""Accounts and API keys: keys are shown once, stored as a SHA-256 hash, scoped, revocable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from chalicelib.account_models import AccountClosure, AccountOut, AccountUpdate, RetentionOut
from chalicelib.clock import iso
from chalicelib.errors import AccountClosed, Forbidden, NotFound, Unauthorized
from chalicelib.ids import has_prefix, new_id
from chalicelib.retention import RULES, DataClass, expiry_for

Scope = Literal["full", "sending"]
KEY_TOKEN_PREFIX = "lb_"  # noqa: S105 - a prefix, not a secret


class AccountStore(Protocol):
    def put_account(self, account_id: str, name: str, now: datetime) -> dict[str, Any]: ...
    def get_account(self, account_id: str) -> dict[str, Any] | None: ...
    def close_account(self, account_id: str, now: datetime) -> bool: ...
    def put_key(self, record: dict[str, Any]) -> None: ...
    def get_key(self, key_id: str) -> dict[str, Any] | None: ...
    def list_keys(self, account_id: str) -> list[dict[str, Any]]: ...
    def revoke_key(self, account_id: str, key_id: str, now: datetime) -> bool: ...
    def rename_key(self, account_id: str, key_id: str, name: str) -> bool: ...
    def resume_account(self, account_id: str) -> bool: ...
    def update_account(self, account_id: str, fields: dict[str, Any]) -> dict[str, Any] | None: ...
    def expire_account(self, account_id: str, now: datetime) -> None: ...
    def pause_account(self, account_id: str, reason: str, event: dict[str, Any],
                      now: datetime) -> bool: ...


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account, the key and what the key may do."""

    account_id: str
    key_id: str
    scope: Scope
    domains: frozenset[str] = field(default_factory=frozenset)
    sending_paused: bool = False

    def require(self, scope: Scope) -> None:
        if scope == "full" and self.scope != "full":
            raise Forbidden("this API key has the 'sending' scope; this endpoint needs 'full'")

    def may_send_from(self, domain: str) -> bool:
        return not self.domains or domain in self.domains


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    token: str  # shown once, never stored
    scope: Scope


def _hash_secret(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough; no password stretching needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def _split_token(token: str) -> tuple[str, str] | None:
    """``lb_<26-char key id>_<secret>`` → (``key_<id>``, secret)."""
    if not token.startswith(KEY_TOKEN_PREFIX):
        return None
    body, _, secret = token[len(KEY_TOKEN_PREFIX):].partition("_")
    key_id = f"key_{body}"
    return (key_id, secret) if has_prefix(key_id, "key") and secret else None


class AccountService:
    def __init__(self, store: AccountStore,
                 on_close: list[Callable[[str, datetime], None]] | None = None,
                 on_retention_change: Callable[[str, int, datetime], None] | None = None,
                 erase_now: Callable[[str], bool] | None = None,
                 cache_seconds: float = 0,
                 on_resume: list[Callable[[str], None]] | None = None) -> None:
        self._store = store
        # key id → (read at, key record, account): a warm Lambda authenticates without a read
        self._cache: dict[str, tuple[float, dict[str, Any], dict[str, Any] | None]] = {}
        self._cache_seconds = cache_seconds
        self._on_close = on_close or []
        self._on_resume = on_resume or []
        self._on_retention_change = on_retention_change
        self._erase_now = erase_now

    def create_account(self, name: str, now: datetime) -> tuple[str, IssuedKey]:
        account_id = new_id("acct")
        self._store.put_account(account_id, name, now)
        return account_id, self.create_key(account_id, "full", now)

    def create_key(self, account_id: str, scope: Scope, now: datetime,
                   domains: list[str] | None = None, name: str | None = None) -> IssuedKey:
        self._open_account(account_id)
        key_id = new_id("key")
        secret = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        self._store.put_key({
            "key_id": key_id, "account_id": account_id, "scope": scope,
            "domains": sorted({d.lower() for d in domains or []}),
            "secret_hash": _hash_secret(secret), "created_at": iso(now),
            "hint": f"{KEY_TOKEN_PREFIX}{key_id[4:10]}…",
            **({"name": name} if name else {}),
        })
        token = f"{KEY_TOKEN_PREFIX}{key_id.removeprefix('key_')}_{secret}"
        return IssuedKey(key_id=key_id, token=token, scope=scope)

    def forget(self, account_id: str | None = None, key_id: str | None = None) -> None:
        """Drop cached keys (of one key, or of one account): this Lambda sees the change now,
        others within ``cache_seconds``."""
        for cached_id, (_, record, _) in list(self._cache.items()):
            if cached_id == key_id or record["account_id"] == account_id:
                self._cache.pop(cached_id, None)

    def revoke_key(self, account_id: str, key_id: str, now: datetime) -> None:
        """Revoke one of the account's keys; another account's key is simply not there
        (404), checked by the store in the same write."""
        if not self._store.revoke_key(account_id, key_id, now):
            raise NotFound(f"no API key {key_id}")
        self.forget(key_id=key_id)

    def rename_key(self, account_id: str, key_id: str, name: str) -> None:
        """A live key of this account gets a new name (a label only: nothing else changes)."""
        if not self._store.rename_key(account_id, key_id, name):
            raise NotFound(f"no API key {key_id}")

    def list_keys(self, account_id: str) -> list[dict[str, Any]]:
        public = ("key_id", "scope", "domains", "hint", "name", "created_at", "revoked_at")
        return [{k: item.get(k) for k in public} for item in self._store.list_keys(account_id)]

    def describe(self, account_id: str) -> AccountOut:
        account = self._store.get_account(account_id)
        if account is None:
            raise NotFound(f"no account {account_id}")
        return _account_out(account)

    def update(self, account_id: str, request: AccountUpdate, now: datetime) -> AccountOut:
        self._open_account(account_id)
        fields: dict[str, Any] = {}
        if request.name is not None:
            fields["name"] = request.name
        if request.retention is not None:
            fields["recipient_data_days"] = request.retention.recipient_data_days
        account = self._store.update_account(account_id, fields) if fields else None
        if request.retention is not None and self._on_retention_change is not None:
            # Stored events get the new period through the purge, in either direction.
            self._on_retention_change(account_id, request.retention.recipient_data_days, now)
        return _account_out(account or self._open_account(account_id))

    def close(self, account_id: str, now: datetime, erase_now: bool) -> AccountClosure:
        """Close: keys stop working at once; the data goes 90 days later, or now on request."""
        self.close_account(account_id, now)
        erased = False
        if erase_now:
            self._store.expire_account(account_id, now)
            erased = self._erase_now(account_id) if self._erase_now else False
        days = 0 if erase_now else RULES[DataClass.ACCOUNT_DATA].days
        erase_after = datetime.fromtimestamp(expiry_for(DataClass.ACCOUNT_DATA, now, days) or 0,
                                             now.tzinfo)
        return AccountClosure(id=account_id, status="closed", closed_at=iso(now),
                              erase_after=iso(erase_after), erased=erased)

    def close_account(self, account_id: str, now: datetime) -> None:
        self.forget(account_id=account_id)
        self._open_account(account_id)
        for key in self._store.list_keys(account_id):
            self._store.revoke_key(account_id, key["key_id"], now)
        self._store.close_account(account_id, now)
        for hook in self._on_close:  # other capabilities revoke and start their clocks
            hook(account_id, now)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization: Bearer`` header, or ``Unauthorized``."""
        if not authorization:
            raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <key>'")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <key>'")
        parts = _split_token(token.strip())
        record, account = self._key_and_account(parts[0]) if parts else (None, None)
        if (parts is None or record is None
                or not hmac.compare_digest(record["secret_hash"], _hash_secret(parts[1]))):
            raise Unauthorized("invalid API key")
        if record.get("revoked_at"):
            raise Unauthorized("this API key has been revoked")
        if account is None or account["status"] != "active":
            raise AccountClosed("this account is closed")
        return Principal(account_id=record["account_id"], key_id=record["key_id"],
                         scope=record["scope"], domains=frozenset(record.get("domains", [])),
                         sending_paused=bool(account.get("sending_paused")))

    def pause_account(self, account_id: str, reason: str, event: dict[str, Any],
                      now: datetime) -> bool:
        """Pause sending (account protection); this Lambda refuses new sends at once."""
        self.forget(account_id=account_id)
        return self._store.pause_account(account_id, reason, event, now)

    def _key_and_account(self, key_id: str
                         ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The key's record and its account, from this Lambda's cache when fresh enough
        (only keys that exist are cached, so a guessed key id costs a read every time)."""
        cached = self._cache.get(key_id)
        if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1], cached[2]
        record = self._store.get_key(key_id)
        if record is None:
            return None, None
        account = self._store.get_account(record["account_id"])
        if self._cache_seconds > 0:
            if len(self._cache) > 10_000:  # bounded: an old entry is only a read saved
                self._cache.clear()
            self._cache[key_id] = (time.monotonic(), record, account)
        return record, account

    def resume_sending(self, account_id: str) -> None:
        """Operator only: after the cause of the bounces or complaints is fixed."""
        self.forget(account_id=account_id)
        self._open_account(account_id)
        self._store.resume_account(account_id)
        for hook in self._on_resume:  # SMTP credentials get their domains back
            hook(account_id)

    def _open_account(self, account_id: str) -> dict[str, Any]:
        account = self._store.get_account(account_id)
        if account is None:
            raise NotFound(f"no account {account_id}")
        if account["status"] != "active":
            raise AccountClosed(f"account {account_id} is closed")
        return account


def sending_stopped(store: AccountStore, account_id: str) -> bool:
    """Paused by protection, closed, or gone: nothing may be sent for this account."""
    account = store.get_account(account_id)
    return (account is None or bool(account.get("sending_paused"))
            or account.get("status") != "active")


def _account_out(account: dict[str, Any]) -> AccountOut:
    default = RULES[DataClass.ENGAGEMENT_EVENT].days or 0
    return AccountOut(
        id=account["account_id"], name=account["name"], status=account["status"],
        created_at=account["created_at"], closed_at=account.get("closed_at"),
        sending_paused=bool(account.get("sending_paused")),
        retention=RetentionOut(
            recipient_data_days=int(account.get("recipient_data_days") or default),
            message_log_days=RULES[DataClass.MESSAGE_LOG].days or 0,
            default_recipient_data_days=default))


class RetentionDays:
    """Each account's own period for recipient engagement events (None: the default),
    cached per warm Lambda; a change reaches other Lambdas within ``ttl_seconds``."""

    def __init__(self, store: AccountStore, ttl_seconds: float = 60) -> None:
        self._store = store
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[float, int | None]] = {}

    def __call__(self, account_id: str) -> int | None:
        cached = self._cache.get(account_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_seconds:
            return cached[1]
        account = self._store.get_account(account_id) or {}
        days = account.get("recipient_data_days")
        self._cache[account_id] = (time.monotonic(), int(days) if days else None)
        return self._cache[account_id][1]

    def forget(self, account_id: str) -> None:
        self._cache.pop(account_id, None)


class SendingGate:
    """Whether an account may send right now (not paused, not closed), asked by the worker
    before each send and cached per warm Lambda for ``ttl_seconds``: a pause or a closure
    stops even mail accepted (or scheduled) before it, within that time."""

    def __init__(self, store: AccountStore, ttl_seconds: float = 30) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, str | None]] = {}

    def refusal(self, account_id: str) -> str | None:
        """None, or why not: ``account_paused`` or ``account_closed``."""
        cached = self._cache.get(account_id)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        account = self._store.get_account(account_id)
        reason = ("account_closed" if account is None or account.get("status") != "active"
                  else "account_paused" if account.get("sending_paused") else None)
        self._cache[account_id] = (time.monotonic(), reason)
        return reason

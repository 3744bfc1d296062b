"""Sending domains: DKIM keys (KMS-encrypted), the SES identity, DNS checks and key rotation.

A domain is ``pending`` until its active DKIM key, MAIL FROM MX and SPF records are right;
only ``verified`` domains send. Rotation adds ``pending`` keys under a new selector; the old
keys keep signing until a verification finds the new records, then they are ``retired``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.accounts import Principal
from chalicelib.clock import iso
from chalicelib.dkim_signing import Algorithm, SigningKey, generate_key_pair
from chalicelib.dns_records import (Lookup, check_record, expected_records, rotation_ready,
                                    sends_correctly)
from chalicelib.errors import Conflict, NotFound
from chalicelib.ids import has_prefix, new_id
from chalicelib.models import DnsRecordOut, DomainCreate, DomainOut, DomainPage, DomainUpdate
from chalicelib.observability import logger

MAX_PENDING_DOMAINS = 10  # per account: unverified names cost nothing to add, so they are capped
ALGORITHMS: dict[str, list[Algorithm]] = {"rsa2048": ["rsa-sha256"],
                                          "rsa2048+ed25519": ["rsa-sha256", "ed25519-sha256"]}


class DomainStore(Protocol):
    def create(self, account_id: str, record: dict[str, Any], now: datetime) -> None: ...
    def claim(self, account_id: str, record: dict[str, Any]) -> bool: ...
    def get_by_name(self, account_id: str, name: str) -> dict[str, Any] | None: ...
    def get_by_id(self, account_id: str, domain_id: str) -> dict[str, Any] | None: ...
    def page(self, account_id: str, limit: int,
             cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def names(self, account_id: str, verified_only: bool = True) -> list[str]: ...
    def update(self, account_id: str, name: str, fields: dict[str, Any]) -> dict[str, Any]: ...
    def delete(self, account_id: str, record: dict[str, Any]) -> None: ...


class Secrets(Protocol):
    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes: ...
    def decrypt(self, ciphertext: bytes, context: dict[str, str]) -> bytes: ...


class Identities(Protocol):
    def create(self, domain: str, selector: str, private_pem: bytes, mail_from: str) -> None: ...
    def set_dkim_key(self, domain: str, selector: str, private_pem: bytes) -> None: ...
    def delete(self, domain: str) -> None: ...


def _key_context(account_id: str, domain_id: str, selector: str) -> dict[str, str]:
    return {"account_id": account_id, "domain_id": domain_id, "selector": selector,
            "purpose": "dkim"}


def _selector_stem(now: datetime) -> str:
    return f"lb{now:%Y%m}{os.urandom(2).hex()}"


class DomainService:
    def __init__(self, store: DomainStore, secrets: Secrets, identities: Identities,
                 dns: Callable[[], Lookup], region: str,
                 on_verified_domains_changed: Callable[[str], None] | None = None) -> None:
        self._store = store
        self._secrets = secrets
        self._identities = identities
        self._dns = dns
        self._region = region
        self._changed = on_verified_domains_changed or (lambda account_id: None)

    def _new_keys(self, account_id: str, domain_id: str, mode: str, state: str,
                  now: datetime) -> tuple[list[dict[str, Any]], bytes]:
        """Fresh key pairs (private halves KMS-encrypted) and the RSA PEM for SES."""
        stem, keys, rsa_pem = _selector_stem(now), [], b""
        for algorithm in ALGORITHMS[mode]:
            pair = generate_key_pair(algorithm)
            selector = f"{stem}{'r' if algorithm == 'rsa-sha256' else 'e'}"
            if algorithm == "rsa-sha256":
                rsa_pem = pair.private
            keys.append({"selector": selector, "algorithm": algorithm, "state": state,
                         "public_record": pair.public_record, "created_at": iso(now),
                         "private_ciphertext": self._secrets.encrypt(
                             pair.private, _key_context(account_id, domain_id, selector))})
        return keys, rsa_pem

    def create_domain(self, principal: Principal, request: DomainCreate,
                      now: datetime) -> DomainOut:
        domain_id = new_id("dom")
        keys, _ = self._new_keys(principal.account_id, domain_id, request.dkim, "active", now)
        mail_from = f"{request.mail_from_subdomain}.{request.name}"
        record = {"domain_id": domain_id, "account_id": principal.account_id,
                  "name": request.name, "status": "pending", "dkim": request.dkim,
                  "mail_from": mail_from, "keys": keys, "created_at": iso(now)}
        pending = [n for n in self._store.names(principal.account_id, verified_only=False)
                   if n not in self._store.names(principal.account_id)]
        if len(pending) >= MAX_PENDING_DOMAINS:
            raise Conflict(f"at most {MAX_PENDING_DOMAINS} domains may wait for verification; "
                           "verify or delete one first", details=[{"field": "name"}])
        # Nothing outside this account yet: the name is claimed, and SES told, on verification.
        self._store.create(principal.account_id, record, now)
        return self._out(record)

    def _owned(self, principal: Principal, domain_id: str) -> dict[str, Any]:
        record = (self._store.get_by_id(principal.account_id, domain_id)
                  if has_prefix(domain_id, "dom") else None)
        if record is None:
            raise NotFound(f"no domain {domain_id}")
        return record

    def get_domain(self, principal: Principal, domain_id: str) -> DomainOut:
        return self._out(self._owned(principal, domain_id))

    def list_domains(self, principal: Principal, limit: int, cursor: str | None) -> DomainPage:
        items, next_cursor = self._store.page(principal.account_id, limit, cursor)
        return DomainPage(data=[self._out(i) for i in items], has_more=next_cursor is not None,
                          next_cursor=next_cursor)

    def delete_domain(self, principal: Principal, domain_id: str) -> None:
        record = self._owned(principal, domain_id)
        self._store.delete(principal.account_id, record)
        if record["status"] == "verified":  # a pending domain has no SES identity
            self._identities.delete(record["name"])
            self._changed(principal.account_id)

    def forget_identities(self, account_id: str, names: list[str]) -> None:
        """An erased account's domains leave SES too."""
        for name in names:
            self._identities.delete(name)

    def verify_domain(self, principal: Principal, domain_id: str, now: datetime) -> DomainOut:
        record = self._owned(principal, domain_id)
        dns = self._dns()
        checks = [check_record(r, dns) for r in expected_records(record, self._region)]
        fields: dict[str, Any] = {"last_checked_at": iso(now), "last_check": [
            {"name": c.record.name, "type": c.record.type, "purpose": c.record.purpose,
             "status": c.status, "seen": c.seen} for c in checks]}
        if rotation_ready(checks):
            fields["keys"] = self._promote(record, now)
        became_verified = (record["status"] != "verified" and sends_correctly(checks)
                           and self._claim(principal.account_id, record))
        if became_verified:
            fields.update(status="verified", verified_at=iso(now))
        updated = self._store.update(principal.account_id, record["name"], fields)
        if became_verified:
            self._changed(principal.account_id)
        return self._out(updated)

    def _claim(self, account_id: str, record: dict[str, Any]) -> bool:
        """The records prove control: take the name and make the SES identity. Held by
        another account (which proved control first), it stays pending, saying nothing."""
        if not self._store.claim(account_id, record):
            logger.warning("verified records for a name another account holds",
                           extra={"domain_id": record["domain_id"]})
            return False
        rsa = next((k for k in record["keys"]
                    if k["algorithm"] == "rsa-sha256" and k["state"] == "active"), None)
        if rsa is not None:
            self._identities.create(record["name"], rsa["selector"],
                                    self._decrypt(record, rsa), record["mail_from"])
        return True

    def _promote(self, record: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
        keys = []
        for key in record["keys"]:
            if key["state"] == "active":
                key = {**key, "state": "retired", "retired_at": iso(now)}
            elif key["state"] == "pending":
                key = {**key, "state": "active", "activated_at": iso(now)}
                if key["algorithm"] == "rsa-sha256":
                    self._identities.set_dkim_key(record["name"], key["selector"],
                                                  self._decrypt(record, key))
            keys.append(key)
        return keys

    def update_domain(self, principal: Principal, domain_id: str, request: DomainUpdate
                      ) -> DomainOut:
        record = self._owned(principal, domain_id)
        changes = request.model_dump(exclude_unset=True, exclude_none=True)
        if not changes:
            return self._out(record)
        return self._out(self._store.update(principal.account_id, record["name"], changes))

    def rotate_dkim(self, principal: Principal, domain_id: str, now: datetime) -> DomainOut:
        record = self._owned(principal, domain_id)
        if any(key["state"] == "pending" for key in record["keys"]):
            raise Conflict("a rotation is already waiting for its DNS records; verify it first")
        pending, _ = self._new_keys(principal.account_id, record["domain_id"], record["dkim"],
                                    "pending", now)
        # Keys retired by an earlier rotation are dropped now: their overlap is over.
        keys = [k for k in record["keys"] if k["state"] != "retired"] + pending
        return self._out(self._store.update(principal.account_id, record["name"],
                                            {"keys": keys}))

    def _decrypt(self, record: dict[str, Any], key: dict[str, Any]) -> bytes:
        return self._secrets.decrypt(bytes(key["private_ciphertext"]), _key_context(
            record["account_id"], record["domain_id"], key["selector"]))

    def _out(self, record: dict[str, Any]) -> DomainOut:
        last = {(c["name"], c["type"], c["purpose"]): c for c in record.get("last_check", [])}
        records = []
        for expected in expected_records(record, self._region):
            check = last.get((expected.name, expected.type, expected.purpose), {})
            records.append(DnsRecordOut(
                type=expected.type, name=expected.name, value=expected.value,
                purpose=expected.purpose, required=expected.required,
                selector=expected.selector, key_state=expected.key_state,
                status=check.get("status"), seen=check.get("seen", [])))
        return DomainOut(id=record["domain_id"], name=record["name"], status=record["status"],
                         dkim=record["dkim"], mail_from=record["mail_from"], records=records,
                         created_at=record["created_at"], verified_at=record.get("verified_at"),
                         last_checked_at=record.get("last_checked_at"),
                         track_opens=bool(record.get("track_opens")),
                         track_clicks=bool(record.get("track_clicks")))


class DomainKeyring:
    """The send path's view: a verified domain's active keys, decrypted once per warm Lambda."""

    def __init__(self, store: DomainStore, secrets: Secrets, ttl_seconds: float = 60) -> None:
        self._store = store
        self._secrets = secrets
        self._ttl = ttl_seconds
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}
        self._plaintext: dict[bytes, bytes] = {}  # ciphertext → key: one KMS call per key

    def _record(self, account_id: str, domain: str) -> dict[str, Any] | None:
        cached = self._cache.get((account_id, domain))
        if cached and cached[0] > time.monotonic():
            return cached[1]
        record = self._store.get_by_name(account_id, domain)
        self._cache[(account_id, domain)] = (time.monotonic() + self._ttl, record)
        return record

    def signing_keys(self, account_id: str, domain: str) -> list[SigningKey]:
        """Empty when the domain is missing, deleted or not verified: such mail is not sent."""
        record = self._record(account_id, domain)
        if record is None or record["status"] != "verified":
            return []
        return [SigningKey(k["selector"], k["algorithm"], self._private(account_id, record, k))
                for k in record["keys"] if k["state"] == "active"]

    def tracking_defaults(self, account_id: str, domain: str) -> tuple[bool, bool]:
        """(opens, clicks) for messages that do not say: the domain's settings, off by default."""
        record = self._record(account_id, domain) or {}
        return bool(record.get("track_opens")), bool(record.get("track_clicks"))

    def _private(self, account_id: str, record: dict[str, Any], key: dict[str, Any]) -> bytes:
        ciphertext = bytes(key["private_ciphertext"])
        if ciphertext not in self._plaintext:
            self._plaintext[ciphertext] = self._secrets.decrypt(
                ciphertext, _key_context(account_id, record["domain_id"], key["selector"]))
        return self._plaintext[ciphertext]

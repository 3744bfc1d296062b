"""The suppression list: addresses an account never mails again (or never markets to)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, Literal, Protocol

from chalicelib.clock import iso
from chalicelib.errors import NotFound
from chalicelib.models import SuppressionOut, SuppressionPage, address_of

Reason = Literal["manual", "bounce", "complaint", "unsubscribe", "erasure"]
Scope = Literal["all", "marketing"]


class SuppressionStore(Protocol):
    def put(self, account_id: str, record: dict[str, Any]) -> None: ...
    def get(self, account_id: str, address_hash: str) -> dict[str, Any] | None: ...
    def get_many(self, account_id: str, hashes: list[str]) -> list[dict[str, Any]]: ...
    def delete(self, account_id: str, address_hash: str) -> None: ...
    def page(self, account_id: str, limit: int,
             cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...


class AddressHasher(Protocol):
    def address_hash(self, account_id: str, address: str) -> str: ...


class SuppressionService:
    def __init__(self, store: SuppressionStore, hasher: AddressHasher) -> None:
        self._store = store
        self._hasher = hasher

    def add(self, account_id: str, address: str, reason: Reason, scope: Scope, now: datetime,
            message_id: str | None = None) -> SuppressionOut:
        bare = address_of(address).lower() or address.lower()
        return self.add_hash(account_id, self._hasher.address_hash(account_id, bare), bare,
                             reason, scope, now, message_id)

    def add_hash(self, account_id: str, address_hash: str, address: str | None,
                 reason: Reason, scope: Scope, now: datetime,
                 message_id: str | None = None) -> SuppressionOut:
        """Suppress; a wider existing scope is kept (unsubscribing never narrows 'all')."""
        existing = self._store.get(account_id, address_hash)
        if existing and existing["scope"] == "all":
            scope, reason = "all", existing["reason"]
        record = {"address_hash": address_hash,
                  "email": address or (existing or {}).get("email"), "reason": reason,
                  "scope": scope, "created_at": existing["created_at"] if existing else iso(now),
                  "message_id": message_id}
        self._store.put(account_id, record)
        return self._out(record)

    def is_suppressed_hash(self, account_id: str, address_hash: str, stream: str) -> bool:
        existing = self._store.get(account_id, address_hash)
        return existing is not None and (existing["scope"] == "all" or stream == "marketing")

    def remove(self, account_id: str, address: str) -> None:
        address_hash = self._hasher.address_hash(account_id, address_of(address) or address)
        if self._store.get(account_id, address_hash) is None:
            raise NotFound("that address is not suppressed")
        self._store.delete(account_id, address_hash)

    def entry(self, account_id: str, address_or_hash: str) -> SuppressionOut:
        """One entry, by its address or by the keyed hash it is stored under (an erased
        entry keeps only the hash)."""
        key = (self._hasher.address_hash(account_id, address_of(address_or_hash)
                                         or address_or_hash)
               if "@" in address_or_hash else address_or_hash)
        found = self._store.get(account_id, key)
        if found is None:
            raise NotFound("that address is not suppressed")
        return self._out(found)

    def record_for(self, account_id: str, address: str) -> dict[str, Any] | None:
        return self._store.get(account_id, self._hasher.address_hash(account_id, address))

    def keep_hash_only(self, account_id: str, address: str, now: datetime) -> str:
        """After an erasure: the entry keeps its hash (so the address stays suppressed) and
        loses the address; an address that was not suppressed becomes so, as a hash."""
        address_hash = self._hasher.address_hash(account_id, address)
        existing = self._store.get(account_id, address_hash)
        record = {**(existing or {"address_hash": address_hash, "reason": "erasure",
                                  "scope": "all", "created_at": iso(now)}), "email": None}
        record = {k: v for k, v in record.items()
                  if k not in ("pk", "sk", "retention_class", "clock_at")}
        self._store.put(account_id, record)
        return "kept_as_hash" if existing else "added_as_hash"

    def list(self, account_id: str, limit: int, cursor: str | None) -> SuppressionPage:
        items, next_cursor = self._store.page(account_id, limit, cursor)
        return SuppressionPage(data=[self._out(i) for i in items],
                               has_more=next_cursor is not None, next_cursor=next_cursor)

    def suppressed(self, account_id: str, addresses: builtins.list[str],
                   stream: str) -> set[str]:
        """Which of these addresses must not receive mail of this stream."""
        by_hash = {self._hasher.address_hash(account_id, a): a for a in addresses}
        hits = self._store.get_many(account_id, list(by_hash))
        return {by_hash[h["address_hash"]] for h in hits
                if h["scope"] == "all" or stream == "marketing"}

    def entries(self, account_id: str,
                addresses: builtins.list[str]) -> dict[str, SuppressionOut]:
        """The entry of each of these addresses that is suppressed (any scope: marketing mail
        never goes to any of them), looked up by keyed hash, 100 keys a read; the addresses
        are only hashed, never stored."""
        by_hash = {self._hasher.address_hash(account_id, a.lower()): a for a in addresses}
        hashes = list(by_hash)
        found: dict[str, SuppressionOut] = {}
        for start in range(0, len(hashes), 100):
            for record in self._store.get_many(account_id, hashes[start:start + 100]):
                found[by_hash[record["address_hash"]]] = self._out(record)
        return found

    def snapshot(self, wanted: dict[str, set[str]]) -> SuppressionSnapshot:
        """One read for a whole batch of sends (100 keys a request) instead of one per
        email; what the snapshot was not asked about is checked live."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        hashes: dict[tuple[str, str], str] = {}
        for account_id, addresses in wanted.items():
            keyed = {address: self._hasher.address_hash(account_id, address)
                     for address in addresses}
            hashes.update({(account_id, a): h for a, h in keyed.items()})
            unique = sorted(set(keyed.values()))
            for start in range(0, len(unique), 100):
                for record in self._store.get_many(account_id, unique[start:start + 100]):
                    found[(account_id, record["address_hash"])] = record
        return SuppressionSnapshot(self, hashes, found)

    @staticmethod
    def _out(record: dict[str, Any]) -> SuppressionOut:
        return SuppressionOut(email=record.get("email"), reason=record["reason"],
                              scope=record["scope"], created_at=record["created_at"],
                              message_id=record.get("message_id"),
                              address_hash=record.get("address_hash"))


class SuppressionSnapshot:
    """The suppression list as it stood at the start of a send batch (milliseconds ago)."""

    def __init__(self, live: SuppressionService, hashes: dict[tuple[str, str], str],
                 found: dict[tuple[str, str], dict[str, Any]]) -> None:
        self._live = live
        self._hashes = hashes
        self._found = found

    def suppressed(self, account_id: str, addresses: builtins.list[str],
                   stream: str) -> set[str]:
        if not all((account_id, a) in self._hashes for a in addresses):
            return self._live.suppressed(account_id, addresses, stream)
        blocked = set()
        for address in addresses:
            record = self._found.get((account_id, self._hashes[(account_id, address)]))
            if record and (record["scope"] == "all" or stream == "marketing"):
                blocked.add(address)
        return blocked

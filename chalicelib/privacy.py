"""Data-subject rights (export and erasure of one recipient's data) and the account export.

Erasure deletes every message addressed to the person, or naming them in Reply-To (a message
with several recipients goes as a whole: its headers cannot be kept without the address),
their events, and any stored content; the suppression list keeps only a keyed hash, so the
address stays suppressed without being stored. Each request leaves an audit record without
the address.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Protocol

from chalicelib.account_models import (AccountExport, AccountOut, AuditList, AuditRecord,
                                       ErasureOut, ExportItem, PrivacyExport)
from chalicelib.accounts import Principal
from chalicelib.clock import iso
from chalicelib.ids import new_id
from chalicelib.models import address_of

# Never leaves the table: keys, index attributes, bookkeeping, and anything secret.
_INTERNAL = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expiry_bucket",
             "status_rank", "recipients", "tag_keys", "claim_until", "retention_class",
             "reply_to_addresses"}
_SECRET = re.compile(r"secret|private|ciphertext|password")
# Sort-key prefix → the item's type in an account export (longest prefix first).
_TYPES = (("EM#", "#EVT#", "event"), ("EM#", "", "message"),
          ("ACCTEVT#", "", "account_event"), ("AUDIT#", "", "privacy_audit"),
          ("DOMAIN#", "", "domain"), ("SMTP#", "", "smtp_credential"), ("STATS#", "", "stats"),
          ("SUP#", "", "suppression"), ("TPL#", "", "template"),
          ("CONTACT#", "", "contact"), ("SEGM#", "", "segment_member"), ("SEG#", "", "segment"),
          ("TOPIC#", "", "topic"), ("IMPORT#", "", "contact_import"),
          ("BCR#", "", "broadcast_recipient"), ("BC#", "", "broadcast"),
          ("WHA#", "", "webhook_attempt"), ("WH#", "", "webhook"),
          ("LTR#", "#EVT#", "letter_event"), ("LTR#", "#ADDR", "letter_address"),
          ("LTR#", "", "letter"))


class PrivacyStore(Protocol):
    def messages_to(self, account_id: str, address: str) -> list[dict[str, Any]]: ...
    def timeline(self, account_id: str, message_id: str) -> list[dict[str, Any]]: ...
    def delete_keys(self, keys: list[dict[str, str]]) -> int: ...
    def put_audit(self, account_id: str, record: dict[str, Any], now: datetime) -> None: ...
    def audits(self, account_id: str) -> list[dict[str, Any]]: ...
    def account_page(self, account_id: str, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]: ...


class Suppressions(Protocol):
    def record_for(self, account_id: str, address: str) -> dict[str, Any] | None: ...
    def keep_hash_only(self, account_id: str, address: str, now: datetime) -> str: ...


class Contacts(Protocol):
    """The marketing contact of an address (``contacts.py``)."""

    def export_address(self, account_id: str, address: str) -> dict[str, Any] | None: ...
    def erase_address(self, account_id: str, address: str, now: datetime) -> int: ...


class Content(Protocol):
    def delete(self, key: str) -> None: ...


class Accounts(Protocol):
    def describe(self, account_id: str) -> AccountOut: ...
    def list_keys(self, account_id: str) -> list[dict[str, Any]]: ...


def public(value: Any) -> Any:
    """A stored item as export output: no keys, index attributes or secrets, no bytes."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items()
                if k not in _INTERNAL and not _SECRET.search(k)}
    if isinstance(value, list):
        return [public(v) for v in value]
    return None if isinstance(value, bytes | bytearray) else value


def item_type(sk: str) -> str | None:
    for prefix, contains, name in _TYPES:
        if sk.startswith(prefix) and contains in sk:
            return name
    return None  # the account record itself, and pointers (DOMID#)


class PrivacyService:
    def __init__(self, store: PrivacyStore, suppressions: Suppressions, content: Content,
                 accounts: Accounts, contacts: Contacts | None = None) -> None:
        self._contacts = contacts
        self._store = store
        self._suppressions = suppressions
        self._content = content
        self._accounts = accounts

    def export(self, principal: Principal, email: str, now: datetime) -> PrivacyExport:
        address = address_of(email).lower()
        messages = []
        for message in self._store.messages_to(principal.account_id, address):
            items = self._store.timeline(principal.account_id, message["message_id"])
            messages.append({**public(items[0]), "events": [public(i) for i in items[1:]]})
        suppression = self._suppressions.record_for(principal.account_id, address)
        contact = (self._contacts.export_address(principal.account_id, address)
                   if self._contacts else None)
        audit_id = self._audit(principal, "export", {"messages": len(messages)}, now)
        return PrivacyExport(email=address, generated_at=iso(now), messages=messages,
                             suppression=public(suppression) if suppression else None,
                             contact=contact, audit_id=audit_id)

    def erase(self, principal: Principal, email: str, now: datetime) -> ErasureOut:
        address = address_of(email).lower()
        messages = events = objects = 0
        for message in self._store.messages_to(principal.account_id, address):
            items = self._store.timeline(principal.account_id, message["message_id"])
            if message.get("offload_key"):
                self._content.delete(message["offload_key"])  # scheduled or large content
                objects += 1
            self._store.delete_keys([{"pk": i["pk"], "sk": i["sk"]} for i in items])
            messages, events = messages + 1, events + len(items) - 1
        suppression = self._suppressions.keep_hash_only(principal.account_id, address, now)
        contacts = (self._contacts.erase_address(principal.account_id, address, now)
                    if self._contacts else 0)
        counts = {"messages": messages, "events": events, "objects": objects,
                  "contacts": contacts}
        audit_id = self._audit(principal, "erasure", counts, now)
        return ErasureOut(audit_id=audit_id, messages_deleted=messages, events_deleted=events,
                          objects_deleted=objects, contacts_deleted=contacts,
                          suppression=suppression)  # type: ignore[arg-type]

    def audit_log(self, account_id: str) -> AuditList:
        return AuditList(data=[AuditRecord(id=a["audit_id"], action=a["action"],
                                           key_id=a["key_id"], at=a["at"], counts=a["counts"])
                               for a in self._store.audits(account_id)])

    def _audit(self, principal: Principal, action: str, counts: dict[str, int],
               now: datetime) -> str:
        audit_id = new_id("aud")
        self._store.put_audit(principal.account_id, {
            "audit_id": audit_id, "action": action, "key_id": principal.key_id, "at": iso(now),
            "counts": counts}, now)
        return audit_id

    def export_account(self, principal: Principal, limit: int,
                       cursor: str | None) -> AccountExport:
        """Everything the account stored, a page at a time (API keys on the first page)."""
        items = [] if cursor else [ExportItem(type="api_key", data=key) for key in
                                   self._accounts.list_keys(principal.account_id)]
        page, next_cursor = self._store.account_page(principal.account_id, limit, cursor)
        for item in page:
            kind = item_type(item["sk"])
            if kind is not None:
                items.append(ExportItem(type=kind, data=public(item)))
        return AccountExport(account=self._accounts.describe(principal.account_id),
                             items=items, has_more=next_cursor is not None,
                             next_cursor=next_cursor)

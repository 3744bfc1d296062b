"""Data-subject rights (export and erasure of one recipient's data) and the account export.

Both find a person through the address index (``adapters/address_index.py``): every message
naming the address in to, cc, bcc or Reply-To, by a keyed hash, a page at a time. Erasure is a
job: the request records it (its audit record: who, when, the address's hash, state, counts)
and queues it; the privacy queue's consumer (``consumers.py``) runs it off the request path,
step by step, each step idempotent and checkpointed in the record, so a worker that dies
mid-way is resumed by the queue's redelivery and finishes the same work exactly once.

Erasure deletes every message naming the person (a message with several recipients goes as a
whole: its headers cannot be kept without the address), their events, their index pointers
and any stored content; the suppression list keeps only a keyed hash, so the address stays
suppressed without being stored; the marketing contact goes too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from chalicelib.account_models import (AccountExport, AccountOut, AuditList, AuditRecord,
                                       ErasureOut, ExportItem, PrivacyExport, PrivacyJob)
from chalicelib.accounts import Principal
from chalicelib.clock import iso
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import has_prefix, new_id
from chalicelib.models import address_of

# Never leaves the table: keys, index attributes, bookkeeping, and anything secret.
_INTERNAL = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk",
             "gsi4sk", "expiry_bucket", "status_rank", "recipients", "tag_keys", "claim_until",
             "retention_class", "reply_to_addresses"}
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
ERASURE_STEPS = ("suppression", "contacts", "backfill", "messages")
PAGE = 100  # index keys read per step of an erasure
_COUNTS = ("messages", "events", "objects", "contacts")


class PrivacyStore(Protocol):
    def messages_to(self, account_id: str, address: str) -> list[dict[str, Any]]: ...
    def timeline(self, account_id: str, message_id: str, pk: str | None = None
                 ) -> list[dict[str, Any]]: ...
    def pointers(self, pk: str, message_id: str) -> list[dict[str, Any]]: ...
    def delete_keys(self, keys: list[dict[str, str]]) -> int: ...
    def put_audit(self, account_id: str, record: dict[str, Any], now: datetime) -> None: ...
    def get_audit(self, account_id: str, audit_id: str) -> dict[str, Any] | None: ...
    def update_audit(self, account_id: str, audit_id: str, fields: dict[str, Any],
                     add: dict[str, int] | None = None, remove: tuple[str, ...] = ()
                     ) -> None: ...
    def audits(self, account_id: str) -> list[dict[str, Any]]: ...
    def account_page(self, account_id: str, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]: ...


class AddressIndex(Protocol):
    """``adapters/address_index.py``: keys naming an address, and the backfill."""

    def page(self, account_id: str, address_hash: str, limit: int, cursor: str | None
             ) -> tuple[list[dict[str, str]], str | None]: ...
    def backfill_done(self, account_id: str) -> bool: ...
    def backfill_page(self, account_id: str, listing: Callable[[str | None], tuple[
            list[dict[str, Any]], str | None]], now: datetime) -> bool: ...


class Listing(Protocol):
    def listing_page(self, kind: str, account_id: str, low: str, high: str, limit: int,
                     cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def migrate_listing_page(self, account_id: str) -> bool: ...


class Jobs(Protocol):
    def enqueue(self, command: BaseModel, delay_seconds: int = 0) -> str: ...


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
    return None  # the account record itself, and pointers (DOMID#, ADDR#)


def erasure_out(record: dict[str, Any]) -> ErasureOut:
    counts = record.get("counts") or {}
    return ErasureOut(id=record["audit_id"], audit_id=record["audit_id"],
                      state=record.get("state", "done"), key_id=record["key_id"],
                      at=record["at"], address_hash=record.get("address_hash", ""),
                      finished_at=record.get("finished_at"),
                      messages_deleted=int(counts.get("messages", 0)),
                      events_deleted=int(counts.get("events", 0)),
                      objects_deleted=int(counts.get("objects", 0)),
                      contacts_deleted=int(counts.get("contacts", 0)),
                      suppression=record.get("suppression"))


class PrivacyService:
    def __init__(self, store: PrivacyStore, suppressions: Suppressions, content: Content,
                 accounts: Accounts, contacts: Contacts | None = None,
                 index: AddressIndex | None = None, listing: Listing | None = None,
                 hasher: Callable[[str, str], str] | None = None,
                 jobs: Jobs | None = None) -> None:
        self._contacts = contacts
        self._store = store
        self._suppressions = suppressions
        self._content = content
        self._accounts = accounts
        self._index = index
        self._listing = listing
        self._hash = hasher
        self._jobs = jobs

    def _address_hash(self, account_id: str, address: str) -> str:
        assert self._hash is not None, "wired with the deployment's keyed hash"
        return self._hash(account_id, address)

    def export(self, principal: Principal, email: str, now: datetime,
               cursor: str | None = None, limit: int = PAGE) -> PrivacyExport:
        """A page of the messages naming the address (with their timelines), its suppression
        entry and contact; the audit record is written with the first page."""
        address = address_of(email).lower()
        account_id = principal.account_id
        following = None
        if self._index is not None and self._index.backfill_done(account_id):
            keys, following = self._index.page(account_id, self._address_hash(
                account_id, address), limit, cursor)
            found = [(k["message_id"], k["pk"]) for k in keys]
        elif cursor:  # cursors come from the index only
            raise ValidationFailed("cursor is not valid for this listing",
                                   details=[{"field": "cursor", "message": "invalid cursor"}])
        else:  # not yet backfilled: the account's own listing, filtered (bounded: 90 days)
            found = [(m["message_id"], str(m["pk"])) for m in
                     self._store.messages_to(account_id, address)]
            if self._index is not None and self._jobs is not None:
                self._jobs.enqueue(PrivacyJob(kind="backfill", account_id=account_id))
        messages = []
        for message_id, pk in found:
            items = self._store.timeline(account_id, message_id, pk)
            if items and items[0]["sk"] == f"EM#{message_id}":
                messages.append({**public(items[0]), "events": [public(i) for i in items[1:]]})
        suppression = self._suppressions.record_for(account_id, address)
        contact = (self._contacts.export_address(account_id, address)
                   if self._contacts else None)
        audit_id = (self._audit(principal, "export", {"messages": len(messages)}, now)
                    if not cursor else "")
        return PrivacyExport(email=address, generated_at=iso(now), messages=messages,
                             suppression=public(suppression) if suppression else None,
                             contact=contact, audit_id=audit_id,
                             has_more=following is not None, next_cursor=following)

    def erase(self, principal: Principal, email: str, now: datetime) -> ErasureOut:
        """Record the erasure job (its audit record) and queue it; the queue's consumer runs
        it (``run_erasure``). Answers at once with the job's state."""
        assert self._jobs is not None, "wired with the privacy queue"
        address = address_of(email).lower()
        audit_id = new_id("aud")
        record = {"audit_id": audit_id, "action": "erasure", "key_id": principal.key_id,
                  "at": iso(now), "address_hash": self._address_hash(principal.account_id,
                                                                     address),
                  "state": "queued", "steps_done": [],
                  "counts": dict.fromkeys(_COUNTS, 0)}
        self._store.put_audit(principal.account_id, record, now)
        try:
            self._jobs.enqueue(PrivacyJob(kind="erasure", account_id=principal.account_id,
                                          job_id=audit_id, email=address))
        except Exception:
            self._store.update_audit(principal.account_id, audit_id, {"state": "failed"})
            raise
        return erasure_out(record)

    def erasure(self, account_id: str, job_id: str) -> ErasureOut:
        record = (self._store.get_audit(account_id, job_id)
                  if has_prefix(job_id, "aud") else None)
        if record is None or record.get("action") != "erasure":
            raise NotFound(f"no erasure {job_id}")
        return erasure_out(record)

    def run_job(self, job: PrivacyJob, now: datetime,
                time_left: Callable[[], float] = lambda: 60.0) -> str:
        """One run of a queued job, until it is done or the Lambda's time runs low (then the
        job is queued again and resumes from its checkpoint)."""
        if job.kind == "backfill":
            done = self._backfill(job.account_id, now, time_left)
        elif job.kind == "listing":
            done = self._move_listing(job.account_id, time_left)
        else:
            done = self._erase_steps(job, now, time_left)
        if not done:
            assert self._jobs is not None
            self._jobs.enqueue(job)
            return "continued"
        return "done"

    def job_failed(self, job: PrivacyJob, now: datetime) -> str:
        """Retries exhausted: the audit record says so (the request can be made again)."""
        if job.kind != "erasure" or job.job_id is None:
            return "ignored"
        record = self._store.get_audit(job.account_id, job.job_id)
        if record is None or record.get("state") == "done":
            return "already_finished"
        self._store.update_audit(job.account_id, job.job_id,
                                 {"state": "failed", "finished_at": iso(now)})
        return "failed"

    def _backfill(self, account_id: str, now: datetime,
                  time_left: Callable[[], float]) -> bool:
        assert self._index is not None and self._listing is not None
        listing = self._listing

        def page(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            return listing.listing_page("EMAILS", account_id, "0", "~", PAGE, cursor)
        while not self._index.backfill_page(account_id, page, now):
            if time_left() < 20:
                return False
        return True

    def _move_listing(self, account_id: str, time_left: Callable[[], float]) -> bool:
        """The account's emails from the old listing index to the new one, a page at a time
        (``adapters/email_listing.py``)."""
        assert self._listing is not None
        while not self._listing.migrate_listing_page(account_id):
            if time_left() < 20:
                return False
        return True

    def _erase_steps(self, job: PrivacyJob, now: datetime,
                     time_left: Callable[[], float]) -> bool:
        account_id, job_id, address = job.account_id, job.job_id, job.email
        assert job_id is not None and address is not None
        record = self._store.get_audit(account_id, job_id)
        if record is None or record.get("state") in ("done", "failed"):
            return True  # gone with the account, finished, or given up
        done = list(record.get("steps_done") or [])
        if record.get("state") != "running":
            self._store.update_audit(account_id, job_id, {"state": "running"})
        for step in ERASURE_STEPS:
            if step in done:
                continue
            if step == "suppression":
                result = self._suppressions.keep_hash_only(account_id, address, now)
                self._step(account_id, job_id, done, step, {"suppression": result})
            elif step == "contacts":
                erased = (self._contacts.erase_address(account_id, address, now)
                          if self._contacts else 0)
                self._step(account_id, job_id, done, step, {}, {"contacts": erased})
            elif step == "backfill":
                if not self._backfill(account_id, now, time_left):
                    return False
                self._step(account_id, job_id, done, step, {})
            elif not self._erase_messages(account_id, job_id, record, time_left):
                return False
            else:
                self._step(account_id, job_id, done, step, {})
        self._store.update_audit(account_id, job_id, {"state": "done",
                                                      "finished_at": iso(now)})
        return True

    def _step(self, account_id: str, job_id: str, done: list[str], step: str,
              fields: dict[str, Any], add: dict[str, int] | None = None) -> None:
        done.append(step)
        self._store.update_audit(account_id, job_id, {**fields, "steps_done": done}, add)

    def _erase_messages(self, account_id: str, job_id: str, record: dict[str, Any],
                        time_left: Callable[[], float]) -> bool:
        """Page by page through the index. Each page is written down (``pending``: its
        messages, objects and counts) before anything is deleted, and committed (counts
        added, cursor moved) after: a worker dying in between is resumed by deleting the
        pending page again (idempotent: whatever of it is left) and committing it once."""
        assert self._index is not None
        address_hash = record["address_hash"]
        pending, cursor = record.get("pending"), record.get("index_cursor")
        while True:
            if pending is None:
                keys, following = self._index.page(account_id, address_hash, PAGE, cursor)
                pending = self._plan(account_id, keys, following)
                self._store.update_audit(account_id, job_id, {"pending": pending})
            for key in pending["objects"]:
                self._content.delete(key)
            doomed = {(k["pk"], k["sk"]): k for k in pending["keys"]}
            for message_id, pk in pending["messages"]:
                for item in [*self._store.timeline(account_id, message_id, pk),
                             *self._store.pointers(pk, message_id)]:
                    doomed[(item["pk"], item["sk"])] = {"pk": item["pk"], "sk": item["sk"]}
            self._store.delete_keys(list(doomed.values()))
            cursor = pending["cursor"]
            self._store.update_audit(account_id, job_id, {"index_cursor": cursor},
                                     pending["counts"], remove=("pending",))
            pending = None
            if cursor is None:
                return True
            if time_left() < 20:
                return False

    def _plan(self, account_id: str, keys: list[dict[str, str]],
              following: str | None) -> dict[str, Any]:
        """What one page of index keys deletes: each message whole (its timeline and all its
        pointers, read again when deleting), its stored content, and the counts."""
        refs = list(dict.fromkeys((k["message_id"], k["pk"]) for k in keys))
        objects: list[str] = []
        messages = events = 0
        for message_id, pk in refs:
            items = self._store.timeline(account_id, message_id, pk)
            if items and items[0]["sk"] == f"EM#{message_id}":
                messages, events = messages + 1, events + len(items) - 1
                if items[0].get("offload_key"):
                    objects.append(str(items[0]["offload_key"]))
        return {"messages": [list(r) for r in refs], "objects": objects, "cursor": following,
                "keys": [{"pk": k["pk"], "sk": k["sk"]} for k in keys],
                "counts": {"messages": messages, "events": events, "objects": len(objects)}}

    def audit_log(self, account_id: str) -> AuditList:
        return AuditList(data=[AuditRecord(id=a["audit_id"], action=a["action"],
                                           key_id=a["key_id"], at=a["at"], counts=a["counts"],
                                           state=a.get("state"),
                                           address_hash=a.get("address_hash"))
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

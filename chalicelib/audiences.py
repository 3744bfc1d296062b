"""Segments, topics and CSV imports: who a broadcast can reach.

An import is uploaded to S3 (``imports/``) and read by the marketing queue's consumer a
chunk of rows at a time, so a large file never holds up the request; the report names each
skipped row by number and reason, never by address. Contacts are matched by address, so
importing the same file again creates nothing and reports every row unchanged.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from chalicelib.accounts import Principal
from chalicelib.clock import iso
from chalicelib.contacts import ContactService, MarketingStore, contact_out
from chalicelib.errors import Conflict, LetterboxError, NotFound, ValidationFailed
from chalicelib.ids import has_prefix, new_id
from chalicelib.marketing_models import (ContactCreate, ContactPage, ImportCreate, ImportOut,
                                         MarketingJob, SegmentCreate, SegmentOut, SegmentPage,
                                         TopicCreate, TopicOut, TopicPage, TopicUpdate)

IMPORT_CHUNK_ROWS = 1000  # rows per queue record: one Lambda run stays well inside its timeout
MAX_REPORTED_ERRORS = 1000
_STANDARD = {"email", "first_name", "last_name", "unsubscribed"}


class AudienceStore(MarketingStore, Protocol):
    def put_object(self, account_id: str, kind: str, object_id: str,
                   record: dict[str, Any]) -> None: ...
    def objects_page(self, account_id: str, kind: str, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]: ...
    def delete_object(self, account_id: str, kind: str, object_id: str) -> None: ...
    def members_page(self, account_id: str, segment_id: str, limit: int, cursor: str | None
                     ) -> tuple[list[str], str | None]: ...


class Files(Protocol):
    def put(self, key: str, body: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


class Jobs(Protocol):
    def enqueue(self, command: BaseModel, delay_seconds: int = 0) -> str: ...


class AudienceService:
    def __init__(self, store: AudienceStore, contacts: ContactService, files: Files,
                 jobs: Jobs) -> None:
        self._store = store
        self._contacts = contacts
        self._files = files
        self._jobs = jobs

    # Segments

    def create_segment(self, account_id: str, request: SegmentCreate,
                       now: datetime) -> SegmentOut:
        record: dict[str, Any] = {
            "segment_id": new_id("seg"), "name": request.name, "created_at": iso(now),
            "double_opt_in": request.double_opt_in.model_dump(by_alias=True)
            if request.double_opt_in else None}
        self._store.put_object(account_id, "SEG", record["segment_id"], record)
        return _segment_out(record)

    def segment(self, account_id: str, segment_id: str) -> SegmentOut:
        return _segment_out(self._owned(account_id, "SEG", "seg", segment_id))

    def segments(self, account_id: str, limit: int, cursor: str | None) -> SegmentPage:
        items, next_cursor = self._store.objects_page(account_id, "SEG", limit, cursor)
        return SegmentPage(data=[_segment_out(i) for i in items],
                           has_more=next_cursor is not None, next_cursor=next_cursor)

    def rename_segment(self, account_id: str, segment_id: str, name: str) -> SegmentOut:
        """A new name (checked like a new segment's); members and double opt-in stay."""
        record = self._owned(account_id, "SEG", "seg", segment_id)
        try:
            checked = SegmentCreate.model_validate({"name": name}).name
        except ValidationError as err:
            raise ValidationFailed(f"name: {err.errors()[0]['msg']}",
                                   details=[{"field": "name"}]) from err
        record = {**record, "name": checked}
        self._store.put_object(account_id, "SEG", segment_id, record)
        return _segment_out(record)

    def delete_segment(self, account_id: str, segment_id: str, now: datetime) -> None:
        """The segment and its memberships go; its contacts stay, in their other segments."""
        self._owned(account_id, "SEG", "seg", segment_id)
        self._store.delete_object(account_id, "SEG", segment_id)
        cursor: str | None = None
        while True:
            ids, cursor = self._store.members_page(account_id, segment_id, 100, cursor)
            for record in self._store.get_contacts(account_id, ids):
                self._store.put_contact(account_id, {
                    **record, "segment_ids": [s for s in record.get("segment_ids", [])
                                              if s != segment_id], "updated_at": iso(now)})
            for contact_id in ids:
                self._store.remove_member(account_id, segment_id, contact_id)
            if cursor is None:
                return

    def add_member(self, account_id: str, segment_id: str, contact: str,
                   now: datetime) -> None:
        self._owned(account_id, "SEG", "seg", segment_id)
        record = self._contacts._find(account_id, contact)
        if segment_id not in record.get("segment_ids", []):
            record = {**record, "segment_ids": [*record.get("segment_ids", []), segment_id],
                      "updated_at": iso(now)}
            self._store.put_contact(account_id, record)
        self._store.add_member(account_id, segment_id, record["contact_id"])

    def remove_member(self, account_id: str, segment_id: str, contact: str,
                      now: datetime) -> None:
        self._owned(account_id, "SEG", "seg", segment_id)
        record = self._contacts._find(account_id, contact)
        if segment_id not in record.get("segment_ids", []):
            raise NotFound("that contact is not in this segment")
        self._store.put_contact(account_id, {
            **record, "segment_ids": [s for s in record["segment_ids"] if s != segment_id],
            "updated_at": iso(now)})
        self._store.remove_member(account_id, segment_id, record["contact_id"])

    def members(self, account_id: str, segment_id: str, limit: int,
                cursor: str | None) -> ContactPage:
        self._owned(account_id, "SEG", "seg", segment_id)
        ids, next_cursor = self._store.members_page(account_id, segment_id, limit, cursor)
        found = {r["contact_id"]: r for r in self._store.get_contacts(account_id, ids)}
        return ContactPage(data=[contact_out(found[i]) for i in ids if i in found],
                           has_more=next_cursor is not None, next_cursor=next_cursor)

    # Topics

    def create_topic(self, account_id: str, request: TopicCreate, now: datetime) -> TopicOut:
        record = {"topic_id": new_id("top"), **request.model_dump(), "created_at": iso(now)}
        self._store.put_object(account_id, "TOPIC", record["topic_id"], record)
        return _topic_out(record)

    def topic(self, account_id: str, topic_id: str) -> TopicOut:
        return _topic_out(self._owned(account_id, "TOPIC", "top", topic_id))

    def update_topic(self, account_id: str, topic_id: str, request: TopicUpdate) -> TopicOut:
        record = {**self._owned(account_id, "TOPIC", "top", topic_id),
                  **{k: v for k, v in request.model_dump(exclude_unset=True).items()
                     if v is not None or k == "description"}}
        self._store.put_object(account_id, "TOPIC", topic_id, record)
        return _topic_out(record)

    def delete_topic(self, account_id: str, topic_id: str) -> None:
        self._owned(account_id, "TOPIC", "top", topic_id)
        self._store.delete_object(account_id, "TOPIC", topic_id)

    def topics(self, account_id: str, limit: int, cursor: str | None) -> TopicPage:
        items, next_cursor = self._store.objects_page(account_id, "TOPIC", limit, cursor)
        return TopicPage(data=[_topic_out(i) for i in items], has_more=next_cursor is not None,
                         next_cursor=next_cursor)

    # Imports

    def start_import(self, principal: Principal, request: ImportCreate,
                     now: datetime) -> ImportOut:
        if request.segment_id is not None:
            self._owned(principal.account_id, "SEG", "seg", request.segment_id)
        try:  # the whole file parses here, so the worker never retries a malformed one
            rows = list(csv.reader(io.StringIO(request.csv, newline="")))
        except csv.Error as err:
            raise ValidationFailed(f"csv: not readable as CSV ({err})",
                                   details=[{"field": "csv", "message": str(err)}]) from err
        header = rows[0] if rows else []
        if "email" not in [h.strip().lower() for h in header]:
            raise ValidationFailed("the CSV's first row must be a header with an 'email' column",
                                   details=[{"field": "csv"}])
        import_id = new_id("imp")
        key = f"imports/{principal.account_id}/{import_id}.csv"
        self._files.put(key, request.csv.encode())
        record: dict[str, Any] = {"import_id": import_id, "status": "queued", "file_key": key,
                  "segment_id": request.segment_id, "key_id": principal.key_id,
                  "on_conflict": request.on_conflict,
                  "double_opt_in": request.double_opt_in.model_dump(by_alias=True)
                  if request.double_opt_in else None,
                  "created": 0, "updated": 0, "skipped": 0, "errors": [],
                  "created_at": iso(now), "completed_at": None}
        self._store.put_object(principal.account_id, "IMPORT", import_id, record)
        self._jobs.enqueue(MarketingJob(kind="import", account_id=principal.account_id,
                                        object_id=import_id))
        return _import_out(record)

    def imports(self, account_id: str, limit: int, cursor: str | None
                ) -> tuple[list[ImportOut], str | None]:
        """A page of the account's imports, newest first, and the next page's cursor."""
        items, next_cursor = self._store.objects_page(account_id, "IMPORT", limit, cursor)
        return [_import_out(i) for i in items], next_cursor

    def get_import(self, account_id: str, import_id: str) -> ImportOut:
        return _import_out(self._owned(account_id, "IMPORT", "imp", import_id))

    def run_import(self, job: MarketingJob, principal: Principal, now: datetime) -> str:
        """One chunk of rows; the next chunk goes back on the queue. Re-running a chunk after
        a crash is harmless: rows match existing contacts by address."""
        record = self._store.get_object(job.account_id, "IMPORT", job.object_id)
        if record is None or record["status"] == "completed":
            return "done"
        start = int(job.cursor or 0)
        if int(record.get("next_row", 0)) > start:
            return "done"  # this chunk was already counted (a redelivered record)
        rows = list(csv.reader(io.StringIO(self._files.get(record["file_key"]).decode(),
                                           newline="")))
        header = [h.strip().lower() for h in rows[0]]
        stop = min(len(rows), max(start, 1) + IMPORT_CHUNK_ROWS)
        for number in range(max(start, 1), stop):
            outcome, reason = self._import_row(principal, header, rows[number], record, now)
            if outcome == "skipped" and len(record["errors"]) < MAX_REPORTED_ERRORS:
                record["errors"].append({"row": number + 1, "reason": reason})
            record[outcome] += 1
        record.update(status="processing", next_row=stop)
        if stop >= len(rows):
            record.update(status="completed", completed_at=iso(now))
            self._files.delete(record["file_key"])
        self._store.put_object(job.account_id, "IMPORT", job.object_id, record)
        if stop < len(rows):
            self._jobs.enqueue(job.model_copy(update={"cursor": str(stop)}))
        return str(record["status"])

    def _import_row(self, principal: Principal, header: list[str], row: list[str],
                    record: dict[str, Any], now: datetime) -> tuple[str, str]:
        if not any(cell.strip() for cell in row):
            return "skipped", "empty row"
        if len(row) != len(header):
            return "skipped", f"has {len(row)} columns; the header has {len(header)}"
        values = {h: cell.strip() for h, cell in zip(header, row, strict=True)}
        if not values.get("email"):
            return "skipped", "email is empty"
        try:
            unsubscribed = _flag(values.get("unsubscribed", ""))
            properties = {_prop_name(h): _typed(h, v) for h, v in values.items()
                          if h not in _STANDARD and h and v != ""}
            request = ContactCreate.model_validate({
                "email": values["email"], "first_name": values.get("first_name") or None,
                "last_name": values.get("last_name") or None, "properties": properties,
                "unsubscribed": unsubscribed,
                "segment_ids": [record["segment_id"]] if record.get("segment_id") else [],
                "double_opt_in": record.get("double_opt_in")})
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "row"
            return "skipped", f"{field}: {first['msg']}"
        except ValueError as err:
            return "skipped", str(err)
        update = record.get("on_conflict", "upsert") == "upsert"
        try:
            _, outcome = self._contacts.upsert(principal, request, now, "import",
                                               update_existing=update)
        except Conflict as err:
            return "skipped", err.message if update else "already a contact"
        except LetterboxError as err:
            return "skipped", err.message
        return ("skipped", "unchanged") if outcome == "unchanged" else (outcome, "")

    def _owned(self, account_id: str, kind: str, prefix: str, object_id: str
               ) -> dict[str, Any]:
        found = (self._store.get_object(account_id, kind, object_id)
                 if has_prefix(object_id, prefix) else None)
        if found is None:
            raise NotFound(f"no {kind.lower()} {object_id}")
        return found


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("", "false", "0", "no"):
        return False
    if value in ("true", "1", "yes"):
        return True
    raise ValueError(f"unsubscribed must be true or false, not {raw!r}")


def _prop_name(header: str) -> str:
    return header.split(":", 1)[0]


def _typed(header: str, raw: str) -> str | int | float | bool:
    """A ``name:number`` or ``name:boolean`` column is typed; any other is text."""
    kind = header.partition(":")[2]
    if kind == "number":
        try:
            number = float(raw)
        except ValueError as err:
            raise ValueError(f"{_prop_name(header)} must be a number") from err
        return int(number) if number.is_integer() and "." not in raw else number
    if kind == "boolean":
        return _flag(raw) if raw.lower() in ("true", "false", "1", "0", "yes", "no") else \
            _raise(f"{_prop_name(header)} must be true or false")
    return raw


def _raise(message: str) -> bool:
    raise ValueError(message)


def _segment_out(record: dict[str, Any]) -> SegmentOut:
    return SegmentOut(id=record["segment_id"], name=record["name"],
                      double_opt_in=bool(record.get("double_opt_in")),
                      created_at=record["created_at"])


def _topic_out(record: dict[str, Any]) -> TopicOut:
    return TopicOut(id=record["topic_id"], name=record["name"],
                    description=record.get("description"), default=record["default"],
                    created_at=record["created_at"])


def _import_out(record: dict[str, Any]) -> ImportOut:
    return ImportOut(id=record["import_id"], status=record["status"],
                     created=record["created"], updated=record["updated"],
                     skipped=record["skipped"], errors=record["errors"],
                     created_at=record["created_at"], completed_at=record.get("completed_at"))

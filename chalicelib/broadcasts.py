"""Broadcasts: one email to every eligible contact of a segment (and topic), through the
marketing stream and the batch send path, at a controlled rate, resumable without sending
anyone twice.

This module holds the broadcast itself (compose, edit, schedule, cancel, stats, preview);
``broadcast_sender.py`` works the queued chunks. Stats are the per-recipient markers, moved
forward by the emails' own events: no shared counter is written per recipient.
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from chalicelib.accounts import Principal
from chalicelib.clock import iso
from chalicelib.contacts import template_contact
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.ids import has_prefix, new_id
from chalicelib.marketing_models import (BroadcastCreate, BroadcastOut, BroadcastPage,
                                         BroadcastSend, BroadcastUpdate, MarketingJob,
                                         RecipientOut, RecipientPage)
from chalicelib.mime import Content
from chalicelib.templates import TemplateError, render
from chalicelib.vocabulary import EMAIL_STATUS_RANK, SQS_MAX_DELAY

EDITABLE = ("draft", "scheduled")
STAT_KEYS = ("queued", "sent", "delivered", "bounced", "complained", "opened", "clicked",
             "unsubscribed", "suppressed", "failed", "skipped")



class BroadcastStore(Protocol):
    def put_object(self, account_id: str, kind: str, object_id: str,
                   record: dict[str, Any]) -> None: ...
    def get_object(self, account_id: str, kind: str,
                   object_id: str) -> dict[str, Any] | None: ...
    def objects_page(self, account_id: str, kind: str, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]: ...
    def update_object(self, account_id: str, kind: str, object_id: str,
                      fields: dict[str, Any], from_status: tuple[str, ...],
                      expected: dict[str, Any] | None = None) -> dict[str, Any] | None: ...
    def delete_object(self, account_id: str, kind: str, object_id: str) -> None: ...
    def get_contacts(self, account_id: str, contact_ids: list[str]) -> list[dict[str, Any]]: ...
    def members_page(self, account_id: str, segment_id: str, limit: int, cursor: str | None
                     ) -> tuple[list[str], str | None]: ...
    def claim_recipient(self, account_id: str, broadcast_id: str, contact_id: str,
                        record: dict[str, Any]) -> bool: ...
    def get_recipients(self, account_id: str, broadcast_id: str,
                       contact_ids: list[str]) -> list[dict[str, Any]]: ...
    def set_recipient(self, account_id: str, broadcast_id: str, contact_id: str,
                      fields: dict[str, Any]) -> None: ...
    def delete_recipient(self, account_id: str, broadcast_id: str, contact_id: str) -> None: ...
    def recipient_event(self, account_id: str, broadcast_id: str, contact_id: str,
                        status: str | None, rank: int, url: str | None, opened: bool) -> None: ...
    def recipients_page(self, account_id: str, broadcast_id: str, limit: int,
                        cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def all_recipients(self, account_id: str, broadcast_id: str) -> Any: ...


class Jobs(Protocol):
    def enqueue(self, command: BaseModel, delay_seconds: int = 0) -> str: ...


class TemplateSource(Protocol):
    def source(self, account_id: str, template_id: str) -> dict[str, Any]: ...


def broadcast_content(record: dict[str, Any], templates: TemplateSource) -> dict[str, Any]:
    if record.get("template_id"):
        source = dict(templates.source(record["account_id"], record["template_id"]))
        if record.get("subject"):
            source["subject"] = record["subject"]
    else:
        source = {k: record.get(k) for k in ("subject", "html", "text")}
    if record.get("preview_text") and source.get("html"):  # the inbox's preview line
        source["html"] = ("<div style=\"display:none;max-height:0;overflow:hidden\">"
                          f"{record['preview_text']}</div>" + str(source["html"]))
    return source


class BroadcastService:
    def __init__(self, store: BroadcastStore, templates: TemplateSource, jobs: Jobs) -> None:
        self._store = store
        self._templates = templates
        self._jobs = jobs

    def create(self, account_id: str, request: BroadcastCreate, now: datetime) -> BroadcastOut:
        record = {"broadcast_id": new_id("bc"), "account_id": account_id, "status": "draft",
                  **request.model_dump(by_alias=True), "created_at": iso(now),
                  "updated_at": iso(now)}
        self._check(account_id, record)
        self._store.put_object(account_id, "BC", record["broadcast_id"], record)
        return self._out(record)

    def update(self, account_id: str, broadcast_id: str, request: BroadcastUpdate,
               now: datetime) -> BroadcastOut:
        """Change a draft, or a scheduled broadcast that has not started sending (its content,
        audience, rate or send time). The write is conditional on the status, so an edit and
        the run that starts sending cannot both win: after sending began it is a 409."""
        given = request.model_dump(by_alias=True, exclude_unset=True)
        moment = given.pop("scheduled_at", None)
        if "scheduled_at" in request.model_fields_set and moment is None:
            raise ValidationFailed("scheduled_at: a date and time; to stop a scheduled "
                                   "broadcast, cancel it", details=[{"field": "scheduled_at"}])
        found = self._owned(account_id, broadcast_id)
        if moment is not None and found["status"] == "draft":
            raise ValidationFailed(f"scheduled_at: broadcast {broadcast_id} is a draft; "
                                   "schedule it with POST /v1/broadcasts/{id}/send",
                                   details=[{"field": "scheduled_at"}])
        record = {**found, **given, "updated_at": iso(now)}
        self._check(account_id, record)
        changes: dict[str, Any] = {k: record.get(k) for k in given}
        allowed: tuple[str, ...] = EDITABLE
        due = None
        if moment is not None:
            due = max(moment, now)
            changes.update(scheduled_at=iso(due), due_at=int(due.timestamp()))
            allowed = ("scheduled",)
        if self._store.update_object(account_id, "BC", broadcast_id,
                                     {**changes, "updated_at": iso(now)}, allowed) is None:
            raise Conflict(self._too_late(account_id, broadcast_id))
        if due is not None:  # the earlier time's queue record finds a changed time and stops
            self._enqueue_start(account_id, broadcast_id, due, now)
        return self.get(account_id, broadcast_id)

    def _too_late(self, account_id: str, broadcast_id: str) -> str:
        status = self._owned(account_id, broadcast_id)["status"]
        if status in ("sending", "sent"):
            return (f"broadcast {broadcast_id} is {status}: sending already began, so it can "
                    "no longer be changed (cancel stops what is not yet queued)")
        return f"broadcast {broadcast_id} is {status}: it can no longer be changed"

    def _enqueue_start(self, account_id: str, broadcast_id: str, due: datetime,
                       now: datetime) -> None:
        delay = min(int((due - now).total_seconds()), int(SQS_MAX_DELAY.total_seconds()))
        self._jobs.enqueue(MarketingJob(kind="broadcast", account_id=account_id,
                                        object_id=broadcast_id, due_at=int(due.timestamp())),
                           max(0, delay))

    def send(self, principal: Principal, broadcast_id: str, request: BroadcastSend,
             now: datetime) -> BroadcastOut:
        record = self._owned(principal.account_id, broadcast_id)
        due = max(request.scheduled_at or now, now)
        status = "scheduled" if due > now + timedelta(seconds=1) else "sending"
        if self._store.update_object(principal.account_id, "BC", broadcast_id, {
                "status": status, "scheduled_at": iso(due), "due_at": int(due.timestamp()),
                "key_id": principal.key_id, "updated_at": iso(now)}, ("draft",)) is None:
            raise Conflict(f"broadcast {broadcast_id} is {record['status']}: only a draft can "
                           "be sent, and each broadcast is sent once")
        self._enqueue_start(principal.account_id, broadcast_id, due, now)
        return self.get(principal.account_id, broadcast_id)

    def cancel(self, account_id: str, broadcast_id: str, now: datetime) -> BroadcastOut:
        record = self._owned(account_id, broadcast_id)
        if self._store.update_object(account_id, "BC", broadcast_id, {
                "status": "cancelled", "updated_at": iso(now)},
                ("draft", "scheduled", "sending")) is None:
            raise Conflict(f"broadcast {broadcast_id} is {record['status']}")
        return self.get(account_id, broadcast_id)

    def delete(self, account_id: str, broadcast_id: str, now: datetime) -> None:
        """A draft or a scheduled broadcast goes; one that started sending stays, with its
        recipients and stats (cancel stops it). Cancelled first, so a due run finds nothing."""
        record = self._owned(account_id, broadcast_id)
        if self._store.update_object(account_id, "BC", broadcast_id, {
                "status": "cancelled", "updated_at": iso(now)}, ("draft", "scheduled")) is None:
            raise Conflict(f"broadcast {broadcast_id} is {record['status']}: only a draft or "
                           "a scheduled broadcast can be removed")
        self._store.delete_object(account_id, "BC", broadcast_id)

    def get(self, account_id: str, broadcast_id: str) -> BroadcastOut:
        record = self._owned(account_id, broadcast_id)
        stats = dict.fromkeys(STAT_KEYS, 0)
        clicks: dict[str, int] = {}
        for item in self._store.all_recipients(account_id, broadcast_id):
            stats[item["status"]] = stats.get(item["status"], 0) + 1
            stats["opened"] += bool(item.get("opened"))
            stats["clicked"] += bool(item.get("clicked"))
            for url in item.get("clicked_urls") or []:
                clicks[url] = clicks.get(url, 0) + 1
        return self._out(record, stats, clicks)

    def list(self, account_id: str, limit: int, cursor: str | None) -> BroadcastPage:
        items, next_cursor = self._store.objects_page(account_id, "BC", limit, cursor)
        return BroadcastPage(data=[self._out(i) for i in items],
                             has_more=next_cursor is not None, next_cursor=next_cursor)

    def recipients(self, account_id: str, broadcast_id: str, limit: int, cursor: str | None,
                   status: str | None) -> RecipientPage:
        self._owned(account_id, broadcast_id)
        items, next_cursor = self._store.recipients_page(account_id, broadcast_id, limit, cursor)
        items = [i for i in items if status is None or i["status"] == status
                 or (status == "opened" and i.get("opened"))
                 or (status == "clicked" and i.get("clicked"))]
        contacts = {c["contact_id"]: c for c in self._store.get_contacts(
            account_id, [i["contact_id"] for i in items])}
        return RecipientPage(data=[RecipientOut(
            contact_id=i["contact_id"], email=contacts.get(i["contact_id"], {}).get("email"),
            status=i["status"], email_id=i.get("message_id"), opened=bool(i.get("opened")),
            clicked=bool(i.get("clicked"))) for i in items],
            has_more=next_cursor is not None, next_cursor=next_cursor)

    def observe(self, account_id: str, events: builtins.list[dict[str, Any]]) -> None:
        """Emails' events move their recipient's marker (one item per recipient)."""
        for event in events:
            tags = {t.get("name"): t.get("value") for t in event.get("tags") or []}
            broadcast_id, contact_id = tags.get("broadcast"), tags.get("contact")
            if not broadcast_id or not contact_id:
                continue
            kind = event["type"]
            status = kind if kind in EMAIL_STATUS_RANK and kind not in ("queued",
                                                                         "scheduled") else None
            if kind == "unsubscribed":
                status = "unsubscribed"
            url = (event.get("data") or {}).get("url") if kind == "clicked" else None
            if status is None and kind not in ("opened", "clicked"):
                continue
            rank = 20 if status == "unsubscribed" else EMAIL_STATUS_RANK.get(status or "", 0)
            self._store.recipient_event(account_id, broadcast_id, contact_id, status,
                                        rank + 10, url, kind == "opened")

    def preview(self, account_id: str, fields: dict[str, Any], contact_id: str | None
                ) -> tuple[dict[str, Any] | None, Content]:
        """The broadcast's content (saved or not) rendered as the sender renders it, for one
        contact: the one named, else the segment's first, else a sample. Returns the contact
        record used (None for the sample) and the rendered content; a template that would
        fail raises ``TemplateError``."""
        record = {**fields, "account_id": account_id}
        contact: dict[str, Any] | None = None
        if contact_id:
            found = self._store.get_contacts(account_id, [contact_id])
            if not found:
                raise NotFound(f"no contact {contact_id}")
            contact = found[0]
        elif record.get("segment_id") and has_prefix(record["segment_id"], "seg"):
            ids, _ = self._store.members_page(account_id, record["segment_id"], 1, None)
            found = self._store.get_contacts(account_id, ids)
            contact = found[0] if found else None
        sample = contact or {"contact_id": "ct_sample", "email": "sample@example.com",
                             "first_name": "Sample", "last_name": "Reader"}
        try:
            source = broadcast_content(record, self._templates)
        except NotFound as err:
            raise ValidationFailed(err.message, details=[{"field": "template_id"}]) from err
        return contact, render(source, {"contact": template_contact(sample)})

    def _check(self, account_id: str, record: dict[str, Any]) -> None:
        if not record.get("template_id") and not (record.get("html") or record.get("text")):
            raise ValidationFailed("one of html, text or template_id is required",
                                   details=[{"field": "html"}])
        if not record.get("template_id") and not record.get("subject"):
            raise ValidationFailed("subject is required without a template",
                                   details=[{"field": "subject"}])
        for field, kind, prefix in (("segment_id", "SEG", "seg"), ("topic_id", "TOPIC", "top")):
            value = record.get(field)
            if value and (not has_prefix(value, prefix)
                          or self._store.get_object(account_id, kind, value) is None):
                raise ValidationFailed(f"no {kind.lower()} {value}", details=[{"field": field}])
        if record.get("template_id"):
            try:
                self._templates.source(account_id, record["template_id"])
            except NotFound as err:
                raise ValidationFailed(err.message, details=[{"field": "template_id"}]) from err
        try:
            render(broadcast_content(record, self._templates), {"contact": {
                "id": "ct_preview", "email": "preview@example.com", "properties": {}}})
        except TemplateError as err:
            if "missing variable" not in str(err):  # fields a real contact may have
                raise ValidationFailed(str(err), details=[{"field": "html"}]) from err

    def _owned(self, account_id: str, broadcast_id: str) -> dict[str, Any]:
        found = (self._store.get_object(account_id, "BC", broadcast_id)
                 if has_prefix(broadcast_id, "bc") else None)
        if found is None:
            raise NotFound(f"no broadcast {broadcast_id}")
        return found

    @staticmethod
    def _out(record: dict[str, Any], stats: dict[str, int] | None = None,
             clicks: dict[str, int] | None = None) -> BroadcastOut:
        return BroadcastOut.model_validate({
            **{k: record.get(k) for k in (
                "name", "status", "from", "reply_to", "subject", "preview_text", "html", "text",
                "template_id", "segment_id", "topic_id", "rate_per_minute", "scheduled_at",
                "created_at", "updated_at", "sent_at")},
            "id": record["broadcast_id"], "stats": stats or {}, "clicks": clicks or {}})

"""Email sending, API side: validate ownership, record metadata, hand the content to the queue.

Bodies never reach the table. Immediate sends ride on the queue (or in S3 when too large for
it); scheduled sends wait in S3 under ``scheduled/`` and are queued by the sweep (or at once
with an SQS delay when due within 15 minutes). Every queue record is guarded by the worker's
claim, so nothing is sent twice.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from chalicelib.accounts import Principal
from chalicelib.clock import iso
from chalicelib.email_models import (MAX_RAW_BYTES, MAX_SCHEDULE_AHEAD, BatchAccepted,
                                     BatchItemResult, EmailAccepted, EmailEventPage,
                                     EmailOut, EventOut, OffloadPointer, Reschedule,
                                     SendCommand, SendEmailRequest)
from chalicelib.errors import (AccountPaused, Conflict, DomainNotVerified, Forbidden,
                               LetterboxError, NotFound,
                               PayloadTooLarge, RetryableFailure, ValidationFailed)
from chalicelib.ids import has_prefix, new_id
from chalicelib.models import domain_of, error_fields
from chalicelib.vocabulary import EMAIL_WAITING, SQS_MAX_DELAY, EmailEventType, Event, FailureReason
SCHEDULE_SHARDS = 8  # spreads the sweep's index partition
EMAIL_EVENTS_PAGE = 50  # events shown with an email; the rest a page at a time


def _event_out(event: dict[str, Any]) -> EventOut:
    return EventOut(id=event["event_id"], type=event["type"], timestamp=event["timestamp"],
                    recipient=event.get("recipient"), data=event.get("data", {}))


class MessageStore(Protocol):
    def create(self, message: dict[str, Any], event: dict[str, Any], now: datetime) -> None: ...
    def create_many(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]],
                    now: datetime) -> None: ...
    def get_with_events(self, account_id: str,
                        message_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None: ...
    def timeline_page(self, account_id: str, message_id: str, limit: int, cursor: str | None
                      ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]: ...
    def transition(self, account_id: str, message_id: str, status: str, event: dict[str, Any],
                   now: datetime, fields: dict[str, Any] | None = None,
                   from_status: tuple[str, ...] = ("queued",)) -> bool: ...
    def cancel(self, account_id: str, message_id: str, event: dict[str, Any],
               now: datetime) -> bool: ...
    def reschedule(self, account_id: str, message_id: str, fields: dict[str, Any]) -> bool: ...


class DomainDirectory(Protocol):
    def get_by_name(self, account_id: str, name: str) -> dict[str, Any] | None: ...


class CommandQueue(Protocol):
    def enqueue(self, command: BaseModel, delay_seconds: int = 0) -> str: ...
    def enqueue_many(self, commands: list[tuple[BaseModel, int]]) -> list[str | None]: ...


class ContentStore(Protocol):
    def put(self, key: str, body: bytes) -> None: ...
    def delete(self, key: str) -> None: ...


class Quota(Protocol):
    def take_quota(self, account_id: str, count: int, now: datetime,
                   counts: dict[str, int] | None = None) -> Any: ...
    def refund(self, charge: Any, count: int | None = None, counts: bool = True) -> None: ...


class VerifiedDomains:
    """Which domains an account may send from, remembered per warm Lambda for
    ``ttl_seconds`` (only verified ones: a domain verified a moment ago sends at once)."""

    def __init__(self, domains: DomainDirectory, ttl_seconds: float = 0) -> None:
        self._domains = domains
        self._ttl = ttl_seconds
        self._seen: dict[tuple[str, str], float] = {}

    def verified(self, account_id: str, domain: str) -> bool:
        seen = self._seen.get((account_id, domain))
        if seen is not None and time.monotonic() - seen < self._ttl:
            return True
        record = self._domains.get_by_name(account_id, domain)
        ok = record is not None and record.get("status") == "verified"
        if ok and self._ttl > 0:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[(account_id, domain)] = time.monotonic()
        return ok


class TemplateSource(Protocol):
    def source(self, account_id: str, template_id: str) -> dict[str, Any]: ...


def schedule_keys(account_id: str, message_id: str, due: datetime) -> dict[str, str]:
    """Index keys that put a scheduled message in front of the sweep until it is queued."""
    shard = zlib.crc32(message_id.encode()) % SCHEDULE_SHARDS
    return {"gsi1pk": f"SCHEDULED#{shard}", "gsi1sk": f"{iso(due)}#{account_id}#{message_id}"}


@dataclass(frozen=True)
class Prepared:
    """One accepted email, ready to store and queue."""

    message: dict[str, Any]
    event: dict[str, Any]
    command: SendCommand
    delay: int | None  # None: the sweep queues it later
    offload_key: str | None


class EmailService:
    def __init__(self, messages: MessageStore, domains: DomainDirectory, queue: CommandQueue,
                 content: ContentStore, quota: Quota, templates: TemplateSource,
                 offload_bytes: int, domain_cache_seconds: float = 0) -> None:
        self._messages = messages
        self._domains = VerifiedDomains(domains, domain_cache_seconds)
        self._queue = queue
        self._content = content
        self._quota = quota
        self._templates = templates
        self._offload_bytes = offload_bytes

    def _prepare(self, principal: Principal, request: SendEmailRequest, now: datetime,
                 verified: dict[str, bool]) -> Prepared:
        if principal.sending_paused:
            raise AccountPaused("sending is paused for this account: its bounce or complaint "
                                "rate passed the safe limit; an operator can resume it")
        domain = domain_of(request.from_)
        if not principal.may_send_from(domain):
            raise Forbidden(f"this API key may not send from {domain}")
        if domain not in verified:
            verified[domain] = self._domains.verified(principal.account_id, domain)
        if not verified[domain]:
            raise DomainNotVerified(
                f"'from' must be on a verified domain of this account; {domain} is not",
                details=[{"field": "from", "domain": domain}])
        if request.raw_size() > MAX_RAW_BYTES:
            raise PayloadTooLarge("the message is over the 40 MB limit")
        template = None
        if request.template_id is not None:
            try:
                source = self._templates.source(principal.account_id, request.template_id)
            except NotFound as err:
                raise ValidationFailed(err.message, details=[{"field": "template_id"}]) from err
            template = {part: source.get(part) for part in ("subject", "html", "text")}
        message_id = new_id("em")
        fields = request.model_dump(by_alias=True, exclude={"scheduled_at", "template_id"})
        command = SendCommand(account_id=principal.account_id, message_id=message_id,
                              template=template, **fields)
        tags = [t.model_dump() for t in request.tags]
        due = request.scheduled_at if request.scheduled_at and request.scheduled_at > now \
            else None
        status = EmailEventType.SCHEDULED if due else EmailEventType.QUEUED
        message = {"message_id": message_id, "account_id": principal.account_id,
                   "from": request.from_, "to": request.to, "cc": request.cc,
                   "bcc": request.bcc, "reply_to": request.reply_to, "subject": request.subject,
                   "template_id": request.template_id, "stream": request.stream, "tags": tags,
                   "metadata": request.metadata, "track_opens": request.track_opens,
                   "track_clicks": request.track_clicks, "status": status,
                   "created_at": iso(now), "updated_at": iso(now), "schedule_version": 0}
        body = command.model_dump_json(by_alias=True).encode()
        offload_key, delay = None, 0
        if due is not None:
            offload_key = f"scheduled/{principal.account_id}/{message_id}.json"
            message.update(scheduled_at=iso(due), due_at=int(due.timestamp()))
            delay = int((due - now).total_seconds())
            if due - now > SQS_MAX_DELAY:
                message.update(schedule_keys(principal.account_id, message_id, due))
                delay = -1
        elif len(body) > self._offload_bytes:
            offload_key = f"offload/{principal.account_id}/{message_id}.json"
        message["offload_key"] = offload_key
        event = Event.email(message_id, status, now, tags=tags,
                            metadata=request.metadata).item()
        return Prepared(message, event, command, None if delay < 0 else delay, offload_key)

    def _queue_item(self, item: Prepared) -> BaseModel:
        """What goes on the queue: the command itself, or a pointer to its S3 copy."""
        if item.offload_key is None:
            return item.command
        self._content.put(item.offload_key, item.command.model_dump_json(by_alias=True).encode())
        return OffloadPointer(account_id=item.command.account_id,
                              message_id=item.command.message_id, offload_key=item.offload_key)

    def _accepted(self, item: Prepared) -> EmailAccepted:
        return EmailAccepted(id=item.message["message_id"], status=item.message["status"],
                             created_at=item.message["created_at"],
                             scheduled_at=item.message.get("scheduled_at"))

    def _charge(self, account_id: str, items: list[Prepared], now: datetime) -> Any:
        """Today's quota for the emails that go now, and the day's counts of all of them,
        in one write (scheduled emails take their quota when the worker sends them)."""
        scheduled = sum(1 for item in items if item.message["status"] == "scheduled")
        counts = {name: n for name, n in (("queued", len(items) - scheduled),
                                          ("scheduled", scheduled)) if n}
        return self._quota.take_quota(items[0].message["account_id"], len(items) - scheduled,
                                      now, counts)

    def queue_email(self, principal: Principal, request: SendEmailRequest,
                    now: datetime) -> EmailAccepted:
        item = self._prepare(principal, request, now, {})
        charge = self._charge(principal.account_id, [item], now)
        try:
            queued = self._queue_item(item)
            self._messages.create(item.message, item.event, now)
        except Exception:
            self._quota.refund(charge)  # nothing was accepted: the 503 is safe to retry
            raise
        if item.delay is not None:
            try:
                self._queue.enqueue(queued, item.delay)
            except RetryableFailure:
                self._fail_unqueued(item, now)
                if item.message["status"] == "queued":
                    self._quota.refund(charge, counts=False)
                raise
        return self._accepted(item)

    def queue_batch(self, principal: Principal, emails: list[dict[str, Any]],
                    now: datetime) -> BatchAccepted:
        """Each item stands alone: a bad one is reported, the others go."""
        results: list[BatchItemResult] = []
        ready: list[tuple[int, Prepared]] = []
        verified: dict[str, bool] = {}
        for index, raw in enumerate(emails):
            try:
                request = SendEmailRequest.model_validate(raw)
                ready.append((index, self._prepare(principal, request, now, verified)))
            except ValidationError as err:
                details = error_fields(err.errors())
                results.append(BatchItemResult(index=index, error={
                    "code": "validation_error",
                    "message": f"{details[0]['field']}: {details[0]['message']}",
                    "details": details}))
            except LetterboxError as err:
                results.append(BatchItemResult(index=index, error=err.to_body()["error"]))
        if ready:
            charge = self._charge(principal.account_id, [item for _, item in ready], now)
            try:
                queued = [(self._queue_item(item), item.delay) for _, item in ready]
                self._messages.create_many([(item.message, item.event) for _, item in ready],
                                           now)
            except Exception:
                self._quota.refund(charge)
                raise
            sent_ids = self._queue.enqueue_many([(q, d) for q, d in queued if d is not None])
            waiting = iter(sent_ids)
            for index, item in ready:
                if item.delay is not None and next(waiting) is None:
                    self._fail_unqueued(item, now)
                    if item.message["status"] == "queued":  # its quota back, its count stays
                        self._quota.refund(charge, count=1, counts=False)
                    results.append(BatchItemResult(index=index, error={
                        "code": "service_unavailable", "message": "the queue refused it; retry"}))
                    continue
                accepted = self._accepted(item)
                results.append(BatchItemResult(index=index, id=accepted.id,
                                               status=accepted.status))
        results.sort(key=lambda r: r.index)
        accepted_count = sum(1 for r in results if r.id)
        return BatchAccepted(data=results, accepted=accepted_count,
                             rejected=len(results) - accepted_count)

    def _fail_unqueued(self, item: Prepared, now: datetime) -> None:
        """The queue refused it: show ``failed`` rather than a ``queued`` that never moves."""
        message = item.message
        self._messages.transition(message["account_id"], message["message_id"],
                                  EmailEventType.FAILED,
                                  Event.email(message["message_id"], EmailEventType.FAILED, now,
                                              reason=FailureReason.QUEUE_UNAVAILABLE).item(),
                                  now, from_status=EMAIL_WAITING)
        if item.offload_key:
            self._content.delete(item.offload_key)

    def _owned(self, principal: Principal, message_id: str
               ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        found = (self._messages.get_with_events(principal.account_id, message_id)
                 if has_prefix(message_id, "em") else None)
        if found is None:  # another account's id looks exactly like a missing one
            raise NotFound(f"no email {message_id}")
        return found

    def get_email(self, principal: Principal, message_id: str) -> EmailOut:
        """The email and the first page of its timeline (a flood of hits cannot make this
        read unbounded); ``events_next_cursor`` continues at ``email_events``."""
        message, events, cursor = (
            self._messages.timeline_page(principal.account_id, message_id, EMAIL_EVENTS_PAGE,
                                         None)
            if has_prefix(message_id, "em") else (None, [], None))
        if message is None:  # another account's id looks exactly like a missing one
            raise NotFound(f"no email {message_id}")
        return EmailOut.model_validate({
            **{k: message.get(k) or [] for k in ("to", "cc", "bcc", "reply_to", "tags")},
            **{k: message.get(k) for k in ("from", "subject", "status", "created_at",
                                           "updated_at", "scheduled_at")},
            "stream": message.get("stream", "transactional"),
            "metadata": message.get("metadata") or {},
            "id": message["message_id"],
            "events": [_event_out(e) for e in events],
            "events_has_more": cursor is not None, "events_next_cursor": cursor,
        })

    def email_events(self, principal: Principal, message_id: str, limit: int,
                     cursor: str | None) -> EmailEventPage:
        """A page of one email's timeline, oldest first; a cursor from ``get_email`` or from
        the previous page continues it."""
        if not has_prefix(message_id, "em"):
            raise NotFound(f"no email {message_id}")
        message, events, following = self._messages.timeline_page(
            principal.account_id, message_id, limit, cursor)
        if message is None and cursor is None:
            raise NotFound(f"no email {message_id}")
        return EmailEventPage(data=[_event_out(e) for e in events],
                              has_more=following is not None, next_cursor=following)

    def cancel(self, principal: Principal, message_id: str, now: datetime) -> EmailOut:
        message, _ = self._owned(principal, message_id)
        event = Event.email(message_id, EmailEventType.CANCELLED, now, tags=message.get("tags"),
                            metadata=message.get("metadata")).item()
        if not self._messages.cancel(principal.account_id, message_id, event, now):
            raise Conflict(f"email {message_id} is {message['status']} and can no longer be "
                           "cancelled")
        if message.get("offload_key"):
            self._content.delete(message["offload_key"])
        return self.get_email(principal, message_id)

    def reschedule(self, principal: Principal, message_id: str, request: Reschedule,
                   now: datetime) -> EmailOut:
        message, _ = self._owned(principal, message_id)
        due = max(request.scheduled_at, now)
        # Its content was stored when it was accepted, under a lifecycle rule counted from
        # then (retention.py, scheduled_content): a later date would outlive the content.
        latest = datetime.fromisoformat(message["created_at"].replace("Z", "+00:00")) \
            + MAX_SCHEDULE_AHEAD
        if due > latest:
            raise ValidationFailed(f"scheduled_at may be at most 30 days after the email was "
                                   f"accepted ({iso(latest)})",
                                   details=[{"field": "scheduled_at"}])
        version = int(message.get("schedule_version", 0)) + 1
        fields: dict[str, Any] = {"scheduled_at": iso(due), "due_at": int(due.timestamp()),
                                  "schedule_version": version, "updated_at": iso(now),
                                  **schedule_keys(principal.account_id, message_id, due)}
        if message["status"] != "scheduled" or not self._messages.reschedule(
                principal.account_id, message_id, fields):
            raise Conflict(f"only scheduled emails can be rescheduled; {message_id} is "
                           f"{message['status']}")
        if due - now <= SQS_MAX_DELAY:  # the sweep would be late for this one
            self._queue.enqueue(OffloadPointer(account_id=principal.account_id,
                                               message_id=message_id,
                                               offload_key=message["offload_key"],
                                               schedule_version=version),
                                int((due - now).total_seconds()))
        return self.get_email(principal, message_id)

"""The broadcast sender: works one chunk of a segment per queue record, resumable without
sending anyone twice.

Before an email is queued, its recipient's own marker (``BCR#<bc>#<ct>``) is written
conditionally, so a redelivered or resumed chunk skips whoever already has one; a marker left
``claimed`` by a crash between claim and queue is settled from the message log (the email
carries the contact's tag) before anything is sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.accounts import Principal
from chalicelib.broadcasts import BroadcastStore, Jobs, TemplateSource, broadcast_content
from chalicelib.clock import iso
from chalicelib.contacts import subscribed_to, template_contact
from chalicelib.errors import RetryableFailure
from chalicelib.marketing_models import MarketingJob
from chalicelib.templates import TemplateError, render
from chalicelib.vocabulary import SQS_MAX_DELAY

CHUNK = 100  # recipients per queue record (the batch path's limit)
CLAIM_LEASE = timedelta(minutes=6)  # longer than the consumer's 120 s timeout


class BatchSender(Protocol):
    def queue_batch(self, principal: Principal, emails: list[dict[str, Any]],
                    now: datetime) -> Any: ...


class SuppressionCheck(Protocol):
    def suppressed(self, account_id: str, addresses: list[str], stream: str) -> set[str]: ...


class EmailLog(Protocol):
    def emails(self, principal: Principal, limit: int, cursor: str | None,
               query: dict[str, str | None]) -> Any: ...


class BroadcastSender:
    """Works one chunk of a broadcast per queue record, then queues the next chunk."""

    def __init__(self, store: BroadcastStore, emails: BatchSender,
                 suppressions: SuppressionCheck, templates: TemplateSource, jobs: Jobs,
                 log: EmailLog,
                 unsubscribe_url: Callable[[str, str, str], str] | None = None) -> None:
        self._store = store
        self._emails = emails
        self._suppressions = suppressions
        self._templates = templates
        self._jobs = jobs
        self._log = log
        # (account, broadcast, address) → a recipient's preference page: ``unsubscribe_url``
        # in the content (Resend's {{{RESEND_UNSUBSCRIBE_URL}}}).
        self._unsubscribe_url = unsubscribe_url

    def run(self, job: MarketingJob, principal: Principal, now: datetime) -> str:
        record = self._store.get_object(job.account_id, "BC", job.object_id)
        if record is None or record["status"] in ("sent", "cancelled", "draft"):
            return "done"
        if job.due_at is not None and job.due_at != int(record.get("due_at") or 0):
            return "rescheduled"  # the new time has its own queue record
        if record["status"] == "scheduled":
            wait = int(record["due_at"]) - int(now.timestamp())
            if wait > 0:  # SQS delays 15 minutes at most: wait again
                self._jobs.enqueue(job, min(wait, int(SQS_MAX_DELAY.total_seconds())))
                return "waiting"
            # Conditional on the time it is due at too: an edit that lands first wins (its
            # content is what this write returns), one that comes later gets a 409.
            started = self._store.update_object(
                job.account_id, "BC", job.object_id, {"status": "sending"}, ("scheduled",),
                expected={"due_at": record["due_at"]})
            if started is None:
                return "done"
            record = started
        size = min(CHUNK, int(record["rate_per_minute"]))
        ids, next_cursor = self._store.members_page(job.account_id, record["segment_id"], size,
                                                    job.cursor)
        self._send_chunk(principal, record, ids, now)
        if next_cursor is not None:
            self._jobs.enqueue(job.model_copy(update={"cursor": next_cursor}),
                               chunk_delay(size, int(record["rate_per_minute"])))
            return "chunk"
        self._store.update_object(job.account_id, "BC", job.object_id,
                                  {"status": "sent", "sent_at": iso(now)}, ("sending",))
        return "sent"

    def _send_chunk(self, principal: Principal, record: dict[str, Any], ids: list[str],
                    now: datetime) -> None:
        account_id, broadcast_id = principal.account_id, record["broadcast_id"]
        contacts = self._store.get_contacts(account_id, ids)
        settled = {r["contact_id"]: r for r in self._store.get_recipients(account_id,
                                                                          broadcast_id, ids)}
        for contact_id, marker in list(settled.items()):
            if marker["status"] != "claimed":
                continue
            # A claim without its email: a crash between claim and queue, or a run still busy.
            if datetime.fromisoformat(marker["claimed_at"]) > now - CLAIM_LEASE:
                raise RetryableFailure("another run holds claims in this chunk")
            if not self._settle(principal, broadcast_id, contact_id, marker):
                self._store.delete_recipient(account_id, broadcast_id, contact_id)
                del settled[contact_id]
        todo = [c for c in contacts if c["contact_id"] not in settled]
        topic = (self._store.get_object(account_id, "TOPIC", record["topic_id"])
                 if record.get("topic_id") else None)
        blocked = self._suppressions.suppressed(account_id, [c["email"] for c in todo],
                                                "marketing") if todo else set()
        source = broadcast_content(record, self._templates)
        outgoing: list[tuple[dict[str, Any], dict[str, Any]]] = []
        # A topic deleted after the broadcast was composed: nobody is known to want it, so
        # nobody gets it (treating it as "no topic" would mail the whole segment).
        topic_gone = bool(record.get("topic_id")) and topic is None
        for contact in todo:
            reason = (("skipped", "topic_deleted") if topic_gone
                      else _ineligible(contact, topic, contact["email"] in blocked))
            marker = {"contact_id": contact["contact_id"], "claimed_at": iso(now),
                      "status": "claimed" if reason is None else reason[0],
                      "reason": None if reason is None else reason[1]}
            if not self._store.claim_recipient(account_id, broadcast_id, contact["contact_id"],
                                               marker) or reason is not None:
                continue
            try:
                variables: dict[str, Any] = {"contact": template_contact(contact)}
                if self._unsubscribe_url is not None:
                    variables["unsubscribe_url"] = self._unsubscribe_url(
                        account_id, broadcast_id, contact["email"])
                content = render(source, variables)
            except TemplateError as err:
                self._store.set_recipient(account_id, broadcast_id, contact["contact_id"],
                                          {"status": "failed", "reason": str(err)})
                continue
            outgoing.append((contact, {
                "from": record["from"], "to": contact["email"], "reply_to": record.get("reply_to"),
                "subject": content.subject, "html": content.html, "text": content.text,
                "stream": "marketing", "tags": [{"name": "broadcast", "value": broadcast_id},
                                                {"name": "contact",
                                                 "value": contact["contact_id"]}]}))
        if outgoing:
            emails = [{k: v for k, v in e.items() if v is not None} for _, e in outgoing]
            results = self._emails.queue_batch(principal, emails, now).data
            for (contact, _), result in zip(outgoing, results, strict=True):
                fields = ({"status": "queued", "message_id": result.id, "status_rank": 1}
                          if result.id else {"status": "failed",
                                             "reason": (result.error or {}).get("message")})
                self._store.set_recipient(account_id, broadcast_id, contact["contact_id"],
                                          fields)

    def _settle(self, principal: Principal, broadcast_id: str, contact_id: str,
                marker: dict[str, Any]) -> bool:
        """Find the email a crashed run may have queued; False if there is none."""
        cursor: str | None = None
        for _ in range(10):
            page = self._log.emails(principal, 100, cursor, {
                "tag": f"contact:{contact_id}", "from": marker["claimed_at"]})
            for email in page.data:
                if {"name": "broadcast", "value": broadcast_id} in email.tags:
                    self._store.set_recipient(principal.account_id, broadcast_id, contact_id,
                                              {"status": "queued", "message_id": email.id,
                                               "status_rank": 1})
                    return True
            cursor = page.next_cursor
            if not page.has_more:
                break
        return False


def chunk_delay(size: int, rate_per_minute: int) -> int:
    """Seconds before the next chunk, so that ``size`` emails a chunk keep to the rate."""
    return min(int(SQS_MAX_DELAY.total_seconds()), 60 * size // rate_per_minute)


def _ineligible(contact: dict[str, Any], topic: dict[str, Any] | None,
                suppressed: bool) -> tuple[str, str] | None:
    """Why a contact gets nothing (marker status, reason), or None when it may be mailed."""
    if contact.get("unsubscribed"):
        return "skipped", "unsubscribed"
    if contact.get("status") != "subscribed":
        return "skipped", "pending_confirmation"
    if topic is not None and not subscribed_to(contact, topic):
        return "skipped", "topic_opt_out"
    if suppressed:
        return "suppressed", "suppressed"
    return None

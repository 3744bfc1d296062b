"""The one event vocabulary: every event type, reason and status Letterbox speaks, their
ranks and terminal sets, and the one frozen ``Event`` every stored event is built from.

Shaped after django-anymail's ``AnymailTrackingEvent``: providers' codes are mapped into
these names by lookup tables (``tracking/ses_mapping.py``, the carriers), and what cannot
be mapped is ``unknown``, never an exception. No other module builds an event dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.clock import iso
from chalicelib.ids import derived_id, new_id

# SQS delays a message by 15 minutes at most: later work waits for a sweep.
SQS_MAX_DELAY = timedelta(minutes=15)


class EmailEventType(StrEnum):
    """What happened to an email; the delivery ones are also its status."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENT = "sent"
    DEFERRED = "deferred"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    FAILED = "failed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    UNKNOWN = "unknown"  # a provider event we cannot map


class NoticeType(StrEnum):
    """Events about the account or an endpoint, not about one email or letter."""

    ACCOUNT_PAUSED = "account.paused"
    WEBHOOK_TEST = "webhook.test"


class ContactEventType(StrEnum):
    """A change to a marketing contact (published to webhooks, not kept as a timeline)."""

    CREATED = "contact.created"
    UPDATED = "contact.updated"
    DELETED = "contact.deleted"
    CONFIRMED = "contact.confirmed"  # double opt-in link used
    UNSUBSCRIBED = "contact.unsubscribed"  # from everything
    TOPICS_CHANGED = "contact.topics_changed"


class BounceType(StrEnum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNDETERMINED = "undetermined"  # also what an unknown SES bounce type maps to


class FailureReason(StrEnum):
    """Why Letterbox itself gave up on an email (``data.reason`` of its ``failed`` event)."""

    RETRIES_EXHAUSTED = "retries_exhausted"
    QUEUE_UNAVAILABLE = "queue_unavailable"
    # Checked again when a (scheduled) email is sent, not only when it was accepted.
    ACCOUNT_PAUSED = "account_paused"
    ACCOUNT_CLOSED = "account_closed"
    QUOTA_EXCEEDED = "quota_exceeded"
    # SES's answer never came (timeout, or the worker died mid-send): it may have been sent,
    # so it is never sent again.
    UNKNOWN_OUTCOME = "unknown_outcome"


class LetterStatus(StrEnum):
    """A letter's normalized status (SPEC §7); the event type is ``letter.<status>``."""

    CREATED = "created"
    SUBMITTED = "submitted"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    RETURNED_TO_SENDER = "returned_to_sender"
    EXCEPTION = "exception"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # a carrier code we cannot map: a timeline entry, never a status


E = EmailEventType
# How far along a message is; a status only ever moves to a higher rank.
EMAIL_STATUS_RANK: dict[str, int] = {
    E.SCHEDULED: 0, E.QUEUED: 1, E.SENT: 2, E.DEFERRED: 3, E.DELIVERED: 4, E.REJECTED: 5,
    E.FAILED: 5, E.BOUNCED: 6, E.COMPLAINED: 7, E.SUPPRESSED: 8, E.CANCELLED: 8}
# Events about engagement, not delivery: they never move the status.
ENGAGEMENT = frozenset({E.OPENED, E.CLICKED, E.UNSUBSCRIBED, E.UNKNOWN})
# Statuses an email waits in before the worker has it; the only ones a send may leave.
EMAIL_WAITING = (E.QUEUED, E.SCHEDULED)

L = LetterStatus
# Tracking only ever moves a letter forward; ``unknown`` has no rank and moves nothing.
LETTER_STATUS_RANK: dict[str, int] = {
    L.CREATED: 0, L.SUBMITTED: 1, L.IN_TRANSIT: 2, L.OUT_FOR_DELIVERY: 3, L.EXCEPTION: 4,
    L.DELIVERED: 5, L.RETURNED_TO_SENDER: 5, L.CANCELLED: 5}
LETTER_TERMINAL = frozenset({L.DELIVERED, L.RETURNED_TO_SENDER, L.CANCELLED})
# The statuses the API shows (``unknown`` is only ever an event's).
LETTER_STATUSES = tuple(s.value for s in LetterStatus if s is not L.UNKNOWN)


def letter_status(code: str | None) -> LetterStatus:
    """A carrier's normalized status as ours; anything else is ``unknown``."""
    try:
        return LetterStatus(code or "")
    except ValueError:
        return L.UNKNOWN


@dataclass(frozen=True)
class Event:
    """One stored event. Build it with a constructor; ``item()`` is its stored shape."""

    event_id: str
    type: str
    timestamp: str
    message_id: str | None = None
    letter_id: str | None = None
    recipient: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, str] | None = None  # None: joined on read (SES events)
    data: dict[str, Any] = field(default_factory=dict)
    status: str | None = None  # letters
    description: str | None = None
    location: str | None = None
    carrier_code: str | None = None

    @classmethod
    def email(cls, message_id: str, kind: EmailEventType, now: datetime, *,
              recipient: str | None = None, tags: list[dict[str, str]] | None = None,
              metadata: dict[str, str] | None = None, dedupe: tuple[int, str] | None = None,
              **data: Any) -> Event:
        """An event Letterbox itself records about an email (queued, sent, opened…).
        ``dedupe`` (a moment in ms, a seed) derives the id: a repeat of it is the same event."""
        event_id = derived_id("evt", *dedupe) if dedupe else new_id("evt")
        return cls(event_id, kind.value, iso(now), message_id=message_id,
                   recipient=recipient, tags=tags or [], metadata=metadata or {}, data=data)

    @classmethod
    def from_provider(cls, message_id: str, kind: EmailEventType, timestamp: str,
                      millis: int, seed: str, *, recipient: str | None,
                      tags: list[dict[str, str]], data: dict[str, Any]) -> Event:
        """A provider's event: its id derives from the provider's, so a redelivery is seen."""
        return cls(derived_id("evt", millis, seed), kind.value, timestamp,
                   message_id=message_id, recipient=recipient, tags=tags, data=data)

    @classmethod
    def account_paused(cls, now: datetime, **data: Any) -> Event:
        return cls(new_id("evt"), NoticeType.ACCOUNT_PAUSED.value, now.isoformat(),
                   metadata={}, data=data)

    @classmethod
    def webhook_test(cls, now: datetime) -> Event:
        return cls(new_id("evt"), NoticeType.WEBHOOK_TEST.value, iso(now), metadata={},
                   data={"message": "Letterbox test event"})

    @classmethod
    def contact(cls, kind: ContactEventType, contact: dict[str, Any], now: datetime,
                **data: Any) -> Event:
        """A contact changed; ``data`` says how (source, topics…) and carries the contact's
        state after the change (what Resend's ``contact.*`` payloads hold)."""
        state = {k: contact.get(k) for k in ("first_name", "last_name", "created_at",
                                             "updated_at")}
        return cls(new_id("evt"), kind.value, iso(now), recipient=contact.get("email"),
                   metadata={}, data={"contact_id": contact["contact_id"], **state,
                                      "unsubscribed": bool(contact.get("unsubscribed")),
                                      "segment_ids": list(contact.get("segment_ids") or []),
                                      **data})

    @classmethod
    def letter(cls, letter: dict[str, Any], status: LetterStatus, at: datetime, *,
               code: str | None = None, description: str | None = None,
               location: str | None = None, seed: str | None = None) -> Event:
        """A letter's event; ``seed`` (carrier, number, code, time) makes a re-poll a no-op."""
        millis = int(at.timestamp() * 1000)
        return cls(derived_id("evt", millis, seed) if seed else new_id("evt", millis),
                   f"letter.{status.value}", iso(at), letter_id=letter["letter_id"],
                   metadata=letter.get("metadata") or {}, status=status.value,
                   description=description, location=location, carrier_code=code)

    def item(self) -> dict[str, Any]:
        """The stored (and webhook) shape, unchanged from before this type existed."""
        if self.letter_id is not None:
            return {"event_id": self.event_id, "letter_id": self.letter_id, "type": self.type,
                    "status": self.status, "timestamp": self.timestamp,
                    "description": self.description, "location": self.location,
                    "carrier_code": self.carrier_code, "metadata": self.metadata}
        shape: dict[str, Any] = {"event_id": self.event_id, "message_id": self.message_id,
                                 "type": self.type, "timestamp": self.timestamp,
                                 "recipient": self.recipient, "tags": self.tags}
        if self.metadata is not None:
            shape["metadata"] = self.metadata
        shape["data"] = self.data
        return shape


# Every event type a webhook endpoint can subscribe to, by what it is about. The API's
# validation and the dashboard's filter checkboxes both read this one list.
WEBHOOK_EVENT_GROUPS: dict[str, tuple[str, ...]] = {
    "Emails": tuple(f"email.{t.value}" for t in EmailEventType if t is not E.UNKNOWN),
    "Letters": tuple(f"letter.{s}" for s in LETTER_STATUSES),
    "Contacts": tuple(t.value for t in ContactEventType),
    "Endpoint": (NoticeType.WEBHOOK_TEST.value,),
}
WEBHOOK_EVENT_TYPES: tuple[str, ...] = tuple(
    t for group in WEBHOOK_EVENT_GROUPS.values() for t in group)

"""Models for the account itself and for data-subject requests (SPEC §8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.models import InputModel, Mailbox, OutputModel, PatchModel
from chalicelib.retention import RULES, DataClass

_EVENTS = RULES[DataClass.ENGAGEMENT_EVENT]


class RetentionSettings(InputModel):
    recipient_data_days: int = Field(
        strict=True, ge=_EVENTS.min_days, le=_EVENTS.max_days,
        description="How long recipient engagement events (delivery, bounce, open, click…) "
                    "are kept, in days. Applies to new events at once and to stored ones "
                    "within the hour, in both directions.")


class AccountUpdate(PatchModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    retention: RetentionSettings | None = None


class RetentionOut(OutputModel):
    recipient_data_days: int
    message_log_days: int
    default_recipient_data_days: int


class AccountOut(OutputModel):
    id: str
    name: str
    status: Literal["active", "closed"]
    created_at: str
    closed_at: str | None = None
    sending_paused: bool = False
    retention: RetentionOut


class AccountClosure(OutputModel):
    id: str
    status: Literal["closed"]
    closed_at: str
    erase_after: str = Field(description="When everything the account stored is gone.")
    erased: bool = Field(description="True if erasure already finished (erase=now).")


class ExportItem(OutputModel):
    type: str = Field(description="message, event, suppression, template, domain, webhook, "
                                  "webhook_attempt, smtp_credential, stats, privacy_audit, "
                                  "account_event, api_key, contact, segment, "
                                  "segment_member, topic, contact_import, broadcast, "
                                  "broadcast_recipient")
    data: dict[str, Any]


class AccountExport(OutputModel):
    account: AccountOut
    items: list[ExportItem]
    has_more: bool
    next_cursor: str | None = None


class PrivacyRequest(InputModel):
    email: Mailbox


class PrivacyExport(OutputModel):
    email: str
    generated_at: str
    messages: list[dict[str, Any]] = Field(description="Each with its events.")
    suppression: dict[str, Any] | None
    contact: dict[str, Any] | None = Field(default=None, description=(
        "The marketing contact: fields, segments, topic subscriptions, double opt-in proof."))
    audit_id: str


class ErasureOut(OutputModel):
    audit_id: str
    messages_deleted: int
    events_deleted: int
    objects_deleted: int
    contacts_deleted: int = 0
    suppression: Literal["kept_as_hash", "added_as_hash"]


class AuditRecord(OutputModel):
    id: str
    action: Literal["export", "erasure"]
    key_id: str
    at: str
    counts: dict[str, int]


class AuditList(OutputModel):
    data: list[AuditRecord]

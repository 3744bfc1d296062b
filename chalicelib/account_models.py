"""Models for the account itself and for data-subject requests (SPEC §8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class PrivacyExportRequest(PrivacyRequest):
    cursor: str | None = Field(default=None, max_length=2048, description=(
        "next_cursor of the previous page: the next messages about the same address"))
    limit: int = Field(default=100, ge=1, le=500, description="Messages per page.")


class PrivacyExport(OutputModel):
    email: str
    generated_at: str
    messages: list[dict[str, Any]] = Field(description="Each with its events.")
    suppression: dict[str, Any] | None
    contact: dict[str, Any] | None = Field(default=None, description=(
        "The marketing contact: fields, segments, topic subscriptions, double opt-in proof."))
    audit_id: str
    has_more: bool = False
    next_cursor: str | None = Field(default=None, description=(
        "Send it back with the same email for the next page of messages."))


ErasureState = Literal["queued", "running", "done", "failed"]


class ErasureOut(OutputModel):
    """An erasure job and its audit record: who asked, when, for which address (its keyed
    hash only), where it stands and what it deleted so far."""

    id: str = Field(description="The job's id, also its audit record's: GET "
                                "/v1/privacy/erasure/{id}")
    audit_id: str
    state: ErasureState
    key_id: str
    at: str
    address_hash: str
    finished_at: str | None = None
    messages_deleted: int
    events_deleted: int
    objects_deleted: int
    contacts_deleted: int = 0
    suppression: Literal["kept_as_hash", "added_as_hash"] | None = Field(
        default=None, description="Set once the suppression step ran.")


class AuditRecord(OutputModel):
    id: str
    action: Literal["export", "erasure"]
    key_id: str
    at: str
    counts: dict[str, int]
    state: ErasureState | None = None
    address_hash: str | None = None


class AuditList(OutputModel):
    data: list[AuditRecord]


class PrivacyJob(BaseModel):
    """A privacy queue record: erase one address (the address travels here only, never into a
    table), backfill an account's address index, or move its email listing to ``gsi4``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["erasure", "backfill", "listing"]
    account_id: str = Field(max_length=64)
    job_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)

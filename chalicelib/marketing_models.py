"""API and queue models of the marketing workflow: contacts, segments, topics, broadcasts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator

from chalicelib.models import InputModel, Mailbox, OutputModel

PropertyValue = str | int | float | bool | None
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("must carry a time zone (RFC 3339)")
    return value


Moment = Annotated[datetime, AfterValidator(_aware)]


def _properties(value: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
    if len(value) > 50:
        raise ValueError("at most 50 properties")
    for key, item in value.items():
        if not key.replace("_", "").isalnum() or len(key) > 40:
            raise ValueError(f"property name {key!r} must be 1-40 letters, digits or _")
        if isinstance(item, str) and len(item) > 500:
            raise ValueError(f"property {key!r} is over 500 characters")
    return value


Properties = Annotated[dict[str, PropertyValue], AfterValidator(_properties)]


class DoubleOptIn(InputModel):
    """The confirmation email a pending contact gets; its link makes it subscribed."""

    from_: Mailbox = Field(alias="from", description="On a verified domain of the account.")
    subject: str = Field(default="Please confirm your subscription", min_length=1,
                         max_length=998)
    template_id: str | None = Field(default=None, description=(
        "A template whose html/text uses {{ confirm_url }} and {{ contact.* }}."))


class ContactCreate(InputModel):
    email: Mailbox
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    properties: Properties = Field(default_factory=dict)
    unsubscribed: bool = False
    segment_ids: list[str] = Field(default_factory=list, max_length=20)
    double_opt_in: DoubleOptIn | None = Field(default=None, description=(
        "Send a confirmation email; the contact stays pending until its link is used."))


class ContactUpdate(InputModel):
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    properties: Properties | None = None
    unsubscribed: bool | None = None


class OptInProof(OutputModel):
    requested_at: str
    source: Literal["api", "import", "form"]
    key_id: str | None = None
    confirmed_at: str | None = None


ContactState = Literal["subscribed", "pending", "unsubscribed", "suppressed"]


class ContactSuppression(OutputModel):
    """Why a contact's address gets no marketing mail although its subscription may say so."""

    reason: Literal["manual", "bounce", "complaint", "unsubscribe", "erasure"]
    scope: Literal["all", "marketing"] = Field(description=(
        "all: no mail at all; marketing: transactional mail still goes."))
    since: str = Field(description="When the address was put on the suppression list.")


class ContactOut(OutputModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    properties: dict[str, PropertyValue]
    unsubscribed: bool
    status: Literal["subscribed", "pending"] = Field(description=(
        "The stored double opt-in state; ``state`` says whether a broadcast reaches it."))
    state: ContactState = Field(description=(
        "The effective state, as a broadcast sees it: suppressed (its address is on the "
        "suppression list, whatever the subscription says), else unsubscribed, pending or "
        "subscribed. Only a subscribed contact gets broadcasts."))
    suppressed: ContactSuppression | None = Field(default=None, description=(
        "The suppression entry when ``state`` is suppressed."))
    segment_ids: list[str]
    topics: dict[str, Literal["opt_in", "opt_out"]] = Field(
        description="Explicit choices only; other topics follow their default.")
    opt_in: OptInProof | None = None
    created_at: str
    updated_at: str


class ContactPage(OutputModel):
    data: list[ContactOut]
    has_more: bool
    next_cursor: str | None = None


class ImportCreate(InputModel):
    csv: str = Field(min_length=1, max_length=9_000_000, description=(
        "CSV text with a header row: email (required), first_name, last_name, "
        "unsubscribed, and any other column as a custom property."))
    segment_id: str | None = None
    on_conflict: Literal["upsert", "skip"] = Field(default="upsert", description=(
        "An address that is already a contact: upsert brings it up to date, skip leaves it "
        "(reported as skipped)."))
    double_opt_in: DoubleOptIn | None = Field(default=None, description=(
        "Each contact the import creates gets this confirmation email and stays pending "
        "until its link is used (whatever the segment's setting); existing contacts keep "
        "their state."))


class ImportOut(OutputModel):
    id: str
    status: Literal["queued", "processing", "completed", "failed"]
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = Field(default_factory=list, description=(
        "One per skipped row: {row, reason} (row 1 is the header; addresses never echoed)."))
    created_at: str
    completed_at: str | None = None


class SegmentCreate(InputModel):
    name: Name
    double_opt_in: DoubleOptIn | None = Field(default=None, description=(
        "Contacts added to this segment at creation confirm by email first."))


class SegmentOut(OutputModel):
    id: str
    name: str
    double_opt_in: bool
    created_at: str


class SegmentPage(OutputModel):
    data: list[SegmentOut]
    has_more: bool
    next_cursor: str | None = None


class TopicCreate(InputModel):
    name: Name
    description: str | None = Field(default=None, max_length=500)
    default: Literal["opt_in", "opt_out"] = Field(default="opt_in", description=(
        "opt_in: contacts receive it unless they opt out."))


class TopicUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=500)
    default: Literal["opt_in", "opt_out"] | None = None


class TopicOut(OutputModel):
    id: str
    name: str
    description: str | None = None
    default: Literal["opt_in", "opt_out"]
    created_at: str


class TopicPage(OutputModel):
    data: list[TopicOut]
    has_more: bool
    next_cursor: str | None = None


class SubscriptionOut(OutputModel):
    topic_id: str
    name: str
    subscribed: bool
    explicit: bool


class SubscriptionList(OutputModel):
    data: list[SubscriptionOut]


class SubscriptionChange(InputModel):
    topics: dict[str, Literal["opt_in", "opt_out"]] = Field(min_length=1, max_length=100)


class BroadcastCreate(InputModel):
    name: str | None = Field(default=None, max_length=200)
    from_: Mailbox = Field(alias="from")
    reply_to: Mailbox | None = None
    subject: str | None = Field(default=None, max_length=998)
    preview_text: str | None = Field(default=None, max_length=200)
    html: str | None = None
    text: str | None = None
    template_id: str | None = None
    segment_id: str
    topic_id: str | None = Field(default=None, description="Only this topic's subscribers.")
    rate_per_minute: int = Field(default=600, ge=1, le=60_000, description=(
        "At most this many emails handed to the send queue per minute."))


class BroadcastUpdate(InputModel):
    name: str | None = Field(default=None, max_length=200)
    from_: Mailbox | None = Field(default=None, alias="from")
    reply_to: Mailbox | None = None
    subject: str | None = Field(default=None, max_length=998)
    preview_text: str | None = Field(default=None, max_length=200)
    html: str | None = None
    text: str | None = None
    template_id: str | None = None
    segment_id: str | None = None
    topic_id: str | None = None
    rate_per_minute: int | None = Field(default=None, ge=1, le=60_000)
    scheduled_at: Moment | None = Field(default=None, description=(
        "A scheduled broadcast only: its new send time (a past time sends it now). A draft "
        "is scheduled with POST /v1/broadcasts/{id}/send."))


class BroadcastSend(InputModel):
    scheduled_at: Moment | None = Field(default=None, description="Absent: now.")


class BroadcastOut(OutputModel):
    id: str
    name: str | None = None
    status: Literal["draft", "scheduled", "sending", "sent", "cancelled", "failed"]
    from_: str = Field(alias="from")
    reply_to: str | None = None
    subject: str | None = None
    preview_text: str | None = None
    html: str | None = None
    text: str | None = None
    template_id: str | None = None
    segment_id: str
    topic_id: str | None = None
    rate_per_minute: int
    scheduled_at: str | None = None
    created_at: str
    updated_at: str
    sent_at: str | None = None
    stats: dict[str, int] = Field(default_factory=dict, description=(
        "Recipients by status: queued, sent, delivered, bounced, complained, opened, "
        "clicked, unsubscribed, suppressed, failed, skipped."))
    clicks: dict[str, int] = Field(default_factory=dict, description="Clicks per link.")


class BroadcastPage(OutputModel):
    data: list[BroadcastOut]
    has_more: bool
    next_cursor: str | None = None


class RecipientOut(OutputModel):
    contact_id: str
    email: str | None = Field(description="null once the contact is gone.")
    status: str
    email_id: str | None = None
    opened: bool = False
    clicked: bool = False


class RecipientPage(OutputModel):
    data: list[RecipientOut]
    has_more: bool
    next_cursor: str | None = None


class MarketingJob(BaseModel):
    """A marketing queue record: import a CSV, or send the next chunk of a broadcast."""

    kind: Literal["import", "broadcast"]
    account_id: str
    object_id: str  # imp_… or bc_…
    cursor: str | None = None
    # A broadcast's send time (epoch seconds) the record was queued for: a record whose time
    # is no longer the broadcast's (it was rescheduled) starts nothing.
    due_at: int | None = None

    @field_validator("object_id")
    @classmethod
    def _object_id(cls, value: str) -> str:
        if not value.startswith(("imp_", "bc_")):
            raise ValueError("not an import or broadcast id")
        return value

"""Email sending models: the API request, the queue command and the responses."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, field_validator,
                      model_validator)

from chalicelib.models import (MAX_RECIPIENTS, FieldError, InputModel, Mailbox, MailboxList,
                               OutputModel, address_of)

MAX_RAW_BYTES = 40 * 1024 * 1024
MAX_SCHEDULE_AHEAD = timedelta(days=30)
MAX_REPLY_TO = 10
# Headers Letterbox writes itself, or that would change routing, signing or structure.
RESERVED_HEADERS = frozenset({
    "from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "sender",
    "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
    "dkim-signature", "return-path", "received", "list-unsubscribe", "list-unsubscribe-post",
    "x-letterbox-id", "x-ses-configuration-set", "authentication-results", "arc-seal",
})
# Whole families: SES's own (X-SES-CONFIGURATION-SET, X-SES-MESSAGE-TAGS, X-SES-SOURCE-ARN…)
# change how and for whom SES sends; ARC-* belong to the relays that seal a message.
RESERVED_HEADER_PREFIXES = ("x-ses-", "arc-", "x-letterbox-")
RESERVED_TAG_PREFIX = "letterbox_"  # the tags that map SES events back to an account
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # RFC 5322 ftext
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what SES accepts for message tags


def _valid_schedule(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone, e.g. 2026-01-01T09:00:00Z")
    if value - datetime.now(UTC) > MAX_SCHEDULE_AHEAD:
        raise ValueError("must be at most 30 days ahead")
    return value.astimezone(UTC)


def _no_line_breaks(value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError("must not contain line breaks")
    return value


OneLine = Annotated[str, AfterValidator(_no_line_breaks)]


class Attachment(InputModel):
    filename: OneLine = Field(min_length=1, max_length=255)
    content: str = Field(description="Base64-encoded bytes.")
    content_type: OneLine | None = Field(default=None,
                                         description="Guessed from the filename when absent.")
    content_id: OneLine | None = Field(
        default=None, max_length=255,
        description="Makes the attachment inline: reference it as cid:<content_id> in html.")

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if "/" in value or "\\" in value:
            raise ValueError("must be a file name, not a path")
        return value

    @field_validator("content_type")
    @classmethod
    def _mime_type(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.+-]+/[\w.+-]+", value):
            raise ValueError("must be a MIME type such as application/pdf")
        return value

    def data(self) -> bytes:
        try:
            return base64.b64decode(self.content, validate=True)
        except (binascii.Error, ValueError) as err:
            raise ValueError("content is not valid base64") from err


class Tag(InputModel):
    name: str = Field(pattern=_TAG.pattern)
    value: str = Field(pattern=_TAG.pattern)


class SendEmailRequest(InputModel):
    """``POST /v1/emails`` (and each item of ``/v1/emails/batch``)."""

    from_: Mailbox = Field(alias="from", description="Sender on a verified domain.")
    to: MailboxList = Field(min_length=1, max_length=MAX_RECIPIENTS)
    cc: MailboxList = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    bcc: MailboxList = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    reply_to: MailboxList = Field(default_factory=list, max_length=MAX_REPLY_TO)
    subject: OneLine | None = Field(default=None, min_length=1, max_length=998)
    html: str | None = None
    text: str | None = None
    template_id: str | None = Field(default=None, description="Instead of subject/html/text.")
    variables: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list, max_length=100)
    headers: dict[str, OneLine] = Field(default_factory=dict, max_length=50)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    metadata: dict[str, OneLine] = Field(default_factory=dict, max_length=20,
                                         description="Echoed on every event of this email.")
    stream: Literal["transactional", "marketing"] = "transactional"
    track_opens: bool | None = None
    track_clicks: bool | None = None
    scheduled_at: datetime | None = Field(default=None, description="Up to 30 days ahead.")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"header name {name!r} is not a valid header name")
            if name.lower() in RESERVED_HEADERS or name.lower().startswith(
                    RESERVED_HEADER_PREFIXES):
                raise FieldError(name,
                                 f"header {name!r} is set by Letterbox or by SES and cannot be "
                                 "given")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[Tag]) -> list[Tag]:
        for index, tag in enumerate(value):
            if tag.name.lower().startswith(RESERVED_TAG_PREFIX):
                raise FieldError(f"{index}.name", f"tag names starting with "
                                 f"{RESERVED_TAG_PREFIX!r} are Letterbox's own")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        if any(len(k) > 40 or len(v) > 500 for k, v in value.items()):
            raise ValueError("metadata keys are at most 40 characters, values at most 500")
        return value

    @field_validator("scheduled_at")
    @classmethod
    def _schedule(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _valid_schedule(value)

    @model_validator(mode="after")
    def _check(self) -> SendEmailRequest:
        if self.template_id is None:
            if self.subject is None:
                raise FieldError("subject", "subject is required unless template_id is given")
            if self.html is None and self.text is None:
                raise FieldError("html", "one of html or text is required (or a template_id)")
        elif self.subject is not None or self.html is not None or self.text is not None:
            raise FieldError("template_id", "template_id replaces subject, html and text: "
                                            "send one or the other")
        if len(self.to) + len(self.cc) + len(self.bcc) > MAX_RECIPIENTS:
            raise FieldError("to", f"at most {MAX_RECIPIENTS} recipients in to, cc and bcc "
                                   "together")
        if self.stream == "marketing" and (len(self.to) != 1 or self.cc or self.bcc):
            raise FieldError("to", "marketing email goes to exactly one recipient in 'to' "
                                   "(its unsubscribe link is personal)")
        for index, attachment in enumerate(self.attachments):
            try:
                attachment.data()
            except ValueError as err:
                raise FieldError(f"attachments.{index}.content", str(err)) from err
        return self

    def recipients(self) -> list[str]:
        return [address_of(m) for m in [*self.to, *self.cc, *self.bcc]]

    def raw_size(self) -> int:
        """Bytes the message will need before MIME encoding: bodies plus decoded files."""
        return (len((self.html or "").encode()) + len((self.text or "").encode())
                + sum(len(a.content) * 3 // 4 for a in self.attachments))


class BatchRequest(InputModel):
    emails: list[dict[str, Any]] = Field(min_length=1, max_length=100,
                                         description="Up to 100 SendEmailRequest objects.")


class EmailAccepted(OutputModel):
    id: str = Field(description="The `em_…` id.")
    status: Literal["queued", "scheduled"]
    created_at: str
    scheduled_at: str | None = None


class BatchItemResult(OutputModel):
    index: int
    id: str | None = None
    status: str | None = None
    error: dict[str, Any] | None = None


class BatchAccepted(OutputModel):
    data: list[BatchItemResult]
    accepted: int
    rejected: int


class Reschedule(InputModel):
    scheduled_at: Annotated[datetime, AfterValidator(_valid_schedule)]


class EventOut(OutputModel):
    id: str
    type: str
    timestamp: str
    recipient: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class EmailOut(OutputModel):
    id: str
    from_: str = Field(alias="from")
    to: list[str]
    cc: list[str]
    bcc: list[str]
    reply_to: list[str]
    subject: str | None
    status: str
    stream: str = "transactional"
    tags: list[dict[str, str]] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: str
    updated_at: str
    scheduled_at: str | None = None
    events: list[EventOut] = Field(description="The first page of the timeline, oldest first "
                                   "(at most 50 events); the rest from "
                                   "GET /v1/emails/{id}/events?cursor=events_next_cursor")
    events_has_more: bool = False
    events_next_cursor: str | None = None


class EmailEventPage(OutputModel):
    """A page of one email's timeline, oldest first."""

    data: list[EventOut]
    has_more: bool
    next_cursor: str | None = None


class SendCommand(BaseModel):
    """What the API puts on the send queue (or in S3 when large): the content, transiently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: Literal[1] = 1
    account_id: str
    message_id: str
    from_: str = Field(alias="from")
    to: list[str]
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    reply_to: list[str] = Field(default_factory=list)
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    template: dict[str, str | None] | None = None  # the template's source, snapshotted
    variables: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    stream: Literal["transactional", "marketing"] = "transactional"
    track_opens: bool | None = None
    track_clicks: bool | None = None
    schedule_version: int = 0


class OffloadPointer(BaseModel):
    """On the queue in place of a command too large for it."""

    model_config = ConfigDict(extra="forbid")

    account_id: str
    message_id: str
    offload_key: str
    schedule_version: int = 0

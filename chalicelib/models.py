"""API models: pydantic at every boundary, ``extra="forbid"`` on input.

The shared bases and mailbox types, then domains, SMTP credentials, suppressions and
templates; each other capability's models live beside it in ``*_models.py`` (emails,
logs, webhooks, letters, accounts, marketing, Resend)."""

from __future__ import annotations

import re
from email.utils import formataddr, getaddresses, parseaddr
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      model_validator)

from chalicelib.validation import FieldError as FieldError
from chalicelib.validation import error_fields as error_fields

MAX_RECIPIENTS = 50


def _mailbox(value: str) -> str:
    """``addr@example.com`` or ``Name <addr@example.com>``, normalized; no CR/LF."""
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks")
    from email_validator import EmailNotValidError, validate_email  # lazy: 44 ms cold

    if len(getaddresses([value])) != 1:  # "a@x.com, b@y.com" must not become a@x.com alone
        raise ValueError("holds more than one address: give each recipient as its own "
                         "string in a list")
    name, address = parseaddr(value)
    if not address or ("<" in value and not value.rstrip().endswith(">")):
        raise ValueError("is not an email address")
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as err:
        raise ValueError(f"is not a valid email address ({err})") from err
    return formataddr((name, checked.normalized)) if name else checked.normalized


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Mailbox = Annotated[str, AfterValidator(_mailbox)]
MailboxList = Annotated[list[Mailbox], BeforeValidator(_as_list)]


def address_of(mailbox: str) -> str:
    """The bare address of a mailbox string (lower-cased domain kept as given)."""
    return parseaddr(mailbox)[1]


def domain_of(mailbox: str) -> str:
    return address_of(mailbox).rsplit("@", 1)[-1].lower()


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _drop_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The document says what the validator enforces: no null on non-nullable fields."""
    nullable: frozenset[str] = getattr(model, "NULLABLE", frozenset())
    for key, field in model.model_fields.items():
        prop = schema.get("properties", {}).get(field.alias or key)
        if key in nullable or not prop or "anyOf" not in prop:
            continue
        kept = [option for option in prop.pop("anyOf") if option.get("type") != "null"]
        prop.pop("default", None)
        prop.update(kept[0] if len(kept) == 1 else {"anyOf": kept})


class PatchModel(InputModel):
    """A PATCH body: an absent field keeps its value, ``null`` clears one of ``NULLABLE``;
    ``null`` on any other field is refused, so no PATCH can unset what a record needs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              json_schema_extra=_drop_null)
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null_on_required(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, field in cls.model_fields.items():
            for name in {key, field.alias or key}:
                if key not in cls.NULLABLE and name in data and data[name] is None:
                    raise FieldError(name, "must not be null: leave it out to keep its value")
        return data


class OutputModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ErrorDetail(OutputModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(OutputModel):
    error: ErrorDetail


# Domains (SPEC §5)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _domain_name(value: str) -> str:
    name = value.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as err:
        raise ValueError("is not a valid domain name") from err
    labels = name.split(".")
    if (len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(lbl) for lbl in labels)
            or labels[-1].isdigit()):
        raise ValueError("is not a valid domain name")
    return name


def _label(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError("must be one DNS label (letters, digits, hyphens)")
    return value


DomainName = Annotated[str, AfterValidator(_domain_name)]


class DomainCreate(InputModel):
    name: DomainName = Field(description="The domain to send from, e.g. mail.acme.com.")
    dkim: Literal["rsa2048", "rsa2048+ed25519"] = Field(
        default="rsa2048", description="Ed25519 adds a second signature (RFC 8463).")
    mail_from_subdomain: Annotated[str, AfterValidator(_label)] = Field(
        default="send", description="Custom MAIL FROM: <subdomain>.<name>.")


class DnsRecordOut(OutputModel):
    type: Literal["TXT", "MX"]
    name: str
    value: str
    purpose: Literal["dkim", "mail_from_mx", "spf", "dmarc"]
    required: bool
    selector: str | None = None
    key_state: str | None = None
    status: Literal["found", "missing", "mismatch"] | None = Field(
        default=None, description="From the last verification; null before the first.")
    seen: list[str] = Field(default_factory=list)


class DomainOut(OutputModel):
    id: str
    name: str
    status: Literal["pending", "verified"]
    dkim: str
    mail_from: str
    records: list[DnsRecordOut]
    created_at: str
    verified_at: str | None = None
    last_checked_at: str | None = None
    track_opens: bool = False
    track_clicks: bool = False


class DomainUpdate(PatchModel):
    track_opens: bool | None = Field(default=None, description="Default for this domain's mail.")
    track_clicks: bool | None = None


class DomainPage(OutputModel):
    data: list[DomainOut]
    has_more: bool
    next_cursor: str | None = None


class Deleted(OutputModel):
    id: str
    deleted: Literal[True] = True


# SMTP relay credentials (SPEC §5)

class SmtpCredentialCreate(InputModel):
    name: str | None = Field(default=None, max_length=100)


class SmtpCredentialOut(OutputModel):
    id: str
    name: str | None = None
    username: str
    server: str
    ports: list[int]
    created_at: str
    rotated_at: str | None = None


class SmtpCredentialSecret(SmtpCredentialOut):
    password: str = Field(description="Shown once; Letterbox keeps no copy.")


class SmtpCredentialList(OutputModel):
    data: list[SmtpCredentialOut]


# Suppressions (SPEC §6)

class SuppressionCreate(InputModel):
    email: Mailbox
    scope: Literal["all", "marketing"] = Field(
        default="all", description="marketing: transactional mail still goes out.")


class SuppressionOut(OutputModel):
    email: str | None = Field(description="null once the address was erased: only its hash "
                                          "remains, and still suppresses.")
    reason: Literal["manual", "bounce", "complaint", "unsubscribe", "erasure"]
    scope: Literal["all", "marketing"]
    created_at: str
    message_id: str | None = None
    address_hash: str | None = Field(default=None, description="The keyed hash the entry is "
                                     "stored under (all an erased entry keeps).")


class SuppressionPage(OutputModel):
    data: list[SuppressionOut]
    has_more: bool
    next_cursor: str | None = None


# Templates

# A template is one stored item (DynamoDB's limit is 400 KB): its parts together stay below.
MAX_TEMPLATE_BYTES = 300 * 1024


class TemplateCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=998)
    html: str | None = Field(default=None, description="At most 300 KB with text and subject.")
    text: str | None = None

    @model_validator(mode="after")
    def _size(self) -> TemplateCreate:
        size = sum(len((part or "").encode()) for part in (self.subject, self.html, self.text))
        if size > MAX_TEMPLATE_BYTES:
            raise FieldError("html" if self.html else "text",
                             f"the template is {size} bytes; at most {MAX_TEMPLATE_BYTES}")
        return self


class TemplateUpdate(PatchModel):
    NULLABLE = frozenset({"html", "text"})  # one may go, as long as the other stays

    name: str | None = Field(default=None, min_length=1, max_length=200)
    subject: str | None = Field(default=None, min_length=1, max_length=998)
    html: str | None = None
    text: str | None = None


class TemplateOut(OutputModel):
    id: str
    name: str
    subject: str
    html: str | None = None
    text: str | None = None
    variables: list[str] = Field(description="Variables the template uses.")
    created_at: str
    updated_at: str


class TemplatePage(OutputModel):
    data: list[TemplateOut]
    has_more: bool
    next_cursor: str | None = None


class WebhookAck(OutputModel):
    recorded: int | None = None
    subscription: str | None = None

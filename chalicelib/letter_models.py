"""Models for physical mail (SPEC §7): postal addresses, letters and their tracking."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from chalicelib.models import FieldError, InputModel, OutputModel

CarrierName = Literal["auto", "usps", "fedex", "dhl", "sandbox"]
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


class PostalAddressIn(InputModel):
    """Where mail goes; verifying one needs no recipient."""

    name: str | None = Field(default=None, max_length=100)
    company: str | None = Field(default=None, max_length=100)
    address_line1: str = Field(min_length=1, max_length=100)
    address_line2: str | None = Field(default=None, max_length=100)
    city: str = Field(default="", max_length=100)
    state: str | None = Field(default=None, max_length=100,
                              description="State, province or region (US: 2 letters).")
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(default="US", min_length=2, max_length=2,
                         description="ISO 3166-1 alpha-2.")
    phone: str | None = Field(default=None, max_length=30,
                              description="Needed by express carriers (FedEx, DHL).")

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str) -> str:
        if not value.isalpha():
            raise ValueError("must be a 2-letter ISO country code")
        return value.upper()



class AddressIn(PostalAddressIn):
    """A letter's recipient or sender: an address and someone at it."""

    @model_validator(mode="after")
    def _someone(self) -> AddressIn:
        if not (self.name or self.company):
            raise FieldError("name", "an address needs a name or a company")
        return self


class Address(OutputModel):
    name: str | None = None
    company: str | None = None
    address_line1: str
    address_line2: str | None = None
    city: str
    state: str | None = None
    postal_code: str | None = None
    country: str
    phone: str | None = None


class AddressVerifyRequest(InputModel):
    address: PostalAddressIn
    carrier: Literal["auto", "usps", "fedex", "dhl"] = "auto"


class AddressVerification(OutputModel):
    deliverability: Literal["deliverable", "deliverable_missing_unit", "undeliverable",
                            "unverified"] = Field(
        description="unverified: the format is valid but no carrier was asked (none "
                    "configured for this country).")
    address: Address = Field(description="Normalized (USPS Publication 28 for US).")
    checked_by: list[str] = Field(description="'format', then any carrier asked.")
    errors: list[dict[str, str]] = Field(default_factory=list)


class LetterCreate(InputModel):
    to: AddressIn
    from_: AddressIn = Field(alias="from")
    pdf: str | None = Field(default=None, description="The document, base64 PDF.")
    html: str | None = Field(default=None, max_length=MAX_DOCUMENT_BYTES)
    description: str | None = Field(default=None, max_length=255)
    color: bool = False
    double_sided: bool = True
    mail_class: Literal["first_class", "standard", "priority", "express"] = "first_class"
    certified: bool = False
    carrier: CarrierName = "auto"
    send_date: AwareDatetime | None = Field(
        default=None, description="Hand to the carrier no earlier than this (≤ 180 days).")
    metadata: dict[str, str] = Field(default_factory=dict, max_length=20)

    @field_validator("pdf")
    @classmethod
    def _pdf(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as err:
            raise ValueError("must be base64") from err
        if not raw.startswith(b"%PDF-"):
            raise ValueError("is not a PDF (it must start with %PDF-)")
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise ValueError("is over the 5 MB limit")
        return value

    @model_validator(mode="after")
    def _one_document(self) -> LetterCreate:
        if (self.pdf is None) == (self.html is None):
            raise FieldError("pdf", "send exactly one of pdf (base64) or html")
        return self

    def document(self) -> tuple[bytes, str]:
        if self.pdf is not None:
            return base64.b64decode(self.pdf), "application/pdf"
        return (self.html or "").encode(), "text/html"


class LetterEvent(OutputModel):
    id: str
    type: str
    status: str
    timestamp: str
    description: str | None = None
    location: str | None = None
    carrier_code: str | None = Field(default=None, description="The carrier's own code.")


class LetterOut(OutputModel):
    id: str
    status: str
    carrier: str
    tracking_number: str | None = None
    to: Address | None = Field(description="null once the address was purged (§8).")
    from_: Address | None = Field(alias="from")
    description: str | None = None
    color: bool
    double_sided: bool
    mail_class: str
    certified: bool
    send_date: str | None = None
    cancel_until: str
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: str
    updated_at: str
    events: list[LetterEvent] = Field(default_factory=list)


class LetterPage(OutputModel):
    data: list[LetterOut]
    has_more: bool
    next_cursor: str | None = None


def letter_out(letter: dict[str, Any], addresses: dict[str, Any] | None,
               events: list[dict[str, Any]]) -> LetterOut:
    return LetterOut.model_validate({
        **{k: letter.get(k) for k in ("status", "carrier", "tracking_number", "description",
                                      "color", "double_sided", "mail_class", "certified",
                                      "send_date", "cancel_until", "created_at",
                                      "updated_at")},
        "id": letter["letter_id"], "metadata": letter.get("metadata") or {},
        "to": (addresses or {}).get("to"), "from": (addresses or {}).get("from"),
        "events": [{"id": e["event_id"], "type": e["type"], "status": e["status"],
                    "timestamp": e["timestamp"], "description": e.get("description"),
                    "location": e.get("location"), "carrier_code": e.get("carrier_code")}
                   for e in events]})



class LetterJob(OutputModel):
    """What the letter queue carries: a pointer, never the address or the document."""

    account_id: str
    letter_id: str

"""What every carrier adapter speaks: addresses and letters in, shipments and normalized
tracking out, and one error type that says whether a retry can help."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Normalized statuses (SPEC §7), ranked: tracking only ever moves a letter forward.
STATUS_RANK = {"created": 0, "submitted": 1, "in_transit": 2, "out_for_delivery": 3,
               "exception": 4, "delivered": 5, "returned_to_sender": 5, "cancelled": 5}
# A carrier code no published table names: the event is kept on the timeline with its raw
# code, and the letter's status does not move.
UNKNOWN = "unknown"


class CarrierError(Exception):
    """A carrier said no. ``retryable`` for 429/5xx/timeouts, with ``retry_after`` seconds
    when the carrier gave one; ``field`` names the input at fault, when known."""

    def __init__(self, carrier: str, message: str, status: int | None = None,
                 retryable: bool = False, retry_after: int | None = None,
                 code: str | None = None, field: str | None = None,
                 ambiguous: bool = False) -> None:
        super().__init__(f"{carrier}: {message}")
        self.carrier, self.message, self.status = carrier, message, status
        self.retryable, self.retry_after, self.code, self.field = (retryable, retry_after,
                                                                   code, field)
        # The request may have reached the carrier and been carried out (a read timeout, a
        # dropped connection): for a purchase, look before buying again.
        self.ambiguous = ambiguous


class UnreadablePurchase(CarrierError):
    """The carrier answered a purchase with success, but the answer lacks what we need.
    Never retried as a new purchase: the letter shows ``exception`` with this reason, and
    ``reference`` keeps what the answer did carry (a shipment id, a tracking number)."""

    def __init__(self, carrier: str, message: str, reference: str | None) -> None:
        super().__init__(carrier, message, status=200)
        self.reference = reference


def raw_reference(body: Any, keys: tuple[str, ...]) -> str | None:
    """The first identifier-looking value under one of ``keys``, searched depth-first
    (never an address: only the named keys are read)."""
    if isinstance(body, dict):
        for key in keys:
            value = body.get(key)
            if isinstance(value, (str, int)) and str(value):
                return str(value)
        children: list[Any] = list(body.values())
    elif isinstance(body, list):
        children = body
    else:
        return None
    for child in children:
        found = raw_reference(child, keys)
        if found:
            return found
    return None


class LookupUnavailable(CarrierError):
    """The carrier offers no way to find a shipment by our reference."""

    def __init__(self, carrier: str) -> None:
        super().__init__(carrier, "this carrier cannot look a label up by our reference")


@dataclass(frozen=True)
class PostalAddress:
    """An address as carriers take it (already normalized)."""

    name: str | None
    company: str | None
    line1: str
    line2: str | None
    city: str
    state: str | None
    postal_code: str | None
    country: str
    phone: str | None = None

    @classmethod
    def of(cls, record: dict[str, Any]) -> PostalAddress:
        return cls(record.get("name"), record.get("company"), record["address_line1"],
                   record.get("address_line2"), record.get("city") or "", record.get("state"),
                   record.get("postal_code"), record["country"], record.get("phone"))


@dataclass(frozen=True)
class LetterOrder:
    """What a carrier needs to take one letter: nothing more (SPEC §7 privacy)."""

    reference: str  # our letter id
    to: PostalAddress
    sender: PostalAddress
    mail_class: str
    certified: bool
    ship_date: datetime
    pages: int = 1


@dataclass(frozen=True)
class Shipment:
    tracking_number: str
    label_pdf: bytes | None = None
    raw_status: str | None = None
    cost: str | None = None


@dataclass(frozen=True)
class CarrierEvent:
    code: str  # the carrier's own code, kept
    status: str  # normalized
    timestamp: str
    description: str | None = None
    location: str | None = None  # city/state/country of the scan; never a street


@dataclass
class TrackingUpdate:
    tracking_number: str
    events: list[CarrierEvent] = field(default_factory=list)

    @property
    def status(self) -> str | None:
        """The furthest status the events reach; ``unknown`` events never move it."""
        known = [e for e in self.events if e.status in STATUS_RANK]
        ranked = sorted(known, key=lambda e: STATUS_RANK[e.status])
        return ranked[-1].status if ranked else None


@dataclass(frozen=True)
class AddressCheck:
    deliverable: str  # deliverable | deliverable_missing_unit | undeliverable
    address: PostalAddress | None = None
    messages: tuple[str, ...] = ()


class Carrier(Protocol):
    name: str
    track_batch: int  # tracking numbers per tracking request

    def validate_address(self, address: PostalAddress) -> AddressCheck: ...
    def create_shipment(self, order: LetterOrder) -> Shipment: ...
    def find_shipment(self, order: LetterOrder) -> Shipment | None:
        """What an earlier attempt bought for this order (by our reference), or None when the
        carrier has nothing; raises ``LookupUnavailable`` when the carrier cannot say."""
        ...
    def cancel(self, tracking_number: str) -> None: ...
    def track(self, tracking_numbers: list[str]) -> list[TrackingUpdate]: ...
    def parse_push(self, body: dict[str, Any]) -> list[TrackingUpdate]: ...


def location(*parts: str | None) -> str | None:
    text = ", ".join(p for p in parts if p)
    return text or None

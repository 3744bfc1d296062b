"""The sandbox carrier (SPEC §1): no network; a letter moves through its statuses to
``delivered`` within seconds, or to ``returned_to_sender`` when the address contains
``RETURN``. The tracking number carries the start time and the outcome, so tracking is a
pure function of it and the clock."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.carriers.base import (AddressCheck, CarrierError, CarrierEvent, LetterOrder,
                                      PostalAddress, Shipment, TrackingUpdate)

NAME = "sandbox"
DELIVERED = (("ACCEPTED", "in_transit", "Accepted at the sandbox origin facility"),
             ("OUT", "out_for_delivery", "Out for delivery"),
             ("DELIVERED", "delivered", "Delivered"))
RETURNED = (("ACCEPTED", "in_transit", "Accepted at the sandbox origin facility"),
            ("NOSUCH", "exception", "Undeliverable as addressed"),
            ("RETURNED", "returned_to_sender", "Returned to sender"))


def _returns(address: PostalAddress) -> bool:
    text = " ".join(p or "" for p in (address.name, address.company, address.line1,
                                      address.line2, address.city)).upper()
    return "RETURN" in text


class SandboxCarrier:
    name = NAME
    track_batch = 50

    def __init__(self, step_seconds: float = 1.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._step = step_seconds
        self._clock = clock
        self.shipments: list[LetterOrder] = []  # what reached the carrier, for tests
        self._bought: dict[str, Shipment] = {}  # by our reference, as a carrier account keeps

    def validate_address(self, address: PostalAddress) -> AddressCheck:
        if "UNDELIVERABLE" in address.line1.upper():
            return AddressCheck("undeliverable", address, ("sandbox: undeliverable",))
        return AddressCheck("deliverable", address)

    def create_shipment(self, order: LetterOrder) -> Shipment:
        if "CARRIER-DOWN" in order.to.line1.upper():
            raise CarrierError(NAME, "sandbox outage", status=503, retryable=True,
                               retry_after=1)
        self.shipments.append(order)
        started = int(self._clock().timestamp() * 1000)
        outcome = "R" if _returns(order.to) else "D"
        shipment = Shipment(tracking_number=f"SBX{started}{outcome}{os.urandom(3).hex().upper()}",
                            label_pdf=b"%PDF-1.4\n% sandbox label\n")
        self._bought[order.reference] = shipment
        return shipment

    def find_shipment(self, order: LetterOrder) -> Shipment | None:
        return self._bought.get(order.reference)

    def cancel(self, tracking_number: str) -> None:
        """The sandbox keeps nothing to cancel."""

    def track(self, tracking_numbers: list[str]) -> list[TrackingUpdate]:
        return [self._track(number) for number in tracking_numbers
                if number.startswith("SBX")]

    def _track(self, number: str) -> TrackingUpdate:
        started = datetime.fromtimestamp(int(number[3:16]) / 1000, UTC)
        script = RETURNED if number[16] == "R" else DELIVERED
        now = self._clock()
        events = []
        for step, (code, status, text) in enumerate(script, start=1):
            at = started + timedelta(seconds=self._step * step)
            if at > now:
                break
            events.append(CarrierEvent(code=code, status=status, description=text,
                                       timestamp=at.isoformat(timespec="milliseconds"),
                                       location="Sandbox City, SB, US"))
        return TrackingUpdate(number, events)

    def parse_push(self, body: dict[str, Any]) -> list[TrackingUpdate]:
        return [self._track(str(n)) for n in body.get("tracking_numbers") or []]

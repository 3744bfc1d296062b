"""Never buy twice (SPEC §7): the one way a letter's label is bought.

Before the carrier is asked, the letter is marked as having a purchase under way. If the
worker dies after the carrier sold the label but before the tracking number was recorded,
the next attempt finds the mark and asks the carrier what it sold under our reference
(``find_shipment``) before buying anything. A carrier that cannot look a label up turns
that case into ``PurchaseUnknown``: the letter ends in ``exception`` with the reason, never
in a second label. A carrier answer that said "no" (an HTTP error other than a gateway
timeout) bought nothing and clears the mark; an answer that may have been lost on the way
(a read timeout, a dropped connection, 504) leaves it for the next attempt to look up.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.carriers.base import (Carrier, CarrierError, LetterOrder, LookupUnavailable,
                                      Shipment)


class PurchaseUnknown(CarrierError):
    """An earlier attempt may have bought a label, and the carrier cannot say."""

    def __init__(self, carrier: str, reference: str) -> None:
        super().__init__(carrier, f"an earlier attempt may have bought a label and {carrier} "
                                  f"cannot look it up: check the {carrier} account for "
                                  f"reference {reference} before sending again")
        self.reference = reference


def _may_have_bought(err: CarrierError) -> bool:
    return err.ambiguous or err.status == 504


def purchase_once(carrier: Carrier, order: LetterOrder, attempted_before: bool,
                  mark: Callable[[bool], None]) -> Shipment:
    """The letter's shipment: found again after an interrupted attempt, or bought now.
    ``mark(True)`` records that a purchase is under way, ``mark(False)`` that it bought
    nothing. Raises ``CarrierError`` (``UnreadablePurchase`` and ``PurchaseUnknown``
    included) as the caller must record it."""
    if attempted_before:
        try:
            found = carrier.find_shipment(order)
        except LookupUnavailable as err:
            raise PurchaseUnknown(carrier.name, order.reference) from err
        if found is not None:
            return found
    mark(True)
    try:
        return carrier.create_shipment(order)
    except CarrierError as err:
        if err.status != 200 and not _may_have_bought(err):
            mark(False)  # the carrier said no: nothing was bought
        raise

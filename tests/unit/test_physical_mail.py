"""The letter state machine over in-memory fakes (tests/fakes.py): no moto, no HTTP.

created → submitted (carrier accepted, printed) → in_transit → … → delivered; refused →
exception; cancelled only inside its window. Each test names the bug it would catch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.accounts import Principal
from chalicelib.carriers.base import CarrierError, CarrierEvent, TrackingUpdate
from chalicelib.errors import Conflict, RetryableFailure
from chalicelib.letter_models import LetterCreate, LetterJob
from chalicelib.physical_mail import LetterService, LetterSubmitter, LetterTracker
from chalicelib.vocabulary import LETTER_STATUS_RANK, LETTER_TERMINAL, LetterStatus
from tests.fakes import (FakeCarrier, FakeCarriers, FakeContent, FakeLetterStore, FakePrinter,
                         FakeQueue)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)
PRINCIPAL = Principal(account_id="acc_1", key_id="key_1", scope="full")
ADDRESS = {"name": "Ana", "address_line1": "1600 Pennsylvania Ave NW", "city": "Washington",
           "state": "DC", "postal_code": "20500", "country": "US"}


class Letters:
    def __init__(self) -> None:
        self.store, self.content, self.queue = FakeLetterStore(), FakeContent(), FakeQueue()
        self.carrier, self.printer = FakeCarrier(), FakePrinter()
        carriers = FakeCarriers(self.carrier)
        self.service = LetterService(self.store, self.content, self.queue, carriers,
                                     cancel_window_seconds=300)
        self.submitter = LetterSubmitter(self.store, self.content, carriers, self.printer)
        self.tracker = LetterTracker(self.store, carriers)

    def create(self) -> str:
        letter = self.service.create(PRINCIPAL, LetterCreate(**{
            "to": ADDRESS, "from": ADDRESS, "html": "<p>Hello</p>"}), NOW)
        return letter.id

    def status(self, letter_id: str) -> str:
        return str(self.store.letters[letter_id]["status"])

    def timeline(self, letter_id: str) -> list[str]:
        return [e["type"] for e in self.store.events[letter_id]]

    def job(self, letter_id: str) -> LetterJob:
        return LetterJob(account_id="acc_1", letter_id=letter_id)


def test_a_letter_reaches_its_carrier_once_is_printed_and_its_document_forgotten() -> None:
    """Bug caught: a redelivered queue record buying a second label, or the document kept
    after printing (SPEC §7: no document once the carrier has the piece)."""
    letters = Letters()
    letter_id = letters.create()
    assert letters.submitter.submit(letters.job(letter_id), LATER) == "submitted"
    assert letters.submitter.submit(letters.job(letter_id), LATER) == "done"
    assert len(letters.carrier.orders) == 1 and len(letters.printer.printed) == 1
    assert letters.status(letter_id) == "submitted" and letters.content.objects == {}
    assert letters.timeline(letter_id) == ["letter.created", "letter.submitted"]


def test_a_letter_is_not_submitted_inside_its_cancellation_window() -> None:
    """Bug caught: a letter sent to the carrier while its sender may still cancel it."""
    letters = Letters()
    letter_id = letters.create()
    with pytest.raises(RetryableFailure):
        letters.submitter.submit(letters.job(letter_id), NOW + timedelta(seconds=30))
    assert letters.carrier.orders == []


def test_a_carrier_busy_signal_is_retried_after_the_time_it_asked() -> None:
    """Bug caught: a carrier's 429 Retry-After lost, so the retry hammers it at once (or a
    retryable error turning the letter into an exception)."""
    letters = Letters()
    letter_id = letters.create()
    letters.carrier.refuse = CarrierError("usps", "slow down", 429, retryable=True,
                                          retry_after=120)
    with pytest.raises(RetryableFailure) as raised:
        letters.submitter.submit(letters.job(letter_id), LATER)
    assert raised.value.retry_after == 120
    assert letters.status(letter_id) == "created"
    assert "claim_until" not in letters.store.letters[letter_id]  # the retry may claim it


def test_a_carrier_refusal_ends_in_exception_and_drops_the_document() -> None:
    """Bug caught: a refused letter retried forever, or its document kept."""
    letters = Letters()
    letter_id = letters.create()
    letters.carrier.refuse = CarrierError("usps", "address not deliverable", 400)
    assert letters.submitter.submit(letters.job(letter_id), LATER) == "refused"
    assert letters.status(letter_id) == "exception" and letters.content.objects == {}
    assert letters.printer.printed == []


def test_cancel_works_inside_the_window_and_is_refused_after_the_claim() -> None:
    """Bug caught: a cancel that 'succeeds' while the worker is already buying the label."""
    letters = Letters()
    kept, cancelled = letters.create(), letters.create()
    assert letters.service.cancel(PRINCIPAL, cancelled, NOW).status == "cancelled"
    letters.store.claim("acc_1", kept, int(LATER.timestamp()), 120)
    with pytest.raises(Conflict):
        letters.service.cancel(PRINCIPAL, kept, NOW)
    assert letters.status(kept) == "created"


def _update(number: str, *steps: tuple[str, str]) -> TrackingUpdate:
    return TrackingUpdate(number, [CarrierEvent(code=code, status=status,
                                                timestamp=f"2026-03-0{3 + i}T10:00:00Z")
                                   for i, (code, status) in enumerate(steps)])


def test_tracking_moves_forward_only_and_records_each_scan_once() -> None:
    """Bug caught: a late ``in_transit`` scan moving a delivered letter back, or a re-poll
    recording the same scan twice."""
    letters = Letters()
    letter_id = letters.create()
    letters.submitter.submit(letters.job(letter_id), LATER)
    number = letters.store.letters[letter_id]["tracking_number"]
    letters.carrier.updates = [_update(number, ("03", "in_transit"), ("01", "delivered"))]
    assert letters.tracker.poll(LATER)["usps"] == 2
    letters.carrier.updates = [_update(number, ("03", "in_transit"))]
    assert letters.tracker.push("usps", {}, LATER) == 0  # a delivered letter is not tracked
    assert letters.status(letter_id) == "delivered"
    assert letters.timeline(letter_id).count("letter.in_transit") == 1


def test_an_unknown_carrier_status_is_a_timeline_entry_and_moves_nothing() -> None:
    """Bug caught: a carrier code we cannot map guessed as ``in_transit`` (or raising)."""
    letters = Letters()
    letter_id = letters.create()
    letters.submitter.submit(letters.job(letter_id), LATER)
    number = letters.store.letters[letter_id]["tracking_number"]
    letters.carrier.updates = [_update(number, ("ZZ", "weird_new_status"))]
    assert letters.tracker.poll(LATER)["usps"] == 1
    assert letters.status(letter_id) == "submitted"
    (unknown,) = [e for e in letters.store.events[letter_id] if e["status"] == "unknown"]
    assert unknown["type"] == "letter.unknown" and unknown["carrier_code"] == "ZZ"


def test_every_letter_status_but_unknown_has_a_rank_and_terminal_ones_rank_highest() -> None:
    """Bug caught: a status missing from the rank table (KeyError in the store)."""
    assert set(LETTER_STATUS_RANK) == {s for s in LetterStatus if s is not LetterStatus.UNKNOWN}
    top = max(LETTER_STATUS_RANK.values())
    assert {s for s, r in LETTER_STATUS_RANK.items() if r == top} == LETTER_TERMINAL

"""Physical mail: accept a letter, hand it to its carrier once the cancellation window has
passed, follow it to delivery, and forget the address 30 days later (SPEC §7, §8).

The API side (``LetterService``) normalizes the addresses, keeps the document in S3 and
queues the letter. The submitter (letter queue) claims it exactly once, sends the carrier
only what it needs, prints, and deletes the document. The tracker (scheduled poll and
carrier pushes) maps carrier codes to our statuses and records ``letter.*`` events.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from chalicelib.accounts import Principal
from chalicelib.addresses import normalize
from chalicelib.carriers.base import (CarrierError, LetterOrder, PostalAddress, TrackingUpdate,
                                      UnreadablePurchase)
from chalicelib.carriers.pacing import Pace, Pacer, track_paced
from chalicelib.carriers.purchase import PurchaseUnknown, purchase_once
from chalicelib.clock import iso
from chalicelib.errors import (Conflict, NotFound, PermanentFailure, RetryableFailure,
                               ServiceUnavailable, ValidationFailed)
from chalicelib.ids import new_id
from chalicelib.letter_models import LetterCreate, LetterJob, LetterOut, LetterPage, letter_out
from chalicelib.ports import CarrierDirectory, Claim, LetterStore
from chalicelib.vocabulary import (LETTER_STATUS_RANK, SQS_MAX_DELAY, Event, LetterStatus,
                                   letter_status)

DUE_SHARDS = 4
MAX_AHEAD = timedelta(days=180)
# Sent further ahead than this, a document goes under ``letters-ahead/`` (retention.py): the
# ``letters/`` backstop (7 days) leaves time for carrier retries only.
DOCUMENT_SAFE_AHEAD = timedelta(days=3)
L = LetterStatus


class Content(Protocol):
    def put(self, key: str, body: bytes, content_type: str = ...) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


class Queue(Protocol):
    def enqueue(self, command: Any, delay_seconds: int = 0) -> str: ...


class Printer(Protocol):
    def print(self, letter: dict[str, Any], document: bytes, label: bytes | None) -> None: ...


def _parse_time(text: str, fallback: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _field_errors(prefix: str, errors: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"field": f"{prefix}.{e['field']}", "message": e["message"]} for e in errors]


class LetterService:
    def __init__(self, store: LetterStore, content: Content, queue: Queue,
                 carriers: CarrierDirectory, cancel_window_seconds: int,
                 can_print: bool = True) -> None:
        self._store = store
        self._content = content
        self._queue = queue
        self._carriers = carriers
        self._window = timedelta(seconds=cancel_window_seconds)
        self._can_print = can_print

    def create(self, principal: Principal, request: LetterCreate, now: datetime) -> LetterOut:
        if not self._can_print:
            raise ServiceUnavailable("letters need a print partner: set "
                                     "LETTERBOX_PRINT_ENDPOINT_URL")
        to, to_errors = normalize(request.to)
        sender, from_errors = normalize(request.from_)
        errors = _field_errors("to", to_errors) + _field_errors("from", from_errors)
        if errors:
            raise ValidationFailed("an address does not follow its country's format",
                                   details=errors)
        if request.send_date is not None and request.send_date > now + MAX_AHEAD:
            raise ValidationFailed("send_date may be at most 180 days ahead",
                                   details=[{"field": "send_date"}])
        carrier = self._carriers.choose(request.carrier, to["country"], sender["country"])
        letter_id = new_id("ltr")
        due = max(now + self._window, request.send_date or now)
        document, content_type = request.document()
        # The 7-day backstop must not expire a document before its letter is sent.
        prefix = "letters-ahead" if due - now > DOCUMENT_SAFE_AHEAD else "letters"
        document_key = f"{prefix}/{principal.account_id}/{letter_id}"
        letter = {"letter_id": letter_id, "account_id": principal.account_id,
                  "status": L.CREATED.value, "carrier": carrier, "description": request.description,
                  "color": request.color, "double_sided": request.double_sided,
                  "mail_class": request.mail_class, "certified": request.certified,
                  "send_date": iso(request.send_date) if request.send_date else None,
                  "cancel_until": iso(due), "due_at": int(due.timestamp()),
                  "document_key": document_key, "content_type": content_type,
                  "metadata": request.metadata, "created_at": iso(now), "updated_at": iso(now)}
        self._content.put(document_key, document, content_type)
        delay = int((due - now).total_seconds())
        due_keys = None
        if due - now > SQS_MAX_DELAY:
            shard = sum(letter_id.encode()) % DUE_SHARDS
            due_keys = {"gsi1pk": f"LTRDUE#{shard}", "gsi1sk": iso(due)}
        event = Event.letter(letter, L.CREATED, now).item()
        self._store.create(letter, {"to": to, "from": sender}, event, now, due_keys)
        if due_keys is None:
            # A failure here leaves the letter for the sweep, which queues what is due.
            self._queue.enqueue(LetterJob(account_id=principal.account_id,
                                          letter_id=letter_id), delay)
        return letter_out(letter, {"to": to, "from": sender}, [event])

    def get(self, principal: Principal, letter_id: str) -> LetterOut:
        found = self._store.get(principal.account_id, letter_id)
        if found is None:
            raise NotFound(f"no letter {letter_id}")
        letter, addresses, events = found
        return letter_out(letter, addresses, events)

    def list(self, principal: Principal, limit: int, cursor: str | None) -> LetterPage:
        items, next_cursor = self._store.page(principal.account_id, limit, cursor)
        addresses = self._store.addresses_of(principal.account_id,
                                             [i["letter_id"] for i in items])
        return LetterPage(data=[letter_out(i, addresses.get(i["letter_id"]), []) for i in items],
                          has_more=next_cursor is not None, next_cursor=next_cursor)

    def cancel(self, principal: Principal, letter_id: str, now: datetime) -> LetterOut:
        found = self._store.get(principal.account_id, letter_id)
        if found is None:
            raise NotFound(f"no letter {letter_id}")
        letter = found[0]
        event = Event.letter(letter, L.CANCELLED, now,
                             description="cancelled by the sender").item()
        done = self._store.finish(
            principal.account_id, letter_id, L.CANCELLED, event, now, (L.CREATED,),
            extra_condition=" AND due_at > :t AND (attribute_not_exists(claim_until) "
                            "OR claim_until < :t)", values={":t": int(now.timestamp())})
        if not done:
            raise Conflict("the cancellation window has passed: the letter is with its "
                           "carrier", details=[{"field": "id", "status": letter["status"]}])
        self._content.delete(letter["document_key"])
        return self.get(principal, letter_id)


class LetterSubmitter:
    """The letter queue's worker: each letter reaches its carrier once."""

    def __init__(self, store: LetterStore, content: Content, carriers: CarrierDirectory,
                 printer: Printer, lease_seconds: int = 120) -> None:
        self._store = store
        self._content = content
        self._carriers = carriers
        self._printer = printer
        self._lease = lease_seconds

    def submit(self, job: LetterJob, now: datetime) -> str:
        claim = self._store.claim(job.account_id, job.letter_id, int(now.timestamp()),
                                  self._lease)
        if claim is Claim.MISSING:
            return "missing"
        if claim is Claim.BUSY:
            raise RetryableFailure("another worker holds this letter, or it is not due yet")
        found = self._store.get(job.account_id, job.letter_id)
        assert found is not None
        letter, addresses, _ = found
        if claim is Claim.DONE:
            return self._finish_printing(letter, now)
        if addresses is None:  # purged while waiting: nothing left to send
            self._store.release(job.account_id, job.letter_id)
            return "missing"
        try:  # read before buying a label: a label for a document that is gone is waste
            document = self._content.get(letter["document_key"])
        except PermanentFailure:
            return self._document_gone(letter, now)
        carrier = self._carriers.get(letter["carrier"])
        order = LetterOrder(reference=letter["letter_id"], to=PostalAddress.of(addresses["to"]),
                            sender=PostalAddress.of(addresses["from"]),
                            mail_class=letter["mail_class"], certified=letter["certified"],
                            ship_date=now)
        try:
            shipment = purchase_once(
                carrier, order, bool(letter.get("purchase_started_at")),
                lambda started: self._store.set_fields(job.account_id, job.letter_id, {
                    "purchase_started_at": iso(now) if started else None}))
        except CarrierError as err:
            if err.retryable and not isinstance(err, PurchaseUnknown):
                self._store.release(job.account_id, job.letter_id)
                raise RetryableFailure(str(err), retry_after=err.retry_after) from err
            if isinstance(err, UnreadablePurchase):  # bought: keep what the answer carried
                self._store.set_fields(job.account_id, job.letter_id,
                                       {"carrier_reference": err.reference})
            reason = (f"{carrier.name} sold a label but its answer could not be read "
                      f"({err.message}; carrier reference {err.reference})"
                      if isinstance(err, UnreadablePurchase) else err.message
                      if isinstance(err, PurchaseUnknown)
                      else f"refused by {carrier.name}: {err.message}")
            self._store.finish(job.account_id, job.letter_id, L.EXCEPTION,
                               Event.letter(letter, L.EXCEPTION, now,
                                            description=reason).item(),
                               now, (L.CREATED,))
            self._content.delete(letter["document_key"])
            return "refused"
        self._store.submitted(job.account_id, job.letter_id, carrier.name,
                              shipment.tracking_number,
                              Event.letter(letter, L.SUBMITTED, now,
                                           description=f"accepted by {carrier.name}").item(),
                              now)
        letter = {**letter, "tracking_number": shipment.tracking_number}
        return self._finish_printing(letter, now, shipment.label_pdf, document)

    def _document_gone(self, letter: dict[str, Any], now: datetime) -> str:
        self._store.finish(letter["account_id"], letter["letter_id"], L.EXCEPTION,
                           Event.letter(letter, L.EXCEPTION, now,
                                        description="the document is gone; no label was "
                                                    "bought").item(), now, (L.CREATED,))
        return "document_gone"

    def _finish_printing(self, letter: dict[str, Any], now: datetime,
                         label: bytes | None = None, document: bytes | None = None) -> str:
        """Print once the carrier has the piece, then forget the document."""
        if letter.get("printed_at") or not letter.get("tracking_number"):
            return "done"  # printed already, or never accepted (cancelled, refused)
        if document is None:
            document = self._content.get(letter["document_key"])
        self._printer.print(letter, document, label)
        self._store.set_fields(letter["account_id"], letter["letter_id"],
                               {"printed_at": iso(now)})
        self._content.delete(letter["document_key"])
        return "submitted"

    def give_up(self, job: LetterJob, now: datetime) -> str:
        """Retries exhausted (the dead-letter queue): an exception, and no document kept."""
        found = self._store.get(job.account_id, job.letter_id)
        if found is None:
            return "missing"
        letter = found[0]
        moved = self._store.finish(job.account_id, job.letter_id, L.EXCEPTION, Event.letter(
            letter, L.EXCEPTION, now, description="the carrier could not be reached").item(),
                                   now, (L.CREATED,))
        if moved:
            self._content.delete(letter["document_key"])
        return "exception" if moved else "already_final"


class LetterTracker:
    """Carrier tracking, polled on a schedule (batched and paced per carrier) or pushed."""

    def __init__(self, store: LetterStore, carriers: CarrierDirectory,
                 max_requests_per_carrier: int = 100, paces: dict[str, Pace] | None = None,
                 reserve: Callable[[str, int], bool] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 run_seconds: float | None = None) -> None:
        self._store = store
        self._carriers = carriers
        self._max_requests = max_requests_per_carrier
        self._paces = paces or {}
        self._reserve = reserve or (lambda carrier, per_day: True)
        self._sleep = sleep
        self._run_seconds = run_seconds  # each carrier gets its slice of the run

    def poll(self, now: datetime, everything: bool = False) -> dict[str, int]:
        """Each carrier within its pace; ``everything`` (``letterbox letters poll``) lifts
        the per-run share, never the per-second or per-day limits."""
        recorded: dict[str, int] = {}
        names = self._carriers.configured()
        started = time.monotonic()
        for index, name in enumerate(names):
            deadline = (started + self._run_seconds * (index + 1) / len(names)
                        if self._run_seconds else None)
            quota = self._paces.get(name)  # none: the sandbox, which has no quota
            pace = quota or Pace(per_second=0, per_day=10**9)
            settled = iso(now - timedelta(seconds=pace.settle_seconds))
            letters = {item["tracking_number"]: item for item in self._store.tracked(name)
                       if item.get("tracking_number")
                       and str(item.get("updated_at") or "") <= settled}
            carrier = self._carriers.get(name)
            numbers = list(letters)
            random.shuffle(numbers)  # past the per-run share, no letter waits forever
            reserve = partial(self._reserve, name, pace.per_day) if quota else lambda: True
            pacer = Pacer(pace, reserve, self._sleep or time.sleep, deadline=deadline)
            share = self._max_requests if everything else pace.per_run(self._max_requests)
            updates, _ = track_paced(carrier, numbers, pacer, share)
            recorded[name] = sum(self._apply(letters, name, u, now) for u in updates)
        return recorded

    def push(self, carrier_name: str, body: dict[str, Any], now: datetime) -> int:
        """A push names its tracking numbers: each letter is found by key, not by listing."""
        recorded = 0
        for update in self._carriers.get(carrier_name).parse_push(body):
            letters = {item["tracking_number"]: item for item in
                       self._store.tracked(carrier_name, update.tracking_number)}
            recorded += self._apply(letters, carrier_name, update, now)
        return recorded

    def _apply(self, letters: dict[str, dict[str, Any]], carrier: str, update: TrackingUpdate,
               now: datetime) -> int:
        letter = letters.get(update.tracking_number)
        if letter is None:
            return 0  # not ours, or already final
        events = [Event.letter(letter, letter_status(e.status), _parse_time(e.timestamp, now),
                               code=e.code, description=e.description, location=e.location,
                               seed=f"{carrier}/{update.tracking_number}/{e.code}/{e.timestamp}"
                               ).item() for e in update.events]
        status = update.status
        if status not in LETTER_STATUS_RANK:  # unknown to us: a timeline entry, no move
            status = None
        terminal = next((e for e in reversed(update.events) if e.status == status), None)
        terminal_at = _parse_time(terminal.timestamp, now) if terminal else None
        return len(self._store.record_tracking(letter["account_id"], letter["letter_id"],
                                               events, status, now, terminal_at))


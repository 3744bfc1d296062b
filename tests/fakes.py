"""Test doubles that speak the real libraries' types, and in-memory fakes of the ports."""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from chalicelib.errors import PermanentFailure
from chalicelib.carriers.base import (AddressCheck, CarrierError, LetterOrder, PostalAddress,
                                      Shipment, TrackingUpdate)
from chalicelib.ports import Claim
from chalicelib.vocabulary import EMAIL_STATUS_RANK, LETTER_STATUS_RANK, LETTER_TERMINAL


class FakeResolver:
    """dnspython's ``resolve`` contract over a dict: real rdata objects, real exceptions."""

    def __init__(self, records: dict[tuple[str, str], list[str]] | None = None) -> None:
        self.records = records or {}
        self.queries: list[tuple[str, str]] = []

    def add(self, name: str, rdtype: str, text: str) -> None:
        self.records.setdefault((name.rstrip(".").lower(), rdtype), []).append(text)

    def resolve(self, qname: str, rdtype: str) -> list[Any]:
        self.queries.append((qname, rdtype))
        name = qname.rstrip(".").lower()
        texts = self.records.get((name, rdtype))
        if texts is None:
            if any(key[0] == name for key in self.records):
                raise dns.resolver.NoAnswer()
            raise dns.resolver.NXDOMAIN()
        return [dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), t)
                for t in texts]


def txt_rdata(value: str) -> str:
    """A TXT value in master-file form, split into 255-byte strings like real DNS."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


# In-memory fakes of the service ports (chalicelib/ports.py and the Protocols beside each
# service). They keep the rules the DynamoDB adapters enforce with condition expressions
# (claims, forward-only status, each provider event once), so services can be tested
# without moto; tests/integration runs the same services over the real adapters.


class FakeMessageStore:
    """``DynamoMessageStore``'s rules over dicts."""

    def __init__(self) -> None:
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.fail_transitions: Exception | None = None  # the table refuses the final write

    def _events(self, account_id: str, message_id: str) -> list[dict[str, Any]]:
        return self.events.setdefault((account_id, message_id), [])

    def create(self, message: dict[str, Any], event: dict[str, Any], now: Any) -> None:
        key = (message["account_id"], message["message_id"])
        assert key not in self.messages, "ids are fresh"
        self.messages[key] = dict(message)
        self._events(*key).append(event)

    def create_many(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]], now: Any) -> None:
        for message, event in pairs:
            self.create(message, event, now)

    def get(self, account_id: str, message_id: str) -> dict[str, Any] | None:
        return self.messages.get((account_id, message_id))

    def get_with_events(self, account_id: str, message_id: str) -> Any:
        message = self.get(account_id, message_id)
        return None if message is None else (message, self._events(account_id, message_id))

    def timeline_page(self, account_id: str, message_id: str, limit: int,
                      cursor: str | None) -> Any:
        message = self.get(account_id, message_id)
        events = self._events(account_id, message_id)
        start = int(cursor) if cursor else 0
        following = str(start + limit) if start + limit < len(events) else None
        return (None if cursor else message,
                events[start:start + limit] if message or cursor else [], following)

    def status(self, account_id: str, message_id: str) -> str:
        return str(self.messages[(account_id, message_id)]["status"])

    def claim(self, account_id: str, message_id: str, now: int, lease_seconds: int,
              schedule_version: int = 0) -> Claim:
        message = self.get(account_id, message_id)
        if message is None:
            return Claim.MISSING
        if (message["status"] not in ("queued", "scheduled")
                or int(message.get("schedule_version", 0)) != schedule_version):
            return Claim.DONE
        if message.get("due_at", 0) > now or message.get("claim_until", 0) >= now:
            return Claim.BUSY
        if "sending_at" in message:
            return Claim.UNKNOWN
        message["claim_until"] = now + lease_seconds
        return Claim.CLAIMED

    def mark_sending(self, account_id: str, message_id: str, lease_until: int,
                     now: int) -> bool:
        message = self.messages[(account_id, message_id)]
        if message.get("claim_until") != lease_until or lease_until < now:
            return False
        message["sending_at"] = now
        return True

    def release(self, account_id: str, message_id: str) -> None:
        self.messages[(account_id, message_id)].pop("claim_until", None)
        self.messages[(account_id, message_id)].pop("sending_at", None)

    def transition(self, account_id: str, message_id: str, status: str, event: dict[str, Any],
                   now: Any, fields: dict[str, Any] | None = None,
                   from_status: tuple[str, ...] = ("queued",)) -> bool:
        if self.fail_transitions is not None:
            raise self.fail_transitions
        message = self.get(account_id, message_id)
        if message is None or message["status"] not in from_status:
            return False
        message.update(fields or {}, status=str(status))
        message.pop("claim_until", None)
        self._events(account_id, message_id).append(event)
        return True

    def cancel(self, account_id: str, message_id: str, event: dict[str, Any], now: Any) -> bool:
        message = self.get(account_id, message_id)
        if message is None or message["status"] not in ("queued", "scheduled") \
                or message.get("claim_until", 0) >= int(now.timestamp()):
            return False
        message["status"] = "cancelled"
        self._events(account_id, message_id).append(event)
        return True

    def reschedule(self, account_id: str, message_id: str, fields: dict[str, Any]) -> bool:
        message = self.get(account_id, message_id)
        if message is None or message["status"] != "scheduled" or "claim_until" in message:
            return False
        message.update(fields)
        return True

    def record_events(self, account_id: str, events: list[dict[str, Any]], now: Any) -> None:
        for event in events:
            self._events(account_id, event["message_id"]).append(event)

    def apply_event(self, account_id: str, message_id: str, event: dict[str, Any],
                    status: str | None, now: Any) -> bool:
        message = self.get(account_id, message_id)
        timeline = self._events(account_id, message_id)
        if message is None or any(e["event_id"] == event["event_id"] for e in timeline):
            return False
        timeline.append(event)
        if status is not None and EMAIL_STATUS_RANK[status] > EMAIL_STATUS_RANK.get(
                message["status"], 0):
            message["status"] = str(status)
        return True

    def metadata_of(self, account_id: str, ids: list[str]) -> dict[str, dict[str, str]]:
        return {i: (self.get(account_id, i) or {}).get("metadata") or {} for i in ids}


class FakeQueue:
    """The send or letter queue; ``refuse`` makes the next sends fail as SQS would."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, int]] = []
        self.refuse: set[int] = set()  # positions in an enqueue_many call that SQS refuses

    def enqueue(self, command: Any, delay_seconds: int = 0) -> str:
        self.sent.append((command, delay_seconds))
        return f"sqs-{len(self.sent)}"

    def enqueue_many(self, commands: list[tuple[Any, int]]) -> list[str | None]:
        ids: list[str | None] = []
        for index, (command, delay) in enumerate(commands):
            ids.append(None if index in self.refuse else self.enqueue(command, delay))
        return ids


class FakeContent:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body: bytes, content_type: str = "") -> None:
        self.objects[key] = body

    def get(self, key: str) -> bytes:
        if key not in self.objects:  # as S3ContentStore says NoSuchKey
            raise PermanentFailure("message content is gone (cancelled or expired)")
        return self.objects[key]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


class FakeSender:
    """SES: records what it was handed; ``fail_with`` makes the next send raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, list[str]]] = []
        self.fail_with: Exception | None = None

    def send_raw(self, message_id: str, raw: bytes, sender: str, destinations: list[str],
                 tags: list[dict[str, str]] | None = None) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((message_id, raw, destinations))
        return f"ses-{len(self.sent)}"


class FakeLetterStore:
    """``DynamoLetterStore``'s rules: claims, forward-only status, each carrier event once."""

    def __init__(self) -> None:
        self.letters: dict[str, dict[str, Any]] = {}
        self.addresses: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}

    def create(self, letter: dict[str, Any], addresses: dict[str, Any], event: dict[str, Any],
               now: Any, due_keys: dict[str, str] | None) -> None:
        self.letters[letter["letter_id"]] = {**letter, "due_keys": due_keys}
        self.addresses[letter["letter_id"]] = addresses
        self.events[letter["letter_id"]] = [event]

    def get(self, account_id: str, letter_id: str) -> Any:
        letter = self.letters.get(letter_id)
        if letter is None or letter["account_id"] != account_id:
            return None
        return letter, self.addresses.get(letter_id), self.events[letter_id]

    def page(self, account_id: str, limit: int, cursor: str | None) -> Any:
        return [v for v in self.letters.values() if v["account_id"] == account_id][:limit], None

    def addresses_of(self, account_id: str, letter_ids: list[str]) -> dict[str, Any]:
        return {i: self.addresses[i] for i in letter_ids if i in self.addresses}

    def claim(self, account_id: str, letter_id: str, now: int, lease_seconds: int) -> Claim:
        letter = self.letters.get(letter_id)
        if letter is None:
            return Claim.MISSING
        if letter["status"] != "created":
            return Claim.DONE
        if letter["due_at"] > now or letter.get("claim_until", 0) >= now:
            return Claim.BUSY
        letter["claim_until"] = now + lease_seconds
        return Claim.CLAIMED

    def release(self, account_id: str, letter_id: str) -> None:
        self.letters[letter_id].pop("claim_until", None)

    def submitted(self, account_id: str, letter_id: str, carrier: str, tracking_number: str,
                  event: dict[str, Any], now: Any) -> bool:
        letter = self.letters[letter_id]
        if letter["status"] != "created":
            return False
        letter.update(status="submitted", tracking_number=tracking_number, carrier=carrier)
        letter.pop("claim_until", None)
        self.events[letter_id].append(event)
        return True

    def set_fields(self, account_id: str, letter_id: str, fields: dict[str, Any]) -> None:
        self.letters[letter_id].update(fields)

    def finish(self, account_id: str, letter_id: str, status: str, event: dict[str, Any],
               now: Any, from_status: tuple[str, ...], extra_condition: str = "",
               values: dict[str, Any] | None = None) -> bool:
        letter = self.letters[letter_id]
        if letter["status"] not in from_status:
            return False
        if extra_condition:  # the API's cancel: still in its window, and not claimed
            moment = (values or {})[":t"]
            if letter["due_at"] <= moment or letter.get("claim_until", 0) >= moment:
                return False
        letter["status"] = str(status)
        self.events[letter_id].append(event)
        return True

    def tracked(self, carrier: str, tracking_number: str | None = None) -> list[dict[str, Any]]:
        return [v for v in self.letters.values()
                if v.get("carrier") == carrier and v.get("tracking_number")
                and v["status"] not in LETTER_TERMINAL
                and tracking_number in (None, v["tracking_number"])]

    def record_tracking(self, account_id: str, letter_id: str, events: list[dict[str, Any]],
                        status: str | None, now: Any, terminal_at: Any = None
                        ) -> list[dict[str, Any]]:
        seen = {e["event_id"] for e in self.events[letter_id]}
        recorded = [e for e in events if e["event_id"] not in seen]
        self.events[letter_id].extend(recorded)
        letter = self.letters[letter_id]
        if status is not None and LETTER_STATUS_RANK[status] > LETTER_STATUS_RANK[
                letter["status"]]:
            letter["status"] = status
        return recorded

    def due(self, shard: int, until_iso: str) -> list[dict[str, Any]]:
        return []

    def enqueued(self, account_id: str, letter_id: str) -> None:
        return None


class FakeCarrier:
    """A carrier whose answers the test sets: shipments, tracking updates, refusals."""

    name = "usps"
    track_batch = 10

    def __init__(self) -> None:
        self.orders: list[LetterOrder] = []
        self.refuse: CarrierError | None = None
        self.updates: list[TrackingUpdate] = []

    def validate_address(self, address: PostalAddress) -> AddressCheck:
        return AddressCheck("deliverable", address)

    def create_shipment(self, order: LetterOrder) -> Shipment:
        if self.refuse is not None:
            raise self.refuse
        self.orders.append(order)
        return Shipment(tracking_number=f"9400{len(self.orders):018d}", label_pdf=b"%PDF-label")

    def cancel(self, tracking_number: str) -> None:
        return None

    def track(self, tracking_numbers: list[str]) -> list[TrackingUpdate]:
        return [u for u in self.updates if u.tracking_number in tracking_numbers]

    def parse_push(self, body: dict[str, Any]) -> list[TrackingUpdate]:
        return list(self.updates)


class FakeCarriers:
    def __init__(self, carrier: FakeCarrier) -> None:
        self.carrier = carrier

    def configured(self) -> list[str]:
        return [self.carrier.name]

    def get(self, name: str) -> FakeCarrier:
        return self.carrier

    def choose(self, requested: str, to_country: str, from_country: str) -> str:
        return self.carrier.name


class FakePrinter:
    def __init__(self) -> None:
        self.printed: list[tuple[str, bytes, bytes | None]] = []
        self.fail_with: Exception | None = None

    def print(self, letter: dict[str, Any], document: bytes, label: bytes | None) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.printed.append((letter["letter_id"], document, label))


"""Letters in the shared table.

``ACCT#<account> / LTR#<id>`` is the letter (message-log class); its postal addresses live
apart at ``LTR#<id>#ADDR`` (letter-address class: 180 days at most, 30 days after the
terminal event), and its tracking events at ``LTR#<id>#EVT#<event>``. While a letter waits
for its send date or for tracking, ``gsi1`` lists it (``LTRDUE#<shard>``, ``TRACK#<carrier>``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, Item
from chalicelib.adapters.event_store import EventStore
from chalicelib.clock import iso
from chalicelib.ports import Claim
from chalicelib.retention import RULES, DataClass, expiry_bucket
from chalicelib.vocabulary import LETTER_STATUS_RANK as STATUS_RANK
from chalicelib.vocabulary import LETTER_TERMINAL

ADDRESS = RULES[DataClass.LETTER_ADDRESS]


def _key(account_id: str, letter_id: str, suffix: str = "") -> dict[str, str]:
    return {"pk": f"ACCT#{account_id}", "sk": f"LTR#{letter_id}{suffix}"}


class DynamoLetterStore(EventStore):
    def _event_op(self, account_id: str, event: dict[str, Any], now: datetime,
                  condition: str | None = None) -> dict[str, Any]:
        item = {**_key(account_id, event["letter_id"], f"#EVT#{event['event_id']}"),
                "gsi2pk": f"EVENTS#{account_id}", "gsi2sk": event["event_id"], **event}
        return self._table.put_op(item, DataClass.ENGAGEMENT_EVENT, now, condition=condition,
                                  days=self._days(account_id))

    def create(self, letter: dict[str, Any], addresses: dict[str, Any], event: dict[str, Any],
               now: datetime, due_keys: dict[str, str] | None) -> None:
        account_id, letter_id = letter["account_id"], letter["letter_id"]
        self._table.transact([
            self._table.put_op({**_key(account_id, letter_id), **letter,
                                "gsi2pk": f"LETTERS#{account_id}", "gsi2sk": letter_id,
                                "status_rank": 0, **(due_keys or {})},
                               DataClass.MESSAGE_LOG, now, condition="attribute_not_exists(pk)"),
            # The address's hard limit from the start; the terminal event brings it closer.
            self._table.put_op({**_key(account_id, letter_id, "#ADDR"), **addresses},
                               DataClass.LETTER_ADDRESS, now, days=ADDRESS.max_days),
            self._event_op(account_id, event, now),
        ])  # the letter's own items only; the count goes to the sharded counters
        self._count(account_id, {"letter_created": 1}, now)
        self._published(account_id, [event])

    def get(self, account_id: str, letter_id: str
            ) -> tuple[Item, Item | None, list[Item]] | None:
        items = list(self._table.query_prefix(f"ACCT#{account_id}", f"LTR#{letter_id}"))
        if not items or items[0]["sk"] != f"LTR#{letter_id}":
            return None
        addresses = next((i for i in items if i["sk"].endswith("#ADDR")), None)
        return items[0], addresses, [i for i in items if "#EVT#" in i["sk"]]

    def page(self, account_id: str, limit: int, cursor: str | None
             ) -> tuple[list[Item], str | None]:
        return self._table.index_page(f"LETTERS#{account_id}", "0", "~", limit, cursor)

    def addresses_of(self, account_id: str, letter_ids: list[str]) -> dict[str, Item]:
        found = self._table.batch_get([_key(account_id, i, "#ADDR") for i in letter_ids])
        return {item["sk"].split("#")[1]: item for item in found}

    def claim(self, account_id: str, letter_id: str, now: int, lease_seconds: int) -> Claim:
        """The right to hand this letter to its carrier: created, due, and unclaimed."""
        try:
            self._table.update(
                _key(account_id, letter_id), "SET claim_until = :until ADD attempts :one",
                {":until": now + lease_seconds, ":one": 1, ":created": "created", ":now": now},
                condition="#s = :created AND due_at <= :now AND "
                          "(attribute_not_exists(claim_until) OR claim_until < :now)",
                names={"#s": "status"})
            return Claim.CLAIMED
        except ConditionFailed:
            current = self._table.get(f"ACCT#{account_id}", f"LTR#{letter_id}", consistent=True)
        if current is None:
            return Claim.MISSING
        return Claim.BUSY if current["status"] == "created" else Claim.DONE

    def release(self, account_id: str, letter_id: str) -> None:
        self._table.update(_key(account_id, letter_id), "REMOVE claim_until", {})

    def submitted(self, account_id: str, letter_id: str, carrier: str, tracking_number: str,
                  event: dict[str, Any], now: datetime) -> bool:
        """Record the carrier's tracking number at once (it is the proof it has the piece);
        ``TRACK#<carrier>`` then lists the letter under that number."""
        try:
            self._table.transact([
                self._table.update_op(
                    _key(account_id, letter_id),
                    "SET #s = :s, status_rank = :r, tracking_number = :t, updated_at = :now, "
                    "gsi1pk = :g, gsi1sk = :t REMOVE claim_until",
                    {":s": "submitted", ":r": STATUS_RANK["submitted"], ":t": tracking_number,
                     ":now": iso(now), ":g": f"TRACK#{carrier}", ":created": "created"},
                    condition="#s = :created", names={"#s": "status"}),
                self._event_op(account_id, event, now),
            ])
        except ConditionFailed:
            return False
        self._count(account_id, {"letter_submitted": 1}, now)
        self._published(account_id, [event])
        return True

    def set_fields(self, account_id: str, letter_id: str, fields: dict[str, Any]) -> None:
        self._table.set_fields(_key(account_id, letter_id), fields)

    def finish(self, account_id: str, letter_id: str, status: str, event: dict[str, Any],
               now: datetime, from_status: tuple[str, ...], extra_condition: str = "",
               values: dict[str, Any] | None = None) -> bool:
        """A terminal status the API or the worker decides (cancelled, exception)."""
        allowed = {f":from{i}": s for i, s in enumerate(from_status)}
        try:
            self._table.transact([
                self._table.update_op(
                    _key(account_id, letter_id),
                    "SET #s = :s, status_rank = :r, updated_at = :now "
                    "REMOVE claim_until, gsi1pk, gsi1sk",
                    {":s": status, ":r": STATUS_RANK[status], ":now": iso(now), **allowed,
                     **(values or {})},
                    condition=f"#s IN ({', '.join(allowed)}){extra_condition}",
                    names={"#s": "status"}),
                self._event_op(account_id, event, now),
            ])
        except ConditionFailed:
            return False
        self._count(account_id, {f"letter_{status}": 1}, now)
        self.start_address_clock(account_id, letter_id, now)
        self._published(account_id, [event])
        return True

    def start_address_clock(self, account_id: str, letter_id: str, terminal_at: datetime) -> None:
        """30 days after the terminal event, never past the 180-day limit set at creation."""
        key = _key(account_id, letter_id, "#ADDR")
        current = self._table.get(key["pk"], key["sk"])
        if current is None or current.get("terminal_at"):
            return  # purged already, or the clock already started
        expires_at = int((terminal_at + timedelta(days=ADDRESS.days or 30)).timestamp())
        if current.get("expires_at"):
            expires_at = min(expires_at, int(current["expires_at"]))
        self._table.update(key, "SET expires_at = :e, expiry_bucket = :b, terminal_at = :t",
                           {":e": expires_at, ":b": expiry_bucket(expires_at, key),
                            ":t": iso(terminal_at)}, condition="attribute_exists(pk)")

    def tracked(self, carrier: str, tracking_number: str | None = None) -> list[Item]:
        """Letters this carrier is carrying: all of them, or the one with this number."""
        if tracking_number is not None:
            if not tracking_number:
                return []
            return [item for item in self._table.query_prefix(
                f"TRACK#{carrier}", tracking_number, index="gsi1")
                if item.get("tracking_number") == tracking_number]
        return list(self._table.query_until(f"TRACK#{carrier}", "~", index="gsi1"))

    def record_tracking(self, account_id: str, letter_id: str, events: list[dict[str, Any]],
                        status: str | None, now: datetime,
                        terminal_at: datetime | None = None) -> list[dict[str, Any]]:
        """New carrier events (each once), and the status only forward; the recorded ones."""
        recorded = []
        for event in events:
            try:
                self._table.transact([
                    self._event_op(account_id, event, now, "attribute_not_exists(pk)")])
                recorded.append(event)
                self._count(account_id, {f"letter_{event['status']}": 1}, now)
            except ConditionFailed:
                continue  # seen on an earlier poll or push
        if status is not None:
            terminal = status in LETTER_TERMINAL
            try:
                self._table.update(
                    _key(account_id, letter_id),
                    "SET #s = :s, status_rank = :r, updated_at = :now"
                    + (" REMOVE gsi1pk, gsi1sk" if terminal else ""),
                    {":s": status, ":r": STATUS_RANK[status], ":now": iso(now)},
                    condition="attribute_exists(pk) AND status_rank < :r",
                    names={"#s": "status"})
                if terminal:
                    self.start_address_clock(account_id, letter_id, terminal_at or now)
            except ConditionFailed:
                pass  # already there, or further
        self._published(account_id, recorded)
        return recorded

    def due(self, shard: int, until_iso: str) -> list[Item]:
        return list(self._table.query_until(f"LTRDUE#{shard}", until_iso, index="gsi1"))

    def enqueued(self, account_id: str, letter_id: str) -> None:
        self._table.update(_key(account_id, letter_id), "REMOVE gsi1pk, gsi1sk", {})

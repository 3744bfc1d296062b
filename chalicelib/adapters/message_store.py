"""Message log and events in the shared table.

A message is ``ACCT#<account> / EM#<em_id>``; its events sort right after it as
``EM#<em_id>#EVT#<evt_id>``, so one query returns a message with its whole timeline.
Scheduled messages waiting for the sweep also carry ``gsi1`` keys (``SCHEDULED#<shard>``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item
from chalicelib.retention import DataClass


class Claim(StrEnum):
    CLAIMED = "claimed"
    DONE = "done"  # already sent, failed, cancelled, or superseded by a reschedule
    BUSY = "busy"  # another attempt holds the claim, or it is not due yet
    MISSING = "missing"


def _key(account_id: str, message_id: str) -> dict[str, str]:
    return {"pk": f"ACCT#{account_id}", "sk": f"EM#{message_id}"}


class DynamoMessageStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def _event_item(self, account_id: str, event: dict[str, Any]) -> Item:
        return {"pk": f"ACCT#{account_id}",
                "sk": f"EM#{event['message_id']}#EVT#{event['event_id']}", **event}

    def _event_op(self, account_id: str, event: dict[str, Any], at: datetime) -> dict[str, Any]:
        return self._table.put_op(self._event_item(account_id, event),
                                  DataClass.ENGAGEMENT_EVENT, at)

    def create(self, message: dict[str, Any], event: dict[str, Any], now: datetime) -> None:
        """The message and its first event, together or not at all."""
        account_id = message["account_id"]
        item = {**_key(account_id, message["message_id"]), **message}
        self._table.transact([
            self._table.put_op(item, DataClass.MESSAGE_LOG, now,
                               condition="attribute_not_exists(pk)"),
            self._event_op(account_id, event, now),
        ])

    def create_many(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]],
                    now: datetime) -> None:
        """A batch's messages and events in 25-item writes (fresh ids: no conditions needed)."""
        entries: list[tuple[Item, DataClass, datetime | None]] = []
        for message, event in pairs:
            account_id = message["account_id"]
            entries.append(({**_key(account_id, message["message_id"]), **message},
                            DataClass.MESSAGE_LOG, now))
            entries.append((self._event_item(account_id, event), DataClass.ENGAGEMENT_EVENT,
                            now))
        self._table.put_many(entries)

    def record_events(self, account_id: str, events: list[dict[str, Any]],
                      now: datetime) -> None:
        self._table.put_many([(self._event_item(account_id, e), DataClass.ENGAGEMENT_EVENT, now)
                              for e in events])

    def get(self, account_id: str, message_id: str) -> Item | None:
        return self._table.get(f"ACCT#{account_id}", f"EM#{message_id}")

    def get_with_events(self, account_id: str, message_id: str) -> tuple[Item, list[Item]] | None:
        items = list(self._table.query_prefix(f"ACCT#{account_id}", f"EM#{message_id}"))
        if not items or items[0]["sk"] != f"EM#{message_id}":
            return None
        return items[0], items[1:]

    def claim(self, account_id: str, message_id: str, now: int, lease_seconds: int,
              schedule_version: int = 0) -> Claim:
        """Take the right to hand this message to SES: it must be waiting, due, unclaimed and
        of this schedule version (a reschedule makes older queue records stale)."""
        try:
            self._table.update(
                _key(account_id, message_id),
                "SET claim_until = :until ADD attempts :one",
                {":until": now + lease_seconds, ":one": 1, ":queued": "queued",
                 ":scheduled": "scheduled", ":now": now, ":v": schedule_version},
                condition=("#s IN (:queued, :scheduled) AND "
                           "(attribute_not_exists(due_at) OR due_at <= :now) AND "
                           "(attribute_not_exists(schedule_version) OR schedule_version = :v) "
                           "AND (attribute_not_exists(claim_until) OR claim_until < :now)"),
                names={"#s": "status"})
            return Claim.CLAIMED
        except ConditionFailed:
            current = self._table.get(f"ACCT#{account_id}", f"EM#{message_id}",
                                      consistent=True)
        if current is None:
            return Claim.MISSING
        if (current["status"] not in ("queued", "scheduled")
                or int(current.get("schedule_version", 0)) != schedule_version):
            return Claim.DONE
        return Claim.BUSY

    def release(self, account_id: str, message_id: str) -> None:
        """Give the claim back after a failure that a retry may fix."""
        self._table.update(_key(account_id, message_id), "REMOVE claim_until", {})

    def transition(self, account_id: str, message_id: str, status: str,
                   event: dict[str, Any], now: datetime, fields: dict[str, Any] | None = None,
                   from_status: tuple[str, ...] = ("queued",)) -> bool:
        """Move to ``status`` and record the event atomically; False if it had moved on."""
        values: dict[str, Any] = {":s": status, ":now": event["timestamp"]}
        allowed = []
        for index, name in enumerate(from_status):
            values[f":from{index}"] = name
            allowed.append(f":from{index}")
        sets = ["#s = :s", "updated_at = :now"]
        names = {"#s": "status"}
        for index, (name, value) in enumerate((fields or {}).items()):
            sets.append(f"#f{index} = :f{index}")
            names[f"#f{index}"] = name
            values[f":f{index}"] = value
        try:
            self._table.transact([
                self._table.update_op(_key(account_id, message_id),
                                      f"SET {', '.join(sets)} REMOVE claim_until, gsi1pk, gsi1sk",
                                      values, condition=f"#s IN ({', '.join(allowed)})",
                                      names=names),
                self._event_op(account_id, event, now),
            ])
        except ConditionFailed:
            return False
        return True

    def cancel(self, account_id: str, message_id: str, event: dict[str, Any],
               now: datetime) -> bool:
        """Cancelled, unless a worker already holds it (then it is as good as sent)."""
        values = {":s": "cancelled", ":now": event["timestamp"], ":q": "queued",
                  ":sc": "scheduled", ":t": int(now.timestamp())}
        try:
            self._table.transact([
                self._table.update_op(
                    _key(account_id, message_id),
                    "SET #s = :s, updated_at = :now REMOVE gsi1pk, gsi1sk", values,
                    condition="#s IN (:q, :sc) AND (attribute_not_exists(claim_until) "
                              "OR claim_until < :t)", names={"#s": "status"}),
                self._event_op(account_id, event, now),
            ])
        except ConditionFailed:
            return False
        return True

    def reschedule(self, account_id: str, message_id: str, fields: dict[str, Any]) -> bool:
        names = {f"#f{i}": key for i, key in enumerate(fields)}
        values: dict[str, Any] = {f":v{i}": value for i, value in enumerate(fields.values())}
        values[":scheduled"] = "scheduled"
        names["#s"] = "status"
        sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        try:
            self._table.update(_key(account_id, message_id), f"SET {sets}", values,
                               condition="#s = :scheduled AND attribute_not_exists(claim_until)",
                               names=names)
        except ConditionFailed:
            return False
        return True

    def due_scheduled(self, shard: int, until_iso: str) -> list[Item]:
        """Scheduled messages of one shard due by ``until_iso`` and not yet queued."""
        return list(self._table.query_until(f"SCHEDULED#{shard}", until_iso, index="gsi1"))

    def mark_enqueued(self, account_id: str, message_id: str, version: int) -> bool:
        try:
            self._table.update(_key(account_id, message_id), "REMOVE gsi1pk, gsi1sk",
                               {":v": version, ":sc": "scheduled"},
                               condition="schedule_version = :v AND #s = :sc",
                               names={"#s": "status"})
        except ConditionFailed:
            return False
        return True

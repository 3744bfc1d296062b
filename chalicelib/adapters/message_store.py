"""Message log and events in the shared table.

A message is ``ACCT#<account> / EM#<em_id>``; its events sort right after it as
``EM#<em_id>#EVT#<evt_id>``, so one query returns a message with its whole timeline.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item
from chalicelib.retention import DataClass


class Claim(StrEnum):
    CLAIMED = "claimed"
    DONE = "done"  # already sent, failed or cancelled: nothing to do
    BUSY = "busy"  # another attempt holds the claim
    MISSING = "missing"


def _key(account_id: str, message_id: str) -> dict[str, str]:
    return {"pk": f"ACCT#{account_id}", "sk": f"EM#{message_id}"}


class DynamoMessageStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def _event_op(self, account_id: str, event: dict[str, Any], at: datetime) -> dict[str, Any]:
        item = {"pk": f"ACCT#{account_id}",
                "sk": f"EM#{event['message_id']}#EVT#{event['event_id']}", **event}
        return self._table.put_op(item, DataClass.ENGAGEMENT_EVENT, at)

    def create(self, message: dict[str, Any], event: dict[str, Any], now: datetime) -> None:
        """The message and its ``queued`` event, together or not at all."""
        account_id = message["account_id"]
        item = {**_key(account_id, message["message_id"]), **message}
        self._table.transact([
            self._table.put_op(item, DataClass.MESSAGE_LOG, now,
                               condition="attribute_not_exists(pk)"),
            self._event_op(account_id, event, now),
        ])

    def get_with_events(self, account_id: str, message_id: str) -> tuple[Item, list[Item]] | None:
        items = list(self._table.query_prefix(f"ACCT#{account_id}", f"EM#{message_id}"))
        if not items or items[0]["sk"] != f"EM#{message_id}":
            return None
        return items[0], items[1:]

    def claim(self, account_id: str, message_id: str, now: int, lease_seconds: int) -> Claim:
        """Take the right to hand this message to SES, unless sent or held by another try."""
        try:
            self._table.update(
                _key(account_id, message_id),
                "SET claim_until = :until ADD attempts :one",
                {":until": now + lease_seconds, ":one": 1, ":queued": "queued", ":now": now},
                condition=("#s = :queued AND "
                           "(attribute_not_exists(claim_until) OR claim_until < :now)"),
                names={"#s": "status"})
            return Claim.CLAIMED
        except ConditionFailed:
            current = self._table.get(**_key(account_id, message_id), consistent=True)
        if current is None:
            return Claim.MISSING
        return Claim.BUSY if current["status"] == "queued" else Claim.DONE

    def release(self, account_id: str, message_id: str) -> None:
        """Give the claim back after a failure that a retry may fix."""
        self._table.update(_key(account_id, message_id), "REMOVE claim_until", {})

    def transition(self, account_id: str, message_id: str, status: str,
                   event: dict[str, Any], now: datetime, fields: dict[str, Any] | None = None,
                   from_status: str = "queued") -> bool:
        """Move ``from_status`` → ``status`` and record the event atomically; False if moved."""
        values = {":s": status, ":from": from_status, ":now": event["timestamp"]}
        sets = ["#s = :s", "updated_at = :now"]
        for index, (name, value) in enumerate((fields or {}).items()):
            sets.append(f"{name} = :f{index}")
            values[f":f{index}"] = value
        try:
            self._table.transact([
                self._table.update_op(_key(account_id, message_id),
                                      f"SET {', '.join(sets)} REMOVE claim_until", values,
                                      condition="#s = :from", names={"#s": "status"}),
                self._event_op(account_id, event, now),
            ])
        except ConditionFailed:
            return False
        return True

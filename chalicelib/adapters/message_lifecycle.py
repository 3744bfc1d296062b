"""A message's item in whichever layout it was written under, and its way through the send
worker: claimed, marked sending, released, moved on (sent, failed, cancelled), rescheduled,
and, when scheduled, found due and queued. ``DynamoMessageStore`` builds on it."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, Item, Key
from chalicelib.adapters.email_listing import shard_of
from chalicelib.adapters.event_store import EventStore, stat_counts
from chalicelib.adapters.message_keys import (is_own_partition, legacy_partitions,
                                              message_key, message_partition)
from chalicelib.ports import Claim
from chalicelib.retention import DataClass
from chalicelib.vocabulary import EMAIL_STATUS_RANK as STATUS_RANK


class MessageLifecycle(EventStore):
    """The message's own writes: events in its partition, conditional updates in whichever
    layout holds it, and the worker's claim on it."""

    def _event_item(self, account_id: str, event: dict[str, Any],
                    pk: str | None = None) -> Item:
        """An event, in its message's partition (``pk`` when that is an earlier layout's)."""
        message_id = event["message_id"]
        return {"pk": pk or message_partition(account_id, message_id),
                "sk": f"EM#{message_id}#EVT#{event['event_id']}",
                "gsi2pk": f"EVENTS#{account_id}#{shard_of(message_id)}",
                "gsi2sk": event["event_id"], **event}

    def _event_op(self, account_id: str, event: dict[str, Any], at: datetime,
                  pk: str | None = None) -> dict[str, Any]:
        return self._table.put_op(self._event_item(account_id, event, pk),
                                  DataClass.ENGAGEMENT_EVENT, at, days=self._days(account_id))

    def _put_event(self, account_id: str, event: dict[str, Any], at: datetime,
                   condition: str | None = None, pk: str | None = None) -> None:
        self._table.put(self._event_item(account_id, event, pk), DataClass.ENGAGEMENT_EVENT,
                        at, condition=condition, days=self._days(account_id))

    def _current(self, account_id: str, message_id: str) -> Item | None:
        """The message item as it stands (strongly consistent), in whichever layout."""
        sk = f"EM#{message_id}"
        for pk in (message_partition(account_id, message_id),
                   *legacy_partitions(account_id, message_id)):
            item = self._table.get(pk, sk, consistent=True)
            if item is not None:
                return item
        return None

    def _legacy_key(self, account_id: str, message_id: str) -> Key | None:
        """Where a message written under an earlier layout is, when its own key is absent."""
        current = self._current(account_id, message_id)
        if current is None or is_own_partition(str(current["pk"])):
            return None
        return {"pk": str(current["pk"]), "sk": str(current["sk"])}

    def _update_message(self, account_id: str, message_id: str, expression: str,
                        values: dict[str, Any], condition: str,
                        names: dict[str, str] | None = None) -> Key:
        """One conditional update of the message, at its own key or, when it was written
        under an earlier layout, at that one; the key written (ConditionFailed if none).
        The condition must fail on an absent item, so no update creates a stray one."""
        key = message_key(account_id, message_id)
        try:
            self._table.update(key, expression, values, condition=condition, names=names)
            return key
        except ConditionFailed:
            legacy = self._legacy_key(account_id, message_id)
            if legacy is None:
                raise
        self._table.update(legacy, expression, values, condition=condition, names=names)
        return legacy

    def claim(self, account_id: str, message_id: str, now: int, lease_seconds: int,
              schedule_version: int = 0) -> Claim:
        """Take the right to hand this message to SES: it must be waiting, due, unclaimed and
        of this schedule version (a reschedule makes older queue records stale)."""
        try:
            self._update_message(
                account_id, message_id,
                "SET claim_until = :until ADD attempts :one",
                {":until": now + lease_seconds, ":one": 1, ":queued": "queued",
                 ":scheduled": "scheduled", ":now": now, ":v": schedule_version},
                condition=("#s IN (:queued, :scheduled) AND "
                           "(attribute_not_exists(due_at) OR due_at <= :now) AND "
                           "(attribute_not_exists(schedule_version) OR schedule_version = :v) "
                           "AND (attribute_not_exists(claim_until) OR claim_until < :now) "
                           "AND attribute_not_exists(sending_at)"),
                names={"#s": "status"})
            return Claim.CLAIMED
        except ConditionFailed:
            current = self._current(account_id, message_id)
        if current is None:
            return Claim.MISSING
        if (current["status"] not in ("queued", "scheduled")
                or int(current.get("schedule_version", 0)) != schedule_version):
            return Claim.DONE
        if "sending_at" in current and int(current.get("claim_until", 0)) < now:
            return Claim.UNKNOWN  # its sender died mid-call: SES may have it
        return Claim.BUSY

    def mark_sending(self, account_id: str, message_id: str, lease_until: int,
                     now: int) -> bool:
        """Record that SES is about to be called, while this attempt's claim (``lease_until``)
        still holds; False if it lapsed (another attempt may own the message now)."""
        try:
            self._update_message(account_id, message_id, "SET sending_at = :now",
                               {":now": now, ":q": "queued", ":sc": "scheduled",
                                ":lease": lease_until},
                               condition="#s IN (:q, :sc) AND claim_until = :lease "
                                         "AND claim_until >= :now",
                               names={"#s": "status"})
        except ConditionFailed:
            return False
        return True

    def release(self, account_id: str, message_id: str) -> None:
        """Give the claim back after a failure that a retry may fix (SES surely lacks it)."""
        with contextlib.suppress(ConditionFailed):  # gone (erased): nothing to give back
            self._update_message(account_id, message_id, "REMOVE claim_until, sending_at", {},
                                 condition="attribute_exists(pk)")

    def transition(self, account_id: str, message_id: str, status: str,
                   event: dict[str, Any], now: datetime, fields: dict[str, Any] | None = None,
                   from_status: tuple[str, ...] = ("queued",)) -> bool:
        """Move to ``status`` and record the event atomically; False if it had moved on."""
        values: dict[str, Any] = {":s": status, ":now": event["timestamp"],
                                  ":r": STATUS_RANK.get(status, 0)}
        allowed = []
        for index, name in enumerate(from_status):
            values[f":from{index}"] = name
            allowed.append(f":from{index}")
        sets = ["#s = :s", "updated_at = :now", "status_rank = :r"]
        names = {"#s": "status"}
        for index, (name, value) in enumerate((fields or {}).items()):
            sets.append(f"#f{index} = :f{index}")
            names[f"#f{index}"] = name
            values[f":f{index}"] = value
        try:  # the status first: once it moved, a retry never sends again
            key = self._update_message(
                account_id, message_id,
                f"SET {', '.join(sets)} REMOVE claim_until, gsi1pk, gsi1sk",
                values, condition=f"#s IN ({', '.join(allowed)})", names=names)
        except ConditionFailed:
            return False
        self._put_event(account_id, event, now, pk=key["pk"])
        self._count(account_id, stat_counts(event), now)
        self._published(account_id, [event])
        return True

    def cancel(self, account_id: str, message_id: str, event: dict[str, Any],
               now: datetime) -> bool:
        """Cancelled, unless a worker already holds it (then it is as good as sent)."""
        values = {":s": "cancelled", ":now": event["timestamp"], ":q": "queued",
                  ":sc": "scheduled", ":t": int(now.timestamp()),
                  ":r": STATUS_RANK["cancelled"]}
        condition = ("#s IN (:q, :sc) AND attribute_not_exists(sending_at) "
                     "AND (attribute_not_exists(claim_until) OR claim_until < :t)")
        keys = [message_key(account_id, message_id)]
        for attempt, key in enumerate(keys):
            try:
                self._table.transact([
                    self._table.update_op(
                        key, "SET #s = :s, updated_at = :now, status_rank = :r "
                             "REMOVE gsi1pk, gsi1sk",
                        values, condition=condition, names={"#s": "status"}),
                    self._event_op(account_id, event, now, pk=key["pk"]),
                ])  # both items are this message's own: no shared item in the transaction
                break
            except ConditionFailed:
                legacy = self._legacy_key(account_id, message_id) if attempt == 0 else None
                if legacy is None:
                    return False
                keys.append(legacy)
        self._count(account_id, {"cancelled": 1}, now)
        self._published(account_id, [event])
        return True

    def reschedule(self, account_id: str, message_id: str, fields: dict[str, Any]) -> bool:
        names = {f"#f{i}": key for i, key in enumerate(fields)}
        values: dict[str, Any] = {f":v{i}": value for i, value in enumerate(fields.values())}
        values[":scheduled"] = "scheduled"
        names["#s"] = "status"
        sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        try:
            self._update_message(account_id, message_id, f"SET {sets}", values,
                                 condition="#s = :scheduled AND "
                                           "attribute_not_exists(claim_until)", names=names)
        except ConditionFailed:
            return False
        return True

    def due_scheduled(self, shard: int, until_iso: str) -> list[Item]:
        """Scheduled messages of one shard due by ``until_iso`` and not yet queued."""
        return list(self._table.query_until(f"SCHEDULED#{shard}", until_iso, index="gsi1"))

    def mark_enqueued(self, account_id: str, message_id: str, version: int) -> bool:
        try:
            self._update_message(account_id, message_id, "REMOVE gsi1pk, gsi1sk",
                                 {":v": version, ":sc": "scheduled"},
                                 condition="schedule_version = :v AND #s = :sc",
                                 names={"#s": "status"})
        except ConditionFailed:
            return False
        return True

"""Message log and events in the shared table.

A message is ``ACCT#<account> / EM#<em_id>``; its events sort right after it as
``EM#<em_id>#EVT#<evt_id>``, so one query returns a message with its whole timeline.
Scheduled messages waiting for the sweep also carry ``gsi1`` keys (``SCHEDULED#<shard>``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item
from chalicelib.models import address_of
from chalicelib.observability import logger
from chalicelib.ports import Claim
from chalicelib.retention import DataClass
from chalicelib.vocabulary import EMAIL_STATUS_RANK as STATUS_RANK


def _key(account_id: str, message_id: str) -> dict[str, str]:
    return {"pk": f"ACCT#{account_id}", "sk": f"EM#{message_id}"}


def stat_name(event: dict[str, Any]) -> str:
    """The daily counter an event adds to (privacy-proxy opens are counted apart)."""
    if event["type"] == "opened" and (event.get("data") or {}).get("machine_open"):
        return "machine_opened"
    return str(event["type"])


def stat_counts(event: dict[str, Any]) -> dict[str, int]:
    """Every daily counter an event adds to. Account protection reads two of them: a send
    counts its recipients, and permanent bounces are counted apart from transient ones."""
    counts = {stat_name(event): 1}
    data = event.get("data") or {}
    if event["type"] == "sent":
        counts["recipients_sent"] = int(data.get("recipients") or 1)
    elif event["type"] == "bounced" and data.get("bounce_type") == "permanent":
        counts["bounced_permanent"] = 1
    return counts


def _listed(message: dict[str, Any]) -> Item:
    """The message with what the listing index and its filters read."""
    account_id, message_id = message["account_id"], message["message_id"]
    recipients = [address_of(m).lower() for key in ("to", "cc", "bcc")
                  for m in message.get(key) or []]
    return {**_key(account_id, message_id), **message, "gsi2pk": f"EMAILS#{account_id}",
            "gsi2sk": message_id, "recipients": recipients,
            "status_rank": STATUS_RANK.get(message["status"], 0),
            # Privacy export and erasure find a person named only in Reply-To too.
            "reply_to_addresses": [address_of(m).lower() for m in message.get("reply_to") or []],
            "tag_keys": [f"{t['name']}:{t['value']}" for t in message.get("tags") or []]}


class EventStore:
    """What every store that records events shares: the account's retention period for
    them, the daily counters they add to, and the fan-out to webhooks."""

    def __init__(self, table: DynamoTable,
                 on_events: Callable[[str, list[dict[str, Any]]], None] | None = None,
                 retention_days: Callable[[str], int | None] = lambda account_id: None
                 ) -> None:
        self._table = table
        self._on_events = on_events
        self._days = retention_days  # the account's own period for engagement events

    def _published(self, account_id: str, events: list[dict[str, Any]]) -> None:
        """Recorded events go on to the customer's webhooks; a failure there loses no event."""
        if self._on_events is None or not events:
            return
        try:
            self._on_events(account_id, events)
        except Exception:  # the event is stored; only its push is lost, and that is logged
            logger.exception("webhook fan-out failed", extra={"events": len(events)})

    def _stats_op(self, account_id: str, counts: dict[str, int], at: datetime
                  ) -> dict[str, Any]:
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        return self._table.counter_op({"pk": f"ACCT#{account_id}", "sk": f"STATS#{day:%Y-%m-%d}"},
                                      counts, DataClass.DAILY_STATS, day)


class DynamoMessageStore(EventStore):

    def count_once(self, account_id: str, marker: str, counts: dict[str, int],
                   now: datetime) -> bool:
        """Daily counts for an event with no message here (SMTP mail), once per ``marker``
        (SNS delivers at least once); False if that marker was counted already."""
        try:
            self._table.transact([
                self._table.put_op({"pk": f"ACCT#{account_id}", "sk": f"COUNTED#{marker}"},
                                   DataClass.RATE_COUNTER, now,
                                   condition="attribute_not_exists(pk)"),
                self._stats_op(account_id, counts, now)])
        except ConditionFailed:
            return False
        return True

    def _event_item(self, account_id: str, event: dict[str, Any]) -> Item:
        return {"pk": f"ACCT#{account_id}",
                "sk": f"EM#{event['message_id']}#EVT#{event['event_id']}",
                "gsi2pk": f"EVENTS#{account_id}", "gsi2sk": event["event_id"], **event}

    def _event_op(self, account_id: str, event: dict[str, Any], at: datetime,
                  condition: str | None = None) -> dict[str, Any]:
        return self._table.put_op(self._event_item(account_id, event),
                                  DataClass.ENGAGEMENT_EVENT, at, condition=condition,
                                  days=self._days(account_id))

    def create(self, message: dict[str, Any], event: dict[str, Any], now: datetime) -> None:
        """The message and its first event, together or not at all."""
        account_id = message["account_id"]
        self._table.transact([
            self._table.put_op(_listed(message), DataClass.MESSAGE_LOG, now,
                               condition="attribute_not_exists(pk)"),
            self._event_op(account_id, event, now),
            self._stats_op(account_id, {stat_name(event): 1}, now),
        ])
        self._published(account_id, [event])

    def create_many(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]],
                    now: datetime) -> None:
        """A batch's messages and events in 25-item writes (fresh ids: no conditions needed)."""
        entries: list[tuple[Item, DataClass, datetime | None]] = []
        counts: dict[str, int] = {}
        for message, event in pairs:
            entries.append((_listed(message), DataClass.MESSAGE_LOG, now))
            entries.append((self._event_item(message["account_id"], event),
                            DataClass.ENGAGEMENT_EVENT, now))
            counts[stat_name(event)] = counts.get(stat_name(event), 0) + 1
        if pairs:
            account_id = pairs[0][0]["account_id"]
            days = self._days(account_id)
            self._table.put_many(entries, {DataClass.ENGAGEMENT_EVENT: days} if days else None)
            self._table.transact([self._stats_op(account_id, counts, now)])
            self._published(account_id, [event for _, event in pairs])

    def record_events(self, account_id: str, events: list[dict[str, Any]],
                      now: datetime) -> None:
        """Events that change no status, with their daily counts, 50 to a transaction."""
        for start in range(0, len(events), 50):
            chunk = events[start:start + 50]
            counts: dict[str, int] = {}
            for event in chunk:
                counts[stat_name(event)] = counts.get(stat_name(event), 0) + 1
            self._table.transact([*(self._event_op(account_id, e, now) for e in chunk),
                                  self._stats_op(account_id, counts, now)])
        self._published(account_id, events)

    def apply_event(self, account_id: str, message_id: str, event: dict[str, Any],
                    status: str | None, now: datetime) -> bool:
        """A provider event, exactly once (its id is derived from the provider's): the event
        and its count always, the status only forward. False if it was already recorded."""
        event_op = self._event_op(account_id, event, now, condition="attribute_not_exists(pk)")
        stats_op = self._stats_op(account_id, stat_counts(event), now)
        if status is not None:
            status_op = self._table.update_op(
                _key(account_id, message_id), "SET #s = :s, status_rank = :r, updated_at = :now",
                {":s": status, ":r": STATUS_RANK[status], ":now": event["timestamp"]},
                condition="attribute_exists(pk) AND (attribute_not_exists(status_rank) "
                          "OR status_rank < :r)", names={"#s": "status"})
            try:
                self._table.transact([event_op, stats_op, status_op])
                self._published(account_id, [event])
                return True
            except ConditionFailed as err:
                if 0 in err.failed:
                    return False
        exists = self._table.condition_op(_key(account_id, message_id), "attribute_exists(pk)")
        try:  # a late event (or one that changes no status): timeline only
            self._table.transact([event_op, stats_op, exists])
        except ConditionFailed:
            return False  # seen before, or the message is gone (expired or erased)
        self._published(account_id, [event])
        return True

    def metadata_of(self, account_id: str, message_ids: list[str]) -> dict[str, dict[str, str]]:
        """Each message's metadata, for events recorded without it (SES events)."""
        found: dict[str, dict[str, str]] = {}
        unique = list(dict.fromkeys(message_ids))
        for start in range(0, len(unique), 100):
            for item in self._table.batch_get([_key(account_id, m)
                                               for m in unique[start:start + 100]]):
                found[item["message_id"]] = item.get("metadata") or {}
        return found

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
                           "AND (attribute_not_exists(claim_until) OR claim_until < :now) "
                           "AND attribute_not_exists(sending_at)"),
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
        if "sending_at" in current and int(current.get("claim_until", 0)) < now:
            return Claim.UNKNOWN  # its sender died mid-call: SES may have it
        return Claim.BUSY

    def mark_sending(self, account_id: str, message_id: str, lease_until: int,
                     now: int) -> bool:
        """Record that SES is about to be called, while this attempt's claim (``lease_until``)
        still holds; False if it lapsed (another attempt may own the message now)."""
        try:
            self._table.update(_key(account_id, message_id), "SET sending_at = :now",
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
        self._table.update(_key(account_id, message_id), "REMOVE claim_until, sending_at", {})

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
        try:
            self._table.transact([
                self._table.update_op(_key(account_id, message_id),
                                      f"SET {', '.join(sets)} REMOVE claim_until, gsi1pk, gsi1sk",
                                      values, condition=f"#s IN ({', '.join(allowed)})",
                                      names=names),
                self._event_op(account_id, event, now),
                self._stats_op(account_id, stat_counts(event), now),
            ])
        except ConditionFailed:
            return False
        self._published(account_id, [event])
        return True

    def cancel(self, account_id: str, message_id: str, event: dict[str, Any],
               now: datetime) -> bool:
        """Cancelled, unless a worker already holds it (then it is as good as sent)."""
        values = {":s": "cancelled", ":now": event["timestamp"], ":q": "queued",
                  ":sc": "scheduled", ":t": int(now.timestamp()),
                  ":r": STATUS_RANK["cancelled"]}
        try:
            self._table.transact([
                self._table.update_op(
                    _key(account_id, message_id),
                    "SET #s = :s, updated_at = :now, status_rank = :r REMOVE gsi1pk, gsi1sk",
                    values, condition="#s IN (:q, :sc) AND attribute_not_exists(sending_at) "
                                      "AND (attribute_not_exists(claim_until) "
                                      "OR claim_until < :t)", names={"#s": "status"}),
                self._event_op(account_id, event, now),
                self._stats_op(account_id, {"cancelled": 1}, now),
            ])
        except ConditionFailed:
            return False
        self._published(account_id, [event])
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

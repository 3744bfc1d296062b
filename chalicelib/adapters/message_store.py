"""Message log and events in the shared table.

A message is ``EM#<account>#<em_id> / EM#<em_id>``: a partition of its own, so no two emails
ever write the same base-table partition; its events sort right after it as
``EM#<em_id>#EVT#<evt_id>``, so one query returns a message with its whole timeline. The
account's email listing is its own index (``email_listing.py``: ``gsi4``, the listed fields
only); its event stream (``gsi2``, ``EVENTS#<account>#<shard>``) is sharded by a few bits of
the message id and merged on read with the unsharded key that account events and events
written before sharding use. An account export or erasure walks the email listing to find
the messages' partitions.

Earlier layouts stay readable and writable: messages written under ``ACCT#<account>#<shard>``
(and, before that, ``ACCT#<account>``) are found there when their own key is absent.
Scheduled messages waiting for the sweep also carry ``gsi1`` keys (``SCHEDULED#<shard>``).
Daily counts go to the write-sharded counters (``counter_store``), never into a transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, IndexKey, Item, Key
from chalicelib.adapters.email_listing import SHARDS as MESSAGE_SHARDS
from chalicelib.adapters.email_listing import EmailListing, listing_entry, shard_of
from chalicelib.errors import ValidationFailed
from chalicelib.models import address_of
from chalicelib.observability import logger
from chalicelib.ports import Claim
from chalicelib.retention import DataClass
from chalicelib.vocabulary import EMAIL_STATUS_RANK as STATUS_RANK


class DailyCounts(Protocol):
    def add(self, account_id: str, counts: Mapping[str, int], at: datetime) -> None: ...


def message_partition(account_id: str, message_id: str) -> str:
    """The message's own partition: it and its events, nothing of any other email."""
    return f"EM#{account_id}#{message_id}"


def legacy_partitions(account_id: str, message_id: str) -> list[str]:
    """Where a message written under an earlier layout lives: its account shard, then the
    account's own partition (before sharding)."""
    return [f"ACCT#{account_id}#{shard_of(message_id)}", f"ACCT#{account_id}"]


def message_partitions(account_id: str) -> list[str]:
    """The account shards that messages written under the previous layout live under."""
    return [f"ACCT#{account_id}#{shard}" for shard in range(MESSAGE_SHARDS)]


def account_partitions(account_id: str) -> list[str]:
    """Every fixed partition key that holds an account's data: its own, the message shards
    of the previous layout and its daily counter shards (what an account export reads and an
    erasure deletes; messages in their own partitions are found through the listing)."""
    from chalicelib.adapters.counter_store import SHARDS
    return [f"ACCT#{account_id}", *message_partitions(account_id),
            *(f"STATS#{account_id}#{shard}" for shard in range(SHARDS))]


def is_own_partition(pk: str) -> bool:
    """True for a message partition of the current layout (``EM#<account>#<em_id>``)."""
    return pk.startswith("EM#")


def event_listing(account_id: str) -> list[IndexKey]:
    """The ``gsi2`` partitions of the account's event stream, merged on read: the shards,
    then the unsharded key (account events, events written before sharding)."""
    return [*(("gsi2", f"EVENTS#{account_id}#{s}") for s in range(MESSAGE_SHARDS)),
            ("gsi2", f"EVENTS#{account_id}")]


def _key(account_id: str, message_id: str) -> dict[str, str]:
    return {"pk": message_partition(account_id, message_id), "sk": f"EM#{message_id}"}


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


def tally(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        for name, count in stat_counts(event).items():
            counts[name] = counts.get(name, 0) + count
    return counts


def _listed(message: dict[str, Any]) -> Item:
    """The message with what the listing index and its filters read."""
    account_id, message_id = message["account_id"], message["message_id"]
    recipients = [address_of(m).lower() for key in ("to", "cc", "bcc")
                  for m in message.get(key) or []]
    return {**_key(account_id, message_id), **message,
            **listing_entry(account_id, message_id), "recipients": recipients,
            "status_rank": STATUS_RANK.get(message["status"], 0),
            # Privacy export and erasure find a person named only in Reply-To too.
            "reply_to_addresses": [address_of(m).lower() for m in message.get("reply_to") or []],
            "tag_keys": [f"{t['name']}:{t['value']}" for t in message.get("tags") or []]}


class EventStore:
    """What every store that records events shares: the account's retention period for
    them, the daily counters they add to, and the fan-out to webhooks."""

    def __init__(self, table: DynamoTable, counters: DailyCounts | None = None,
                 on_events: Callable[[str, list[dict[str, Any]]], None] | None = None,
                 retention_days: Callable[[str], int | None] = lambda account_id: None
                 ) -> None:
        self._table = table
        self._counters = counters
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

    def _count(self, account_id: str, counts: Mapping[str, int], at: datetime) -> None:
        """After the event is stored: a failure here loses a count, never an event (the
        retry sees the event and stops), so stats can only undercount, and say so."""
        if self._counters is None or not counts:
            return
        try:
            self._counters.add(account_id, counts, at)
        except Exception:
            logger.exception("stats_not_counted", extra={"counts": sum(counts.values())})


class AddressEntries(Protocol):
    """``address_index.AddressIndex``: what a new message adds to the address index."""

    def entries(self, message: dict[str, Any], key: dict[str, str]
                ) -> tuple[dict[str, str], list[Item]]: ...


class DynamoMessageStore(EventStore):
    address_index: AddressEntries | None = None  # wiring sets it; privacy finds messages by it

    @cached_property
    def listing(self) -> EmailListing:
        return EmailListing(self._table)

    def _indexed(self, message: dict[str, Any], now: datetime
                 ) -> list[tuple[Item, DataClass, datetime | None]]:
        """The message item with its address-index keys, and its pointer items (in the same
        batch request: the common one-recipient message writes nothing more)."""
        listed = _listed(message)
        if self.address_index is None:
            return [(listed, DataClass.MESSAGE_LOG, now)]
        own, pointers = self.address_index.entries(message, {"pk": listed["pk"],
                                                             "sk": listed["sk"]})
        return [({**listed, **own}, DataClass.MESSAGE_LOG, now),
                *((p, DataClass.MESSAGE_LOG, now) for p in pointers)]

    def count_once(self, account_id: str, marker: str, counts: dict[str, int],
                   now: datetime) -> bool:
        """Daily counts for an event with no message here (SMTP mail), once per ``marker``
        (SNS delivers at least once); False if that marker was counted already."""
        try:  # the marker first, then a sharded count: no shared item in a transaction
            self._table.put({"pk": f"ACCT#{account_id}", "sk": f"COUNTED#{marker}"},
                            DataClass.RATE_COUNTER, now, condition="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        self._count(account_id, counts, now)
        return True

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
        key = _key(account_id, message_id)
        try:
            self._table.update(key, expression, values, condition=condition, names=names)
            return key
        except ConditionFailed:
            legacy = self._legacy_key(account_id, message_id)
            if legacy is None:
                raise
        self._table.update(legacy, expression, values, condition=condition, names=names)
        return legacy

    def create(self, message: dict[str, Any], event: dict[str, Any], now: datetime) -> None:
        """The message and its first event in one batch write: a fresh id needs no condition.
        The caller counts it (with the quota, in one write)."""
        self.create_many([(message, event)], now)

    def create_many(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]],
                    now: datetime) -> None:
        """Messages and their first events in 25-item writes (fresh ids: no conditions)."""
        if not pairs:
            return
        account_id = pairs[0][0]["account_id"]
        entries: list[tuple[Item, DataClass, datetime | None]] = []
        for message, event in pairs:
            entries += self._indexed(message, now)
            entries.append((self._event_item(account_id, event),
                            DataClass.ENGAGEMENT_EVENT, now))
        days = self._days(account_id)
        self._table.put_many(entries, {DataClass.ENGAGEMENT_EVENT: days} if days else None)
        self._published(account_id, [event for _, event in pairs])

    def record_events(self, account_id: str, events: list[dict[str, Any]],
                      now: datetime) -> None:
        """Events that change no status (fresh ids), then their daily counts."""
        days = self._days(account_id)
        self._table.put_many([(self._event_item(account_id, e), DataClass.ENGAGEMENT_EVENT, now)
                              for e in events],
                             {DataClass.ENGAGEMENT_EVENT: days} if days else None)
        self._count(account_id, tally(events), now)
        self._published(account_id, events)

    def apply_event(self, account_id: str, message_id: str, event: dict[str, Any],
                    status: str | None, now: datetime) -> bool:
        """A provider event, exactly once (its id is derived from the provider's): the status
        only forward, the event and its count. False if it was already recorded, or the
        message is gone (expired or erased: nothing about it is written again).

        No transaction: the status moves first (idempotent, forward only), then the event
        is put on condition that it is new, so a retry after any failure finishes the work
        and a duplicate changes nothing."""
        pk: str | None = None
        if status is not None:
            with contextlib.suppress(ConditionFailed):  # already further along
                pk = self._update_message(
                    account_id, message_id,
                    "SET #s = :s, status_rank = :r, updated_at = :now",
                    {":s": status, ":r": STATUS_RANK[status], ":now": event["timestamp"]},
                    condition="attribute_exists(pk) AND (attribute_not_exists(status_rank) "
                              "OR status_rank < :r)", names={"#s": "status"})["pk"]
        if pk is None:
            found = self.get(account_id, message_id)
            if found is None:
                return False
            pk = str(found["pk"])
        try:
            self._put_event(account_id, event, now, condition="attribute_not_exists(pk)", pk=pk)
        except ConditionFailed:
            return False  # seen before
        self._count(account_id, stat_counts(event), now)
        self._published(account_id, [event])
        return True

    def listing_page(self, kind: str, account_id: str, low: str, high: str, limit: int,
                     cursor: str | None, filters: dict[str, tuple[str, Any]] | None = None,
                     forward: bool = False) -> tuple[list[Item], str | None]:
        """One page of the account's ``EMAILS`` or ``EVENTS`` listing, shards merged."""
        if kind == "EMAILS":
            return self.listing.page(account_id, low, high, limit, cursor, filters, forward)
        return self._table.merged_index_page(event_listing(account_id), f"EVENTS#{account_id}",
                                             low, high, limit, cursor, filters, forward)

    def migrate_listing_page(self, account_id: str) -> bool:
        return self.listing.migrate_page(account_id)

    def metadata_of(self, account_id: str, message_ids: list[str]) -> dict[str, dict[str, str]]:
        """Each message's metadata, for events recorded without it (SES events)."""
        found: dict[str, dict[str, str]] = {}
        unique = list(dict.fromkeys(message_ids))
        for layout in range(3):  # own keys, then the earlier layouts for what is missing
            wanted = [m for m in unique if m not in found]
            for start in range(0, len(wanted), 100):
                keys = [_key(account_id, m) if layout == 0 else
                        {"pk": legacy_partitions(account_id, m)[layout - 1], "sk": f"EM#{m}"}
                        for m in wanted[start:start + 100]]
                for item in self._table.batch_get(keys):
                    found[item["message_id"]] = item.get("metadata") or {}
        return found

    def get(self, account_id: str, message_id: str) -> Item | None:
        found = self.get_with_events(account_id, message_id)
        return found[0] if found else None

    def get_with_events(self, account_id: str, message_id: str) -> tuple[Item, list[Item]] | None:
        """The message and its timeline; one written under an earlier layout is still found
        there, at the cost of one more query for each."""
        for pk in (message_partition(account_id, message_id),
                   *legacy_partitions(account_id, message_id)):
            items = list(self._table.query_prefix(pk, f"EM#{message_id}"))
            if items and items[0]["sk"] == f"EM#{message_id}":
                return items[0], items[1:]
        return None

    def timeline_page(self, account_id: str, message_id: str, limit: int,
                      cursor: str | None) -> tuple[Item | None, list[Item], str | None]:
        """One page of a message's events, oldest first, and the cursor of the next. Without
        a cursor the page starts at the message item itself, returned first (None: no such
        message); the cursor (``<partition>.<key>``: 0 the message's own partition, then the
        earlier layouts' in order) continues among the events of this account's message only."""
        partitions = (message_partition(account_id, message_id),
                      *legacy_partitions(account_id, message_id))
        if cursor:
            head, _, inner = cursor.partition(".")
            if head not in [str(n) for n in range(len(partitions))] or not inner:
                raise ValidationFailed("cursor is not valid for this listing",
                                       details=[{"field": "cursor", "message": "invalid cursor"}])
            events, following = self._table.query_page(
                partitions[int(head)], f"EM#{message_id}#EVT#", limit, inner, forward=True)
            return None, events, following and f"{head}.{following}"
        for index, pk in enumerate(partitions):
            items, following = self._table.query_page(pk, f"EM#{message_id}", limit + 1, None,
                                                      forward=True)
            if items and items[0]["sk"] == f"EM#{message_id}":
                return items[0], items[1:], following and f"{index}.{following}"
        return None, [], None

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
        keys = [_key(account_id, message_id)]
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

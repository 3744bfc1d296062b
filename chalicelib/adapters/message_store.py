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

The keys live in ``message_keys``, the send worker's writes in ``message_lifecycle`` and what
every event-recording store shares in ``event_store``; this module adds creation, provider
events and the reads.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from chalicelib.adapters.dynamo import ConditionFailed, Item
from chalicelib.adapters.email_listing import EmailListing, listing_entry
from chalicelib.adapters.event_store import stat_counts, tally
from chalicelib.adapters.message_keys import (event_listing, legacy_partitions, message_key,
                                              message_partition)
from chalicelib.adapters.message_lifecycle import MessageLifecycle
from chalicelib.errors import ValidationFailed
from chalicelib.models import address_of
from chalicelib.retention import DataClass
from chalicelib.vocabulary import EMAIL_STATUS_RANK as STATUS_RANK


def _listed(message: dict[str, Any]) -> Item:
    """The message with what the listing index and its filters read."""
    account_id, message_id = message["account_id"], message["message_id"]
    recipients = [address_of(m).lower() for key in ("to", "cc", "bcc")
                  for m in message.get(key) or []]
    return {**message_key(account_id, message_id), **message,
            **listing_entry(account_id, message_id), "recipients": recipients,
            "status_rank": STATUS_RANK.get(message["status"], 0),
            # Privacy export and erasure find a person named only in Reply-To too.
            "reply_to_addresses": [address_of(m).lower() for m in message.get("reply_to") or []],
            "tag_keys": [f"{t['name']}:{t['value']}" for t in message.get("tags") or []]}


class AddressEntries(Protocol):
    """``address_index.AddressIndex``: what a new message adds to the address index."""

    def entries(self, message: dict[str, Any], key: dict[str, str]
                ) -> tuple[dict[str, str], list[Item]]: ...


class DynamoMessageStore(MessageLifecycle):
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
                keys = [message_key(account_id, m) if layout == 0 else
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

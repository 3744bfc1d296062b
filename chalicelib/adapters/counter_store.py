"""Per-account daily counters: the stats every event adds to, and the daily sending quota.

Write-sharded, so concurrent requests for one account never contend: an account's day is
``SHARDS`` items (``STATS#<account>#<shard> / <YYYY-MM-DD>``), each count is a plain
``ADD`` (never in a transaction) to one shard picked at random, and readers sum the shards.
The quota lives in the same items (``quota_used``): it is split between the first
``quota_shards(quota)`` shards, each with its share as the ceiling of a conditional ``ADD``,
so the sum cannot pass the quota however many requests race. Charging the quota and counting
the accepted emails is therefore one write.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Key
from chalicelib.observability import logger
from chalicelib.retention import DataClass

SHARDS = 8  # 8 partition keys per account and day: 8,000 counted writes a second
QUOTA_PER_SHARD = 1000  # small quotas stay on one shard (exact to the last email)
# Bookkeeping attributes of a counter item; every other attribute is a count.
_NOT_COUNTS = {"pk", "sk", "retention_class", "expires_at", "expiry_bucket", "clock_at",
               "quota_used"}


def quota_shards(quota: int) -> int:
    return max(1, min(SHARDS, quota // QUOTA_PER_SHARD))


def quota_share(quota: int, shard: int) -> int:
    """Shard ``shard``'s part of the quota; the parts add up to exactly ``quota``."""
    shards = quota_shards(quota)
    return quota // shards + (1 if shard < quota % shards else 0)


def _day(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


class DynamoCounterStore:
    def __init__(self, table: DynamoTable,
                 pick: Callable[[int], int] = random.randrange) -> None:
        self._table = table
        self._pick = pick  # which shard takes a write (tests pin it)
        self._pending = threading.local()  # counts held for one batch, per thread

    @staticmethod
    def key(account_id: str, shard: int, day: date) -> Key:
        return {"pk": f"STATS#{account_id}#{shard}", "sk": day.isoformat()}

    def add(self, account_id: str, counts: Mapping[str, int], at: datetime) -> None:
        """Count events of ``at``'s day: one non-transactional write to a random shard, or,
        inside ``batched``, added to the batch's sums."""
        if not counts:
            return
        day = _day(at)
        pending: dict[tuple[str, datetime], dict[str, int]] | None = getattr(
            self._pending, "counts", None)
        if pending is None:
            self._write(account_id, counts, day)
            return
        sums = pending.setdefault((account_id, day), {})
        for name, count in counts.items():
            sums[name] = sums.get(name, 0) + count

    def _write(self, account_id: str, counts: Mapping[str, int], day: datetime) -> None:
        self._table.add_counts(self.key(account_id, self._pick(SHARDS), day.date()),
                               counts, DataClass.DAILY_STATS, day)

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Counts added inside are summed and written once per account and day when the
        block ends: one write for a queue batch of up to ten emails or events, not one
        each. Like any count, it is written after its events are stored; a failure loses
        the counts (logged ``stats_not_counted``), never an event."""
        if getattr(self._pending, "counts", None) is not None:  # the outer block writes
            yield
            return
        self._pending.counts = {}
        try:
            yield
        finally:
            pending, self._pending.counts = self._pending.counts, None
            for (account_id, day), counts in pending.items():
                try:
                    self._write(account_id, counts, day)
                except Exception:
                    logger.exception("stats_not_counted",
                                     extra={"counts": sum(counts.values())})

    def charge(self, account_id: str, count: int, quota: int, counts: Mapping[str, int],
               at: datetime) -> int | None:
        """Take ``count`` from the day's quota and add ``counts``, in one write; the shard
        that had room (to refund it), or None when no shard has room for all of it."""
        day, shards = _day(at), quota_shards(quota)
        first = self._pick(shards)
        for step in range(shards):
            shard = (first + step) % shards
            room = quota_share(quota, shard) - count
            if room < 0:
                continue
            try:
                self._table.add_counts(
                    self.key(account_id, shard, day.date()), {"quota_used": count, **counts},
                    DataClass.DAILY_STATS, day,
                    condition="attribute_not_exists(quota_used) OR quota_used <= :room",
                    values={":room": room})
                return shard
            except ConditionFailed:
                continue
        return None

    def charge_sent(self, account_id: str, count: int, quota: int, at: datetime) -> None:
        """Take ``count`` from the day's quota unconditionally (the mail is already sent), on
        one of the shards the quota lives on, so API charges see it."""
        day = _day(at)
        self._table.add_counts(self.key(account_id, self._pick(quota_shards(quota)),
                                        day.date()), {"quota_used": count},
                               DataClass.DAILY_STATS, day)

    def refund(self, account_id: str, shard: int, count: int, counts: Mapping[str, int],
               at: datetime) -> None:
        """Give back a charge whose emails were not accepted after all."""
        day = _day(at)
        self._table.add_counts(self.key(account_id, shard, day.date()),
                               {"quota_used": -count, **{k: -v for k, v in counts.items()}},
                               DataClass.DAILY_STATS, day)

    def days(self, account_id: str, first: date, last: date) -> dict[str, dict[str, int]]:
        """Counts per day (ISO date), the shards summed; days without counts are absent.
        Items written before sharding (``ACCT#<id> / STATS#<day>``) are summed in too."""
        totals: dict[str, dict[str, int]] = {}
        items = [item for shard in range(SHARDS) for item in self._table.query_between(
            f"STATS#{account_id}#{shard}", first.isoformat(), last.isoformat())]
        items += [{**item, "sk": item["sk"].removeprefix("STATS#")}
                  for item in self._table.query_between(f"ACCT#{account_id}",
                                                        f"STATS#{first.isoformat()}",
                                                        f"STATS#{last.isoformat()}")]
        for item in items:
            day = totals.setdefault(item["sk"], {})
            for name, value in item.items():
                if name not in _NOT_COUNTS and isinstance(value, int) and value:
                    day[name] = day.get(name, 0) + value
        return {day: counts for day, counts in sorted(totals.items()) if counts}

    def quota_used(self, account_id: str, at: datetime) -> int:
        day = _day(at).date().isoformat()
        return sum(int(item.get("quota_used", 0))
                   for shard in range(SHARDS)
                   for item in self._table.query_between(f"STATS#{account_id}#{shard}",
                                                         day, day))

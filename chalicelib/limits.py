"""Per-key request rate and per-account daily sending quota, counted in DynamoDB so every
concurrent Lambda sees the same numbers, and without a shared item in any transaction: the
rate is one ``ADD`` per request on the key's own per-second item, the quota a conditional
``ADD`` on one of the account's write-sharded daily counters (``counter_store.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.errors import RateLimited
from chalicelib.observability import logger


class Counters(Protocol):
    def increment(self, pk: str, sk: str, by: int, ceiling: int | None,
                  clock_start: datetime) -> int | None: ...


class DailyCounters(Protocol):
    def charge(self, account_id: str, count: int, quota: int, counts: Mapping[str, int],
               at: datetime) -> int | None: ...
    def refund(self, account_id: str, shard: int, count: int, counts: Mapping[str, int],
               at: datetime) -> None: ...
    def add(self, account_id: str, counts: Mapping[str, int], at: datetime) -> None: ...
    def charge_sent(self, account_id: str, count: int, quota: int, at: datetime) -> None: ...
    def quota_used(self, account_id: str, at: datetime) -> int: ...


@dataclass(frozen=True)
class Allowance:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_seconds)}


@dataclass(frozen=True)
class QuotaCharge:
    """What ``take_quota`` took, so that a failure after it can give it back."""

    account_id: str
    shard: int
    count: int
    at: datetime
    counts: Mapping[str, int] = field(default_factory=dict)


class Limits:
    def __init__(self, counters: Counters, daily: DailyCounters, per_key_per_second: int,
                 daily_quota: int) -> None:
        self._counters = counters
        self._daily = daily
        self._rate = per_key_per_second
        self._quota = daily_quota

    def take_request(self, key_id: str, now: datetime) -> Allowance:
        """Count one request in this second's window; 429 past the limit."""
        second = int(now.timestamp())
        used = self._counters.increment(f"RATE#{key_id}", str(second), 1, None, now) or 0
        reset = 1
        allowance = Allowance(self._rate, max(0, self._rate - used), reset)
        if used > self._rate:
            raise RateLimited(f"more than {self._rate} requests per second with this key",
                              headers={**allowance.headers(), "Retry-After": str(reset)})
        return allowance

    def take_quota(self, account_id: str, count: int, now: datetime,
                   counts: Mapping[str, int] | None = None) -> QuotaCharge:
        """Reserve ``count`` sends from today's quota (UTC), all or nothing, and add
        ``counts`` to today's stats in the same write."""
        shard = self._daily.charge(account_id, count, self._quota, counts or {}, now)
        if shard is None:
            raise self.exhausted(now)
        return QuotaCharge(account_id, shard, count, now, dict(counts or {}))

    def exhausted(self, now: datetime) -> RateLimited:
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return RateLimited(f"the daily sending quota of {self._quota} emails is reached",
                           headers={"Retry-After": str(int((midnight - now).total_seconds()))})

    def refund(self, charge: QuotaCharge, count: int | None = None,
               counts: bool = True) -> None:
        """Give back ``count`` of the charge (all of it by default), and its counts unless
        the emails were stored after all. Best effort, after a failure that is already on
        its way to the caller: a refund that fails leaves the quota short for the rest of
        the day, and says so."""
        try:
            self._daily.refund(charge.account_id, charge.shard,
                               charge.count if count is None else count,
                               charge.counts if counts else {}, charge.at)
        except Exception:
            logger.exception("quota_not_refunded", extra={"count": charge.count})

    def charge_sent(self, account_id: str, count: int, now: datetime) -> bool:
        """Charge mail SES already sent (SMTP: Letterbox sees it only afterwards) to today's
        quota, which API sends then see too; True once the quota is spent."""
        self._daily.charge_sent(account_id, count, self._quota, now)
        return self._daily.quota_used(account_id, now) >= self._quota

    def count(self, account_id: str, counts: Mapping[str, int], now: datetime) -> None:
        """Stats only (scheduled emails take their quota when they are sent)."""
        self._daily.add(account_id, counts, now)

"""Per-key request rate and per-account daily sending quota, counted in DynamoDB so every
concurrent Lambda sees the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.errors import RateLimited


class Counters(Protocol):
    def increment(self, pk: str, sk: str, by: int, ceiling: int | None,
                  clock_start: datetime) -> int | None: ...


@dataclass(frozen=True)
class Allowance:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_seconds)}


class Limits:
    def __init__(self, counters: Counters, per_key_per_second: int, daily_quota: int) -> None:
        self._counters = counters
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

    def take_quota(self, account_id: str, count: int, now: datetime) -> None:
        """Reserve ``count`` sends from today's quota (UTC), all or nothing."""
        day = now.strftime("%Y-%m-%d")
        if self._counters.increment(f"QUOTA#{account_id}", day, count, self._quota,
                                    now) is None:
            midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                         microsecond=0)
            raise RateLimited(f"the daily sending quota of {self._quota} emails is reached",
                              headers={"Retry-After": str(int((midnight - now).total_seconds()))})

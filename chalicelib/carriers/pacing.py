"""Tracking within the carriers' quotas: a per-carrier pace (requests a second, requests a
UTC day shared by every poll through a counter), batches where the carrier takes several
numbers a request, and one number's failure never stopping the others."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.carriers.base import Carrier, CarrierError, TrackingUpdate
from chalicelib.observability import logger

POLLS_PER_DAY = 96  # app.py polls every 15 minutes: a day's quota is spread over 96 runs


@dataclass(frozen=True)
class Pace:
    per_second: float
    per_day: int
    # Seconds after a label is bought before tracking can know it (DHL: 10–30 minutes).
    settle_seconds: int = 0

    def per_run(self, max_requests: int) -> int:
        """A poll's share of the day, so the quota lasts all day."""
        return max(1, min(max_requests, math.ceil(self.per_day / POLLS_PER_DAY)))


class Pacer:
    """Hands out request slots: at most ``per_second``, and only while the day's shared
    counter (``reserve``: True if one more request fits today) has room."""

    def __init__(self, pace: Pace, reserve: Callable[[], bool],
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 deadline: float | None = None) -> None:
        """``deadline`` (on ``clock``): no slot starts after it (the function's time)."""
        self._interval = 1 / pace.per_second if pace.per_second > 0 else 0.0
        self._reserve = reserve
        self._sleep = sleep
        self._clock = clock
        self._deadline = deadline
        self._last: float | None = None

    def acquire(self) -> bool:
        wait = 0.0
        if self._last is not None:
            wait = max(0.0, self._last + self._interval - self._clock())
        if self._deadline is not None and self._clock() + wait > self._deadline:
            return False
        if not self._reserve():
            return False
        if wait > 0:
            self._sleep(wait)
        self._last = self._clock()
        return True


def track_paced(carrier: Carrier, numbers: list[str], pacer: Pacer,
                max_requests: int) -> tuple[list[TrackingUpdate], int]:
    """Updates for as many of ``numbers`` as this run's share allows, and the requests made.
    A refused batch is asked again number by number (one bad number must not hide the
    others); a 429 ends this carrier's run (its quota is spent); other failures skip only
    the numbers they concern."""
    updates: list[TrackingUpdate] = []
    made = 0
    queue = [numbers[i:i + max(1, carrier.track_batch)]
             for i in range(0, len(numbers), max(1, carrier.track_batch))]
    while queue and made < max_requests:
        chunk = queue.pop(0)
        if not pacer.acquire():
            break
        made += 1
        try:
            updates += carrier.track(chunk)
        except CarrierError as err:
            logger.warning("tracking request failed", extra={
                "carrier": carrier.name, "status": err.status, "retryable": err.retryable,
                "numbers": len(chunk)})
            if err.status == 429:
                break
            if len(chunk) > 1 and not err.retryable:
                queue[:0] = [[number] for number in chunk]
    return updates, made


def tracking_paces(settings: Any) -> dict[str, Pace]:
    """Each carrier's pace from ``Settings`` (``LETTERBOX_<CARRIER>_TRACKING_PER_SECOND`` /
    ``_PER_DAY``); DHL's new shipments reach tracking 10–30 minutes after creation."""
    return {name: Pace(float(getattr(settings, f"{name}_tracking_per_second")),
                       int(getattr(settings, f"{name}_tracking_per_day")),
                       settle_seconds=1800 if name == "dhl" else 0)
            for name in ("usps", "fedex", "dhl")}

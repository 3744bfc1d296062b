"""Tracking within the carriers' quotas: the per-second pace, the day's share per run, the
day's counter, batches, and one number's failure never stopping the others.

Bugs these catch: 100 back-to-back DHL calls every 15 minutes (the starter quota is 1 a
second, 250 a day); one failed request ending a carrier's whole poll run."""

from __future__ import annotations

import pytest

from chalicelib.carriers.base import CarrierError, TrackingUpdate
from chalicelib.carriers.pacing import Pace, Pacer, track_paced


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


class FakeCarrier:
    name = "fake"

    def __init__(self, batch: int, failing: dict[str, CarrierError]) -> None:
        self.track_batch = batch
        self.failing = failing
        self.calls: list[list[str]] = []

    def track(self, numbers: list[str]) -> list[TrackingUpdate]:
        self.calls.append(numbers)
        for number in numbers:
            if number in self.failing:
                raise self.failing[number]
        return [TrackingUpdate(n) for n in numbers]


def pacer(per_second: float = 1000, budget: int = 10**6, clock: Clock | None = None) -> Pacer:
    left = [budget]

    def reserve() -> bool:
        left[0] -= 1
        return left[0] >= 0
    clock = clock or Clock()
    return Pacer(Pace(per_second, budget), reserve, clock.sleep, lambda: clock.now)


def test_requests_are_spaced_to_the_per_second_pace() -> None:
    clock = Clock()
    paced = pacer(per_second=1, clock=clock)
    assert all(paced.acquire() for _ in range(4))
    assert clock.slept == [1.0, 1.0, 1.0], "DHL's 1 a second: never back to back"


def test_the_day_budget_stops_the_run() -> None:
    carrier = FakeCarrier(1, {})
    updates, made = track_paced(carrier, [str(n) for n in range(10)], pacer(budget=4), 100)
    assert made == 4 and len(updates) == 4


@pytest.mark.parametrize(("per_day", "share"), [(250, 3), (1440, 15), (10, 1),
                                                (100_000, 100)])
def test_a_run_takes_its_share_of_the_day(per_day, share) -> None:
    """96 runs a day (every 15 minutes): DHL's 250 last the whole day at 3 a run."""
    assert Pace(1, per_day).per_run(100) == share


def test_a_refused_batch_is_asked_again_number_by_number() -> None:
    carrier = FakeCarrier(3, {"b": CarrierError("fake", "bad number", status=400)})
    updates, made = track_paced(carrier, ["a", "b", "c", "d"], pacer(), 100)
    assert sorted(u.tracking_number for u in updates) == ["a", "c", "d"]
    assert carrier.calls == [["a", "b", "c"], ["a"], ["b"], ["c"], ["d"]] and made == 5


def test_one_failure_skips_only_its_numbers_and_a_429_ends_the_run() -> None:
    carrier = FakeCarrier(1, {"b": CarrierError("fake", "down", status=503, retryable=True)})
    updates, _ = track_paced(carrier, ["a", "b", "c"], pacer(), 100)
    assert [u.tracking_number for u in updates] == ["a", "c"]
    throttled = FakeCarrier(1, {"b": CarrierError("fake", "quota", status=429, retryable=True)})
    updates, made = track_paced(throttled, ["a", "b", "c"], pacer(), 100)
    assert [u.tracking_number for u in updates] == ["a"] and made == 2


def test_no_request_starts_after_the_deadline() -> None:
    """Bug it catches: at FedEx's 100 requests a run and 1 a second, a poll outlived the
    function's 30 seconds."""
    clock = Clock()
    spent = []
    paced = Pacer(Pace(1, 10**6), lambda: spent.append(1) or True, clock.sleep,
                  lambda: clock.now, deadline=2.5)
    assert [paced.acquire() for _ in range(5)] == [True, True, True, False, False]
    assert len(spent) == 3, "a slot past the deadline is not counted against the day"

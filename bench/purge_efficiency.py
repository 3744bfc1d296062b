"""Purge efficiency: items read per item deleted on a table of 100,000 items of which 1 %
are past their expiry (moto, provisioned from infra/). The full-scan alternative reads all
100,000: that is the same-run reference."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.purge_store import DynamoPurgeStore
from chalicelib.retention import DataClass


class CountingStore(DynamoPurgeStore):
    read = 0

    def expired_keys(self, bucket: str, now: int,
                     page: int) -> Iterator[list[dict[str, str]]]:
        for keys in super().expired_keys(bucket, now, page):
            self.read += len(keys)
            yield keys


def run(total: int = 100_000, expired_share: float = 0.01) -> dict[str, Any]:
    from chalicelib import wiring
    from chalicelib.purge import Purger

    from bench.stack import bench_stack

    now = datetime.now(UTC)
    expired = int(total * expired_share)
    with bench_stack():
        container = wiring.container()
        table = container.table
        started = time.perf_counter()
        for start in range(0, total, 1000):
            entries = []
            for n in range(start, min(total, start + 1000)):
                # Expired ones spread over the last 10 days, the rest over 80 days to come.
                clock = (now - timedelta(days=91 + n % 10)) if n < expired \
                    else (now - timedelta(days=n % 80))
                entries.append(({"pk": f"BENCH#{n % 500}", "sk": f"{n:06d}",
                                 "status": "delivered"}, DataClass.MESSAGE_LOG, clock))
            table.put_many(entries)
        load_s = time.perf_counter() - started
        store = CountingStore(table)
        started = time.perf_counter()
        report = Purger(store, container.content).run(now, first_run_days=30)
        purge_s = time.perf_counter() - started
    return {"items": total, "expired": expired, "items_read": store.read,
            "items_deleted": report.items_deleted,
            "read_per_deleted": store.read / max(1, report.items_deleted),
            "full_scan_read_per_deleted": total / max(1, report.items_deleted),
            "purge_seconds_moto": purge_s, "load_seconds_moto": load_s}


if __name__ == "__main__":
    print(run())

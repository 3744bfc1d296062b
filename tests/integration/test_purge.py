"""The scheduled purge: deletes what is past due, by index, resumable, never by scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import app as app_module
from chalicelib import wiring
from chalicelib.adapters.purge_store import DynamoPurgeStore
from chalicelib.purge import Purger
from chalicelib.retention import DataClass
from letterbox.local.pump import LambdaContext, scheduled_event

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _seed(table, count: int, created: datetime, prefix: str) -> None:
    for n in range(count):
        table.put({"pk": f"TEST#{prefix}", "sk": f"{n:05d}"}, DataClass.MESSAGE_LOG, created)


def _remaining(stack) -> set[str]:
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    return {item["pk"]["S"] for item in items if item["pk"]["S"].startswith("TEST#")}


class CountingStore(DynamoPurgeStore):
    """The real purge store, with the items its expiry queries return counted."""

    read = 0

    def expired_keys(self, bucket, now, page):
        for keys in super().expired_keys(bucket, now, page):
            self.read += len(keys)
            yield keys


def purge_expired(store, now, first_run_days):
    if not isinstance(store, DynamoPurgeStore):
        store = DynamoPurgeStore(store)
    return Purger(store, wiring.container().content).run(now, first_run_days)


def test_purge_deletes_only_expired_items_and_reads_only_them(stack) -> None:
    table = wiring.container().table
    _seed(table, 30, NOW - timedelta(days=95), "old")      # expired 5 days ago
    _seed(table, 3, NOW - timedelta(days=90, hours=3), "due")  # expired 3 hours ago
    _seed(table, 20, NOW - timedelta(days=10), "fresh")     # 80 days to go
    store = CountingStore(table)
    report = purge_expired(store, NOW, first_run_days=30)
    assert _remaining(stack) == {"TEST#fresh"}
    assert report.items_deleted == 33
    assert store.read == 33, "the purge reads only what it deletes"


def test_purge_is_idempotent_and_resumes_from_its_checkpoint(stack) -> None:
    table = wiring.container().table
    _seed(table, 5, NOW - timedelta(days=95), "old")
    first = purge_expired(table, NOW, first_run_days=30)
    assert first.items_deleted == 5 and first.buckets_scanned == 31
    second = purge_expired(table, NOW, first_run_days=30)
    assert second.items_deleted == 0
    assert second.buckets_scanned == 1, "finished days are not queried again"
    checkpoint = DynamoPurgeStore(table).get_checkpoint("purge")
    assert checkpoint == (NOW - timedelta(days=1)).strftime("%Y-%m-%d")


def test_purge_handles_more_than_a_batch(stack) -> None:
    table = wiring.container().table
    _seed(table, 60, NOW - timedelta(days=92), "many")
    assert purge_expired(table, NOW, first_run_days=30).items_deleted == 60
    assert _remaining(stack) == set()


def test_scheduled_handler_runs_the_purge(stack) -> None:
    result = app_module.purge_expired(scheduled_event(), LambdaContext("purge_expired"))
    assert {"buckets_scanned", "items_read", "items_deleted", "objects_deleted",
            "accounts_erased", "events_restamped"} <= set(result)
    assert result["buckets_scanned"] >= 1


def test_one_days_expiries_spread_over_shards_and_the_old_unsharded_day_still_purges(
        stack) -> None:
    """Bug caught (issue 13 item 7): every item created on one day with one period keyed to
    one ``by_expiry`` partition (≈ 1,000 writes a second for the whole stack), or, once
    sharded, items stamped before the shards left behind by the purge."""
    table = wiring.container().table
    for n in range(40):
        table.put({"pk": f"TEST#many{n}", "sk": "x"}, DataClass.MESSAGE_LOG,
                  NOW - timedelta(days=95))
    client, name = stack.client("dynamodb"), stack.env["LETTERBOX_TABLE_NAME"]
    buckets = {i["expiry_bucket"]["S"] for i in client.scan(TableName=name)["Items"]
               if i["pk"]["S"].startswith("TEST#many")}
    assert len(buckets) >= 8, buckets  # 40 emails' items over most of the 16 shards
    client.put_item(TableName=name, Item={  # as stamped before the shards
        "pk": {"S": "TEST#legacy"}, "sk": {"S": "x"},
        "expires_at": {"N": str(int((NOW - timedelta(days=5)).timestamp()))},
        "expiry_bucket": {"S": (NOW - timedelta(days=5)).strftime("%Y-%m-%d")}})
    report = purge_expired(table, NOW, first_run_days=30)
    assert _remaining(stack) == set()
    assert report.items_deleted == 41

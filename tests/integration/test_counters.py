"""The write-sharded daily counters (stats and quota) on moto: exact sums, a quota that
holds across shards, and nothing that passes the quota on the day's first request."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import cycle

import pytest

from chalicelib import wiring
from chalicelib.adapters import counter_store
from chalicelib.adapters.counter_store import DynamoCounterStore

NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


def _store(pick=None) -> DynamoCounterStore:
    table = wiring.container().table
    return DynamoCounterStore(table, pick) if pick else DynamoCounterStore(table)


def test_counts_spread_over_shards_sum_exactly_without_bookkeeping(stack) -> None:
    """Bug caught: a shard lost from the sum, or ``clock_at`` reported as a count (issue
    14 #26)."""
    shards = cycle(range(counter_store.SHARDS))
    store = _store(lambda n: next(shards) % n)
    for _ in range(20):
        store.add("acct_1", {"sent": 1, "delivered": 2}, NOW)
    store.add("acct_2", {"sent": 5}, NOW)  # another account's counts stay its own
    assert store.days("acct_1", date(2026, 5, 4), date(2026, 5, 4)) == {
        "2026-05-04": {"sent": 20, "delivered": 40}}
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    written = {i["pk"]["S"] for i in items if i["pk"]["S"].startswith("STATS#acct_1#")}
    assert len(written) == counter_store.SHARDS, "every shard took writes"


def test_the_quota_split_over_shards_adds_up_to_the_quota_exactly(stack, monkeypatch) -> None:
    """Bug caught: shard shares that add up to more (or less) than the quota, or a full
    shard refusing while another still has room."""
    monkeypatch.setattr(counter_store, "QUOTA_PER_SHARD", 10)
    store = _store(lambda n: 0)  # every charge tries shard 0 first, then moves on
    taken = 0
    while store.charge("acct_1", 1, 35, {"queued": 1}, NOW) is not None:
        taken += 1
    assert taken == 35
    assert store.quota_used("acct_1", NOW) == 35
    assert store.days("acct_1", NOW.date(), NOW.date())["2026-05-04"] == {"queued": 35}


def test_a_first_request_bigger_than_the_quota_is_refused(stack) -> None:
    """Bug caught (issue 14 #26): ``attribute_not_exists`` let the day's first request take
    any amount, past the quota."""
    store = _store()
    assert store.charge("acct_1", 5, 3, {"queued": 5}, NOW) is None
    assert store.quota_used("acct_1", NOW) == 0
    assert store.days("acct_1", NOW.date(), NOW.date()) == {}


def test_a_refund_gives_back_the_quota_and_its_counts(stack) -> None:
    """Bug caught: a request that failed after its charge kept the quota it never used."""
    store = _store()
    shard = store.charge("acct_1", 2, 3, {"queued": 2}, NOW)
    assert shard is not None
    store.refund("acct_1", shard, 2, {"queued": 2}, NOW)
    assert store.quota_used("acct_1", NOW) == 0
    assert store.charge("acct_1", 3, 3, {"queued": 3}, NOW) is not None


@pytest.mark.parametrize("quota", [1, 999, 1000, 7001, 50_000, 10**7])
def test_shares_add_up_to_the_quota(quota: int) -> None:
    shards = counter_store.quota_shards(quota)
    assert 1 <= shards <= counter_store.SHARDS
    assert sum(counter_store.quota_share(quota, s) for s in range(shards)) == quota


def test_a_send_batch_writes_its_stats_once(stack, api, account, aws_calls) -> None:
    """Bug caught: one stats write per email in the worker (ten writes to the account's
    counter shards for a batch of ten, where one carries the same sums)."""
    import app as app_module
    from letterbox.local.pump import drain_once
    from tests.integration.test_sending_api import _email
    for n in range(6):
        api.post("/v1/emails", _email(account, to=f"r{n}@example.net"), key=account.api_key)
    aws_calls.take()
    handled = drain_once(stack.client("sqs"), stack.env["LETTERBOX_SEND_QUEUE_URL"],
                         app_module.send_worker, "send_worker")
    stats_writes = [p for op, p in aws_calls.take() if op == "UpdateItem"
                    and p["Key"]["pk"]["S"].startswith(f"STATS#{account.account_id}#")]
    assert handled == 6 and len(stats_writes) == 1
    day = datetime.now(UTC).date()
    counts = _store().days(account.account_id, day, day)[day.isoformat()]
    assert counts["sent"] == 6 and counts["recipients_sent"] == 6


class _FailingTable:
    name = "t"

    def add_counts(self, *args, **kwargs) -> None:
        raise RuntimeError("dynamodb unreachable")


def test_a_batch_whose_stats_cannot_be_written_still_succeeds(caplog) -> None:
    """Bug caught: a failed stats write at the end of a batch failing the batch, so SQS
    redelivers emails that were sent (the retry finds them sent and counts nothing)."""
    store = DynamoCounterStore(_FailingTable())  # type: ignore[arg-type]
    with store.batched():
        store.add("acct_1", {"sent": 1}, NOW)
        store.add("acct_1", {"sent": 1}, NOW)
    assert "stats_not_counted" in caplog.text

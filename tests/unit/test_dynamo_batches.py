"""Batch writes respect DynamoDB's 25-item limit (moto does not) and retry unprocessed items."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.adapters.dynamo import DynamoTable
from chalicelib.errors import RetryableFailure
from chalicelib.retention import DataClass


class RecordingClient:
    def __init__(self, leave_unprocessed: int = 0) -> None:
        self.calls: list[int] = []
        self.leave = leave_unprocessed

    def batch_write_item(self, RequestItems):
        (requests,) = RequestItems.values()
        self.calls.append(len(requests))
        if self.leave:
            self.leave -= 1
            return {"UnprocessedItems": {"t": requests[:1]}}
        return {"UnprocessedItems": {}}


def test_deletes_go_in_chunks_of_25() -> None:
    client = RecordingClient()
    keys = [{"pk": f"p{i}", "sk": "s"} for i in range(60)]
    assert DynamoTable(client, "t").delete_keys(keys) == 60
    assert client.calls == [25, 25, 10]


def test_puts_go_in_chunks_of_25_and_unprocessed_items_are_retried() -> None:
    client = RecordingClient(leave_unprocessed=1)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [({"pk": f"p{i}", "sk": "s"}, DataClass.MESSAGE_LOG, now) for i in range(26)]
    DynamoTable(client, "t").put_many(entries)
    assert client.calls == [25, 1, 1], "the one left unprocessed is sent again"


def test_items_dynamodb_keeps_refusing_are_a_transient_failure() -> None:
    client = RecordingClient(leave_unprocessed=99)
    with pytest.raises(RetryableFailure):
        DynamoTable(client, "t").delete_keys([{"pk": "p", "sk": "s"}])

"""SendMessageBatch within SQS's limits: ten entries and 256 KiB of bodies (issue 14 item 11)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from chalicelib.adapters.sqs import BATCH_BYTES, SqsQueue


class Body(BaseModel):
    text: str


class AwsSizedSqs:
    """SQS as AWS enforces it (moto accepts up to 1 MiB a batch, AWS refuses over 256 KiB)."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        total = sum(len(e["MessageBody"].encode()) for e in Entries)
        if len(Entries) > 10 or total > BATCH_BYTES:
            raise ClientError({"Error": {"Code": "AWS.SimpleQueueService.BatchRequestTooLong"}},
                              "SendMessageBatch")
        self.batches.append(Entries)
        return {"Successful": [{"Id": e["Id"], "MessageId": f"m{len(self.batches)}-{e['Id']}"}
                               for e in Entries]}


def test_ten_110_kb_emails_all_go() -> None:
    """Bug caught: chunks of ten regardless of size, so ten 110 KB emails (1.1 MB) fail
    together every time with BatchRequestTooLong."""
    client = AwsSizedSqs()
    ids = SqsQueue(client, "q").enqueue_many([(Body(text="x" * 110_000), 0)] * 10)
    assert None not in ids and len(set(ids)) == 10
    assert all(sum(len(e["MessageBody"]) for e in b) <= BATCH_BYTES for b in client.batches)
    assert len(client.batches) == 5  # two 110 KB bodies fit in 256 KiB, three do not


def test_small_messages_still_go_ten_at_a_time() -> None:
    """Bug caught: size packing splitting small messages into more calls than needed."""
    client = AwsSizedSqs()
    ids = SqsQueue(client, "q").enqueue_many([(Body(text="hi"), 0)] * 25)
    assert None not in ids and [len(b) for b in client.batches] == [10, 10, 5]

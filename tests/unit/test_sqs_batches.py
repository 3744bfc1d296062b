"""The one SQS batch helper: partial batch responses, one parse per record, backoff.

Bug caught: one bad record failing (and redelivering) the whole batch, a retry coming back
at once instead of after its backoff, or each record parsed twice.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from chalicelib.errors import RetryableFailure
from chalicelib.sqs_batches import Backoff, consume, consume_batch


class Job(BaseModel):
    n: int


class RetryQueue:
    def __init__(self) -> None:
        self.waits: list[tuple[str, int]] = []

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        self.waits.append((receipt_handle, seconds))


def event(*bodies: str, receive_count: int = 1) -> dict[str, Any]:
    return {"Records": [{
        "messageId": f"m{i}", "receiptHandle": f"r{i}", "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
        for i, body in enumerate(bodies)]}


def failed(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_only_the_failed_records_go_back_and_retryable_ones_wait_their_backoff() -> None:
    queue, handled = RetryQueue(), []

    def handle(job: Job) -> str:
        if job.n == 2:
            raise RetryableFailure("throttled")
        if job.n == 3:
            raise RetryableFailure("carrier busy", retry_after=600)
        handled.append(job.n)
        return "done"

    bodies = [json.dumps({"n": n}) for n in (1, 2, 3)] + ["not json", json.dumps({"n": 4})]
    response = consume(event(*bodies, receive_count=3), None, Job.model_validate_json, handle,
                       Backoff(queue, base_seconds=30))
    assert failed(response) == ["m1", "m2", "m3"] and handled == [1, 4]
    # 3rd receive: 30·2² = 120 s; the carrier asked for 600 s, which wins (at most 900).
    assert queue.waits == [("r1", 120), ("r2", 600)]


def test_the_backoff_doubles_and_stops_at_fifteen_minutes() -> None:
    backoff = Backoff(RetryQueue(), base_seconds=30)
    assert [backoff.seconds(n) for n in (1, 2, 3, 6, 20)] == [30, 60, 120, 900, 900]
    assert backoff.seconds(1, asked=5000) == 900


def test_each_record_is_parsed_once_and_the_batch_handler_sees_them_all() -> None:
    parsed: list[str] = []

    def parse(body: str) -> Job:
        parsed.append(body)
        return Job.model_validate_json(body)

    seen: list[list[int]] = []

    def handler_for(jobs: list[Job]) -> Any:
        seen.append([j.n for j in jobs])
        return lambda job: "ok"

    bodies = [json.dumps({"n": n}) for n in (1, 2)] + ["{}"]
    response = consume_batch(event(*bodies), None, parse, handler_for)
    assert parsed == bodies and seen == [[1, 2]] and failed(response) == ["m2"]

"""Local stand-in for Lambda's SQS event source mapping: receive, invoke, delete successes.

It builds the same event shape Lambda sends, with each record's real message id, and honours
the handler's ``batchItemFailures`` the way the event source mapping does.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {},
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": region,
    } for m in messages]}


def scheduled_event() -> dict[str, Any]:
    """What EventBridge hands a scheduled function."""
    from chalicelib.clock import iso, utcnow
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": iso(utcnow()),
            "region": "us-east-1", "resources": [], "detail": {}}


class LambdaContext:
    """The attributes our handlers and Powertools read from a Lambda context."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}")

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def drain_once(sqs: Any, queue_url: str, handler: Handler, function_name: str,
               wait_seconds: int = 0, retry_delay: int = 2) -> int:
    """One receive → invoke → delete round; returns how many records were handled."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=wait_seconds, AttributeNames=["All"])
    messages = received.get("Messages", [])
    if not messages:
        return 0
    event = sqs_event(messages, attrs["Attributes"]["QueueArn"], sqs.meta.region_name)
    response = handler(event, LambdaContext(function_name)) or {}
    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    for message in messages:
        if message["MessageId"] in failed:
            # Lambda leaves failures to the visibility timeout; locally, retry soon.
            sqs.change_message_visibility(QueueUrl=queue_url, VisibilityTimeout=retry_delay,
                                          ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


class QueuePump(threading.Thread):
    def __init__(self, sqs: Any, queue_url: str, handler: Handler, function_name: str,
                 stop: threading.Event, on_error: Callable[[BaseException], None]) -> None:
        super().__init__(name=f"pump-{function_name}", daemon=True)
        self._args = (sqs, queue_url, handler, function_name)
        self._halt = stop
        self._on_error = on_error

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                drain_once(*self._args, wait_seconds=1)
            except Exception as err:  # keep pumping; the developer sees the error
                self._on_error(err)
                self._halt.wait(1)


class Schedule(threading.Thread):
    """Local stand-in for an EventBridge rate schedule: first run at start, then every period."""

    def __init__(self, name: str, every_seconds: float, handler: Handler,
                 stop: threading.Event, on_error: Callable[[BaseException], None]) -> None:
        super().__init__(name=f"schedule-{name}", daemon=True)
        self._every = every_seconds
        self._handler = handler
        self._halt = stop
        self._on_error = on_error
        self._function = name

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._handler(scheduled_event(), LambdaContext(self._function))
            except Exception as err:
                self._on_error(err)
            self._halt.wait(self._every)

"""The one SQS batch helper, in the Powertools shape: each record parsed once into its model,
handled alone, and only the failed ones reported back (``batchItemFailures``).

A handler that raises ``RetryableFailure`` sends its record back with a backoff (the record
stays invisible that long); anything else it raises fails the record as it is, and SQS's
redrive policy takes it to the dead-letter queue in the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.utilities.batch import (BatchProcessor, EventType,
                                                   process_partial_response)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.errors import RetryableFailure
from chalicelib.vocabulary import SQS_MAX_DELAY

M = TypeVar("M")
SQS_MAX_VISIBILITY_DELAY = int(SQS_MAX_DELAY.total_seconds())  # a retry waits 15 min at most


class RetryQueue(Protocol):
    def retry_later(self, receipt_handle: str, seconds: int) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Where a retryable record goes back, and the first wait (doubled on each retry)."""

    queue: RetryQueue
    base_seconds: int

    def seconds(self, receive_count: int, asked: int | None = None) -> int:
        """base, 2·base, 4·base… for the 1st, 2nd, 3rd retry; longer if the other side asked;
        at most 15 minutes."""
        wait = int(min(SQS_MAX_VISIBILITY_DELAY,
                       self.base_seconds * 2 ** max(0, receive_count - 1)))
        return min(SQS_MAX_VISIBILITY_DELAY, max(wait, asked or 0))


def consume(event: dict[str, Any], context: Any, parse: Callable[[str], M],
            handle: Callable[[M], str], backoff: Backoff | None = None) -> dict[str, Any]:
    """Handle every record of an SQS batch with one handler."""
    return consume_batch(event, context, parse, _Fixed(handle), backoff)


def consume_batch(event: dict[str, Any], context: Any, parse: Callable[[str], M],
                  handler_for: Callable[[list[M]], Callable[[M], str]],
                  backoff: Backoff | None = None) -> dict[str, Any]:
    """As ``consume``, with a handler made for the batch from all its parsed records (the
    send worker reads the suppression list once for all of them)."""
    parsed: dict[str, M | Exception] = {}
    for raw in event.get("Records") or []:
        body = str(raw.get("body", ""))
        if body not in parsed:
            try:
                parsed[body] = parse(body)
            except Exception as err:  # a malformed record fails alone, when its turn comes
                parsed[body] = err
    handle = handler_for([item for item in parsed.values()
                          if not isinstance(item, Exception)])

    def record_handler(record: SQSRecord) -> str:
        # Powertools calls this with the keyword ``record``: the name is part of the contract.
        item = parsed[record.body]
        if isinstance(item, Exception):
            raise item
        try:
            return handle(item)
        except RetryableFailure as err:
            if backoff is not None:
                attempt = int(record.attributes.approximate_receive_count or 1)
                backoff.queue.retry_later(record.receipt_handle,
                                          backoff.seconds(attempt, err.retry_after))
            raise

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=record_handler,
                                         processor=processor, context=context))


@dataclass(frozen=True)
class _Fixed:
    handle: Callable[[Any], str]

    def __call__(self, items: list[Any]) -> Callable[[Any], str]:
        return self.handle

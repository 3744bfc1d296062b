"""SQS: the send queue (and, for the worker, retry backoff through visibility)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from chalicelib.errors import RetryableFailure


# SQS limits a batch's total payload (the sum of its bodies) as it does a single message.
BATCH_BYTES = 262_144
BATCH_ENTRIES = 10


def _packed(bodies: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """Consecutive chunks, each within SQS's entry count and total size (a body too big on
    its own goes alone, for SQS to refuse by itself)."""
    chunks: list[list[tuple[str, int]]] = []
    size = 0
    for body, delay in bodies:
        length = len(body.encode())
        if not chunks or len(chunks[-1]) == BATCH_ENTRIES or size + length > BATCH_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append((body, delay))
        size += length
    return chunks


class SqsQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, command: BaseModel, delay_seconds: int = 0) -> str:
        try:
            response = self._client.send_message(
                QueueUrl=self._url, MessageBody=command.model_dump_json(by_alias=True),
                DelaySeconds=max(0, min(delay_seconds, 900)))
        except ClientError as err:
            raise RetryableFailure("sqs send_message failed") from err
        return str(response["MessageId"])

    def enqueue_many(self, commands: list[tuple[BaseModel, int]]) -> list[str | None]:
        """SendMessageBatch in chunks of at most ten entries and ``BATCH_BYTES`` of bodies;
        None where SQS refused an entry."""
        bodies = [(c.model_dump_json(by_alias=True), max(0, min(delay, 900)))
                  for c, delay in commands]
        results: list[str | None] = []
        for chunk in _packed(bodies):
            entries = [{"Id": str(i), "MessageBody": body, "DelaySeconds": delay}
                       for i, (body, delay) in enumerate(chunk)]
            try:
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except ClientError:
                results.extend([None] * len(chunk))
                continue
            ok = {int(e["Id"]): str(e["MessageId"]) for e in response.get("Successful", [])}
            results.extend(ok.get(i) for i in range(len(chunk)))
        return results

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """Keep a failed record invisible for its backoff before SQS hands it out again."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(seconds, 43_200)))
        except ClientError as err:
            raise RetryableFailure("sqs change_message_visibility failed") from err

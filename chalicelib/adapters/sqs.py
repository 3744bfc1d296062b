"""SQS: the send queue (and, for the worker, retry backoff through visibility)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from chalicelib.errors import RetryableFailure


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
        """SendMessageBatch, ten at a time; None where SQS refused an entry."""
        results: list[str | None] = []
        for start in range(0, len(commands), 10):
            chunk = commands[start:start + 10]
            entries = [{"Id": str(i), "MessageBody": c.model_dump_json(by_alias=True),
                        "DelaySeconds": max(0, min(delay, 900))}
                       for i, (c, delay) in enumerate(chunk)]
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

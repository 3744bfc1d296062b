"""SQS: the send queue."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from chalicelib.errors import TransientFailure


class SqsQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, command: BaseModel, delay_seconds: int = 0) -> str:
        try:
            response = self._client.send_message(
                QueueUrl=self._url, MessageBody=command.model_dump_json(by_alias=True),
                DelaySeconds=delay_seconds)
        except ClientError as err:
            raise TransientFailure("sqs send_message failed") from err
        return str(response["MessageId"])

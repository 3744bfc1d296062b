"""Confirming the SES event topic's HTTPS subscription through the SNS API (no raw URL fetch)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import RetryableFailure


class SnsSubscriptions:
    def __init__(self, client: Any) -> None:
        self._client = client

    def confirm(self, topic_arn: str, token: str) -> None:
        try:
            self._client.confirm_subscription(TopicArn=topic_arn, Token=token,
                                              AuthenticateOnUnsubscribe="true")
        except ClientError as err:
            raise RetryableFailure("sns confirm_subscription failed") from err

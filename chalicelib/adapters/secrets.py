"""The deployment secret (Secrets Manager), fetched once per warm Lambda."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import RetryableFailure


class DeploymentSecret:
    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id
        self._value: bytes | None = None

    def value(self) -> bytes:
        if self._value is None:
            try:
                response = self._client.get_secret_value(SecretId=self._secret_id)
            except ClientError as err:
                raise RetryableFailure("secretsmanager get_secret_value failed") from err
            self._value = str(response["SecretString"]).encode()
        return self._value

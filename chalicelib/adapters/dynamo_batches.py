"""DynamoDB's batch reads and writes (at most 25 writes or 100 reads a request), retrying
what DynamoDB leaves unprocessed. ``DynamoTable`` inherits them."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.dynamo_wire import Item, Key, from_wire, raise_for, to_wire
from chalicelib.errors import RetryableFailure


class BatchOperations:
    """``DynamoTable``'s batch requests (its client and table name are set there)."""

    _client: Any
    name: str

    def batch_write(self, requests: list[dict[str, Any]]) -> None:
        """25 requests at a time (DynamoDB's limit; moto does not enforce it), retrying what
        DynamoDB leaves unprocessed."""
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.name: requests[start:start + 25]}
            for _ in range(5):
                try:
                    response = self._client.batch_write_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as err:
                    raise_for(err)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:
                raise RetryableFailure("dynamodb left writes unprocessed")

    def batch_get(self, keys: list[Key]) -> list[Item]:
        """Up to 100 items by key, retrying what DynamoDB leaves unprocessed."""
        if not keys:
            return []
        found: list[Item] = []
        pending: dict[str, Any] = {self.name: {"Keys": [to_wire(k) for k in keys]}}
        for _ in range(5):
            try:
                response = self._client.batch_get_item(RequestItems=pending)
            except (ClientError, BotoCoreError) as err:
                raise_for(err)
            found.extend(from_wire(i) for i in response.get("Responses", {}).get(self.name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
        raise RetryableFailure("dynamodb left reads unprocessed")

    def delete_keys(self, keys: list[Key]) -> int:
        """Delete in chunks of 25 (DynamoDB's batch limit), retrying what comes back."""
        self.batch_write([{"DeleteRequest": {"Key": to_wire(k)}} for k in keys])
        return len(keys)

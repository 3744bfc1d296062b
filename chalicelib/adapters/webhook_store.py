"""Customer webhook endpoints and their delivery attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, Item
from chalicelib.retention import DataClass


class DynamoWebhookStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def put(self, account_id: str, record: dict[str, Any]) -> None:
        item = {"pk": f"ACCT#{account_id}", "sk": f"WH#{record['webhook_id']}", **record}
        self._table.put(item, DataClass.ACCOUNT_DATA, None)

    def get(self, account_id: str, webhook_id: str) -> Item | None:
        return self._table.get(f"ACCT#{account_id}", f"WH#{webhook_id}")

    def of_account(self, account_id: str) -> list[Item]:
        return list(self._table.query_prefix(f"ACCT#{account_id}", "WH#"))

    def delete(self, account_id: str, webhook_id: str) -> None:
        self._table.delete({"pk": f"ACCT#{account_id}", "sk": f"WH#{webhook_id}"})

    def update(self, account_id: str, webhook_id: str, fields: dict[str, Any]) -> Item | None:
        return self._table.set_fields({"pk": f"ACCT#{account_id}", "sk": f"WH#{webhook_id}"},
                                      fields)

    def log_attempt(self, account_id: str, record: dict[str, Any], now: datetime) -> None:
        item = {"pk": f"ACCT#{account_id}",
                "sk": f"WHA#{record['webhook_id']}#{record['attempt_id']}", **record}
        self._table.put(item, DataClass.WEBHOOK_ATTEMPT, now)

    def attempts(self, account_id: str, webhook_id: str, limit: int) -> list[Item]:
        return list(self._table.query_prefix(f"ACCT#{account_id}", f"WHA#{webhook_id}#",
                                             limit=limit, forward=False))[:limit]

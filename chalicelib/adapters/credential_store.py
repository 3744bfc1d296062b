"""SMTP credential records (never the secret or the password)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, Item
from chalicelib.retention import DataClass


class DynamoCredentialStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def put(self, account_id: str, record: dict[str, Any]) -> None:
        item = {"pk": f"ACCT#{account_id}", "sk": f"SMTP#{record['credential_id']}", **record}
        self._table.put(item, DataClass.ACCOUNT_DATA, None)

    def get(self, account_id: str, credential_id: str) -> Item | None:
        return self._table.get(f"ACCT#{account_id}", f"SMTP#{credential_id}")

    def list(self, account_id: str) -> list[Item]:
        return list(self._table.query_prefix(f"ACCT#{account_id}", "SMTP#"))

    def delete(self, account_id: str, credential_id: str) -> None:
        self._table.delete({"pk": f"ACCT#{account_id}", "sk": f"SMTP#{credential_id}"})

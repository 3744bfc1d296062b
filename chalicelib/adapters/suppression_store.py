"""Suppression entries, keyed by a keyed hash of the address so an erased address can stay
suppressed without being stored."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, Item
from chalicelib.retention import DataClass


class DynamoSuppressionStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def put(self, account_id: str, record: dict[str, Any]) -> None:
        item = {"pk": f"ACCT#{account_id}", "sk": f"SUP#{record['address_hash']}", **record}
        self._table.put(item, DataClass.SUPPRESSION, None)

    def get(self, account_id: str, address_hash: str) -> Item | None:
        return self._table.get(f"ACCT#{account_id}", f"SUP#{address_hash}")

    def get_many(self, account_id: str, hashes: list[str]) -> list[Item]:
        return self._table.batch_get([{"pk": f"ACCT#{account_id}", "sk": f"SUP#{h}"}
                                      for h in dict.fromkeys(hashes)])

    def delete(self, account_id: str, address_hash: str) -> None:
        self._table.delete({"pk": f"ACCT#{account_id}", "sk": f"SUP#{address_hash}"})

    def page(self, account_id: str, limit: int, cursor: str | None
             ) -> tuple[list[Item], str | None]:
        return self._table.query_page(f"ACCT#{account_id}", "SUP#", limit, cursor, forward=True)

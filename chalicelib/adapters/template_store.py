"""Templates in the shared table."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, Item
from chalicelib.retention import DataClass


class DynamoTemplateStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def put(self, account_id: str, record: dict[str, Any]) -> None:
        item = {"pk": f"ACCT#{account_id}", "sk": f"TPL#{record['template_id']}", **record}
        self._table.put(item, DataClass.ACCOUNT_DATA, None)

    def get(self, account_id: str, template_id: str) -> Item | None:
        return self._table.get(f"ACCT#{account_id}", f"TPL#{template_id}")

    def delete(self, account_id: str, template_id: str) -> None:
        self._table.delete({"pk": f"ACCT#{account_id}", "sk": f"TPL#{template_id}"})

    def page(self, account_id: str, limit: int, cursor: str | None
             ) -> tuple[list[Item], str | None]:
        return self._table.query_page(f"ACCT#{account_id}", "TPL#", limit, cursor)

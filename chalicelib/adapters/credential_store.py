"""SMTP credential records (never the secret or the password)."""

from __future__ import annotations

import builtins
from datetime import datetime
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

    # SMTP users suspended for the rest of a day because SMTP mail spent the daily quota:
    # one mark per account under a shared key, so the schedule finds them without a scan.

    def mark_over_quota(self, account_id: str, day: str, now: datetime) -> None:
        self._table.put({"pk": "SMTPQUOTA", "sk": account_id, "day": day},
                        DataClass.RATE_COUNTER, now)

    def over_quota_day(self, account_id: str) -> str | None:
        mark = self._table.get("SMTPQUOTA", account_id, consistent=True)
        return str(mark["day"]) if mark else None

    def over_quota_marks(self) -> builtins.list[Item]:
        marks: builtins.list[Item] = []
        cursor = None
        while True:
            page, cursor = self._table.query_page("SMTPQUOTA", "", 500, cursor, forward=True)
            marks += page
            if cursor is None:
                return marks

    def clear_over_quota(self, account_id: str) -> None:
        self._table.delete({"pk": "SMTPQUOTA", "sk": account_id})

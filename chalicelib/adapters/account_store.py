"""Accounts, API keys and sending domains in the shared table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item
from chalicelib.adapters.email_listing import EmailListing
from chalicelib.clock import iso
from chalicelib.retention import DataClass


def _account_pk(account_id: str) -> str:
    return f"ACCT#{account_id}"


class DynamoAccountStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def put_account(self, account_id: str, name: str, now: datetime) -> Item:
        item = {"pk": _account_pk(account_id), "sk": "ACCOUNT", "account_id": account_id,
                "name": name, "status": "active", "created_at": iso(now)}
        self._table.put(item, DataClass.ACCOUNT_DATA, None,
                        condition="attribute_not_exists(pk)")
        EmailListing(self._table).mark_migrated(account_id)  # nothing of it is in the old index
        return item

    def get_account(self, account_id: str) -> Item | None:
        return self._table.get(_account_pk(account_id), "ACCOUNT")

    def close_account(self, account_id: str, now: datetime) -> bool:
        """Mark closed and start the account-data clock; False if it was not open."""
        key = {"pk": _account_pk(account_id), "sk": "ACCOUNT"}
        try:
            self._table.update(key, "SET #s = :closed, closed_at = :now",
                               {":closed": "closed", ":now": iso(now), ":active": "active"},
                               condition="#s = :active", names={"#s": "status"})
        except ConditionFailed:
            return False
        self._table.start_clock(key, DataClass.ACCOUNT_DATA, now)
        return True

    def update_account(self, account_id: str, fields: dict[str, Any]) -> Item | None:
        return self._table.set_fields({"pk": _account_pk(account_id), "sk": "ACCOUNT"}, fields)

    def expire_account(self, account_id: str, now: datetime) -> None:
        """A closed account asked to be erased at once: its record expires now."""
        self._table.start_clock({"pk": _account_pk(account_id), "sk": "ACCOUNT"},
                                DataClass.ACCOUNT_DATA, now, days=0)

    def pause_account(self, account_id: str, reason: str, event: dict[str, Any],
                      now: datetime) -> bool:
        """Pause sending and record why, once; False if it was already paused."""
        event_item = {"pk": _account_pk(account_id), "sk": f"ACCTEVT#{event['event_id']}",
                      "gsi2pk": f"EVENTS#{account_id}", "gsi2sk": event["event_id"], **event}
        try:
            self._table.transact([
                self._table.update_op(
                    {"pk": _account_pk(account_id), "sk": "ACCOUNT"},
                    "SET sending_paused = :t, paused_reason = :r, paused_at = :n",
                    {":t": True, ":r": reason, ":n": iso(now), ":f": False},
                    condition="attribute_exists(pk) AND (attribute_not_exists(sending_paused) "
                              "OR sending_paused = :f)"),
                self._table.put_op(event_item, DataClass.ENGAGEMENT_EVENT, now),
            ])
        except ConditionFailed:
            return False
        return True

    def resume_account(self, account_id: str) -> bool:
        try:
            self._table.update({"pk": _account_pk(account_id), "sk": "ACCOUNT"},
                               "SET sending_paused = :f REMOVE paused_reason, paused_at",
                               {":f": False}, condition="attribute_exists(pk)")
        except ConditionFailed:
            return False
        return True

    def put_key(self, record: dict[str, Any]) -> None:
        item = {"pk": f"APIKEY#{record['key_id']}", "sk": "APIKEY",
                "gsi1pk": _account_pk(record["account_id"]),
                "gsi1sk": f"APIKEY#{record['key_id']}", **record}
        self._table.put(item, DataClass.ACCOUNT_DATA, None,
                        condition="attribute_not_exists(pk)")

    def get_key(self, key_id: str) -> Item | None:
        return self._table.get(f"APIKEY#{key_id}", "APIKEY")

    def list_keys(self, account_id: str) -> list[Item]:
        return list(self._table.query_prefix(_account_pk(account_id), "APIKEY#", index="gsi1"))

    def rename_key(self, account_id: str, key_id: str, name: str) -> bool:
        """False unless the key exists, is this account's and is not revoked."""
        try:
            self._table.update({"pk": f"APIKEY#{key_id}", "sk": "APIKEY"}, "SET #n = :n",
                               {":n": name, ":a": account_id},
                               condition="attribute_exists(pk) AND account_id = :a AND "
                                         "attribute_not_exists(revoked_at)",
                               names={"#n": "name"})
        except ConditionFailed:
            return False
        return True

    def revoke_key(self, account_id: str, key_id: str, now: datetime) -> bool:
        """Revoke and start the key's clock; False if the account has no such key."""
        key = {"pk": f"APIKEY#{key_id}", "sk": "APIKEY"}
        try:
            self._table.update(key, "SET revoked_at = if_not_exists(revoked_at, :now)",
                               {":now": iso(now), ":account": account_id},
                               condition="attribute_exists(pk) AND account_id = :account")
        except ConditionFailed:
            return False
        self._table.start_clock(key, DataClass.ACCOUNT_DATA, now)
        return True

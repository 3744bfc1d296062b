"""Sending domains: the record under its name (the send path's lookup), a pointer under its
id (the API's), and, once verified, a global claim so one domain belongs to one account.

A pending domain claims nothing outside its account and expires after 7 days (retention
class ``pending_domain``); verification claims the name and makes it account data."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item, to_wire
from chalicelib.errors import Conflict, NotFound
from chalicelib.retention import DataClass


def _pk(account_id: str) -> str:
    return f"ACCT#{account_id}"


class DynamoDomainStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def create(self, account_id: str, record: dict[str, Any], now: datetime) -> None:
        name, domain_id = record["name"], record["domain_id"]
        pending = DataClass.PENDING_DOMAIN
        try:
            self._table.transact([
                self._table.put_op({"pk": _pk(account_id), "sk": f"DOMAIN#{name}", **record},
                                   pending, now, condition="attribute_not_exists(pk)"),
                self._table.put_op({"pk": _pk(account_id), "sk": f"DOMID#{domain_id}",
                                    "name": name}, pending, now),
            ])
        except ConditionFailed as err:
            raise Conflict(f"you have already added {name}",
                           details=[{"field": "name"}]) from err

    def claim(self, account_id: str, record: dict[str, Any]) -> bool:
        """Verified: take the name for this account (False if another account holds it) and
        keep the domain as account data (its pending expiry removed)."""
        name, domain_id = record["name"], record["domain_id"]
        unexpire = "REMOVE expires_at, expiry_bucket, clock_at SET retention_class = :c"
        keep = {":c": DataClass.ACCOUNT_DATA.value}
        try:
            claim = self._table.put_op({"pk": f"DOMAINNAME#{name}", "sk": "CLAIM",
                                        "account_id": account_id, "domain_id": domain_id},
                                       DataClass.ACCOUNT_DATA, None,
                                       condition="attribute_not_exists(pk) OR account_id = :me")
            claim["Put"]["ExpressionAttributeValues"] = to_wire({":me": account_id})
            self._table.transact([
                claim,
                self._table.update_op({"pk": _pk(account_id), "sk": f"DOMAIN#{name}"},
                                      unexpire, keep),
                self._table.update_op({"pk": _pk(account_id), "sk": f"DOMID#{domain_id}"},
                                      unexpire, keep),
            ])
        except ConditionFailed as err:
            if 0 in err.failed:
                return False
            raise
        return True

    def verified_owner(self, name: str) -> str | None:
        """The account that holds ``name`` verified, if one does."""
        claim = self._table.get(f"DOMAINNAME#{name}", "CLAIM")
        if claim is None:
            return None
        record = self.get_by_name(str(claim["account_id"]), name)
        return str(claim["account_id"]) if record and record["status"] == "verified" else None

    def get_by_name(self, account_id: str, name: str) -> Item | None:
        return self._table.get(_pk(account_id), f"DOMAIN#{name}")

    def get_by_id(self, account_id: str, domain_id: str) -> Item | None:
        pointer = self._table.get(_pk(account_id), f"DOMID#{domain_id}")
        return self.get_by_name(account_id, pointer["name"]) if pointer else None

    def page(self, account_id: str, limit: int, cursor: str | None
             ) -> tuple[list[Item], str | None]:
        return self._table.query_page(_pk(account_id), "DOMAIN#", limit, cursor, forward=True)

    def names(self, account_id: str, verified_only: bool = True) -> list[str]:
        return [d["name"] for d in self._table.query_prefix(_pk(account_id), "DOMAIN#")
                if d["status"] == "verified" or not verified_only]

    def update(self, account_id: str, name: str, fields: dict[str, Any]) -> Item:
        updated = self._table.set_fields({"pk": _pk(account_id), "sk": f"DOMAIN#{name}"}, fields)
        if updated is None:
            raise NotFound(f"no domain {name}")
        return updated

    def start_closure_clock(self, account_id: str, now: datetime) -> None:
        """The account closed: its domains, pointers and claims expire with its data."""
        for record in self._table.query_prefix(_pk(account_id), "DOMAIN#"):
            if record["status"] != "verified":
                continue  # pending: it expires on its own clock, and holds no claim
            for key in ({"pk": _pk(account_id), "sk": f"DOMAIN#{record['name']}"},
                        {"pk": _pk(account_id), "sk": f"DOMID#{record['domain_id']}"},
                        {"pk": f"DOMAINNAME#{record['name']}", "sk": "CLAIM"}):
                self._table.start_clock(key, DataClass.ACCOUNT_DATA, now)

    def delete(self, account_id: str, record: Item) -> None:
        self._table.transact([
            {"Delete": {"TableName": self._table.name, "Key": key}} for key in (
                {"pk": {"S": _pk(account_id)}, "sk": {"S": f"DOMAIN#{record['name']}"}},
                {"pk": {"S": _pk(account_id)}, "sk": {"S": f"DOMID#{record['domain_id']}"}},
            )
        ])
        # The claim only if it is this account's (another's, or none while pending: kept).
        with contextlib.suppress(ConditionFailed):
            self._table.delete_where({"pk": f"DOMAINNAME#{record['name']}", "sk": "CLAIM"},
                                     "account_id = :me", {":me": account_id})

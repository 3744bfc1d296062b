"""The purge's view of the shared table: expired keys by day, checkpoints, retention-change
jobs and whole-account partitions. Every read here is a query on a key or an index; nothing
scans the table."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item, Key, to_wire
from chalicelib.adapters.email_listing import EmailListing
from chalicelib.adapters.message_keys import (account_partitions, event_listing,
                                              is_own_partition)
from chalicelib.retention import DataClass, expiry_bucket, expiry_buckets

SYSTEM = "SYSTEM"


class DynamoPurgeStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self._listing = EmailListing(table)

    def expired_keys(self, bucket: str, now: int, page: int) -> Iterator[list[Key]]:
        """Keys in one day of the sparse ``by_expiry`` index (each of its shards, and the
        unsharded day of items written before) whose expiry has passed, ``page`` at a time
        (the caller deletes each page before the next is read)."""
        for shard in expiry_buckets(bucket):
            request: dict[str, Any] = {
                "TableName": self.table.name, "IndexName": "by_expiry",
                "KeyConditionExpression": "expiry_bucket = :b AND expires_at <= :now",
                "ExpressionAttributeValues": to_wire({":b": shard, ":now": now}),
                "ProjectionExpression": "pk, sk", "Limit": page,
            }
            while True:
                items, last = self.table.raw_page(request)
                if items:
                    yield [{"pk": item["pk"], "sk": item["sk"]} for item in items]
                if last is None:
                    break
                request["ExclusiveStartKey"] = last

    def delete_keys(self, keys: list[Key]) -> int:
        return self.table.delete_keys(keys)

    def get_checkpoint(self, name: str) -> str | None:
        item = self.table.get(SYSTEM, f"CHECKPOINT#{name}", consistent=True)
        return str(item["value"]) if item else None

    def set_checkpoint(self, name: str, value: str) -> None:
        self.table.put({"pk": SYSTEM, "sk": f"CHECKPOINT#{name}", "value": value},
                       DataClass.OPERATIONAL, None)

    # Retention changes: one job per account, restarted by every change.

    def put_retention_job(self, account_id: str, days: int, version: str,
                          not_before: int) -> None:
        self.table.put({"pk": SYSTEM, "sk": f"RETENTION#{account_id}", "account_id": account_id,
                        "days": days, "version": version, "not_before": not_before},
                       DataClass.OPERATIONAL, None)

    def retention_jobs(self) -> list[Item]:
        return list(self.table.query_prefix(SYSTEM, "RETENTION#"))

    def advance_job(self, job: Item, cursor: str | None) -> bool:
        """Record progress (or finish, when ``cursor`` is None) unless a newer change
        replaced the job; False if it did."""
        key = {"pk": SYSTEM, "sk": f"RETENTION#{job['account_id']}"}
        try:
            if cursor is None:
                self.table.delete_where(key, "version = :v", {":v": job["version"]})
            else:
                self.table.update(key, "SET #c = :c", {":c": cursor, ":v": job["version"]},
                                  condition="version = :v", names={"#c": "cursor"})
        except ConditionFailed:
            return False
        return True

    def events_page(self, account_id: str, cursor: str | None, limit: int
                    ) -> tuple[list[Item], str | None]:
        """One page of an account's events (the ``gsi2`` listing), oldest first."""
        return self.table.merged_index_page(event_listing(account_id), f"EVENTS#{account_id}",
                                            "0", "~", limit, cursor, forward=True)

    def set_expiry(self, key: Key, expires_at: int) -> bool:
        """A new expiry for an item that still exists (an erased one is never recreated)."""
        try:
            self.table.update(key, "SET expires_at = :e, expiry_bucket = :b",
                              {":e": expires_at, ":b": expiry_bucket(expires_at, key)},
                              condition="attribute_exists(pk)")
        except ConditionFailed:
            return False
        return True

    # Whole accounts, after closure.

    def partition_keys(self, pk: str, limit: int) -> list[Key]:
        """The first ``limit`` keys of one partition."""
        request: dict[str, Any] = {
            "TableName": self.table.name, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_wire({":pk": pk}),
            "ProjectionExpression": "pk, sk", "Limit": limit,
        }
        return [{"pk": i["pk"], "sk": i["sk"]} for i in self.table.one_page(request)]

    def account_partitions(self, account_id: str) -> list[str]:
        """The partitions besides ``ACCT#<id>`` that hold the account's data."""
        return account_partitions(account_id)[1:]

    def message_partitions_page(self, account_id: str, cursor: str | None, limit: int
                                ) -> tuple[list[str], str | None]:
        """The own partitions of a page of the account's messages (its ``EMAILS`` listing)."""
        page, following = self._listing.page(account_id, "0", "~", limit, cursor,
                                             forward=True)
        return [str(i["pk"]) for i in page if is_own_partition(str(i["pk"]))], following

    def api_key_keys(self, gsi1pk: str) -> list[Key]:
        """Keys of the API keys listed under an account's ``gsi1`` partition."""
        return [{"pk": i["pk"], "sk": i["sk"]}
                for i in self.table.query_prefix(gsi1pk, "APIKEY#", index="gsi1")]

    def release_claim(self, name: str, account_id: str) -> None:
        """Let a domain name be registered again, if this account still holds it."""
        with contextlib.suppress(ConditionFailed):
            self.table.delete_where({"pk": f"DOMAINNAME#{name}", "sk": "CLAIM"},
                                    "account_id = :a", {":a": account_id})

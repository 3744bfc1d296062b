"""DynamoDB: the one table every store shares, with retention applied on every write.

Items are addressed by ``pk``/``sk``. Every write names a retention data class; the table
then carries ``retention_class``, ``clock_at`` (when the class's clock started),
``expires_at`` (the TTL attribute) and ``expiry_bucket`` (the partition of the sparse
``by_expiry`` index that the purge queries).

Wire conversion and error mapping live in ``dynamo_wire``, paged queries in
``dynamo_pages`` and batch requests in ``dynamo_batches``; their names that other modules
use are importable from here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.dynamo_batches import BatchOperations
from chalicelib.adapters.dynamo_pages import PagedQueries
from chalicelib.adapters.dynamo_wire import (ConditionFailed, IndexKey, Item, Key, from_wire,
                                             raise_for, to_wire)
from chalicelib.retention import DataClass, expiry_bucket, expiry_for

__all__ = ["TRANSACT_ATTEMPTS", "ConditionFailed", "DynamoTable", "IndexKey", "Item", "Key",
           "from_wire", "to_wire", "with_retention"]

# A counter's expiry is set by its first count: rewriting it on every count would move its
# purge index entry each time (a replica write per count, on a stack-wide index).
_FIRST_STAMP = ("expires_at = if_not_exists(expires_at, :e), "
                "expiry_bucket = if_not_exists(expiry_bucket, :b), "
                "clock_at = if_not_exists(clock_at, :c)")
# A cancelled transaction wrote nothing, so running it again is safe; botocore does not.
TRANSACT_ATTEMPTS = 4


def with_retention(item: Item, data_class: DataClass, clock_start: datetime | None,
                   days: int | None = None) -> Item:
    """The item stamped with its data class and the expiry that class gives it."""
    expires_at = expiry_for(data_class, clock_start, days)
    stamped = dict(item, retention_class=data_class.value)
    if clock_start is not None:
        stamped["clock_at"] = int(clock_start.timestamp())
    if expires_at is not None:
        stamped["expires_at"] = expires_at
        stamped["expiry_bucket"] = expiry_bucket(expires_at, item)
    return stamped


def _conflicted(err: ClientError) -> bool:
    """A transaction cancelled only because another one touched the same item."""
    reasons = err.response.get("CancellationReasons", [])
    codes = {r.get("Code") for r in reasons} - {"None", None}
    return (err.response.get("Error", {}).get("Code") == "TransactionCanceledException"
            and bool(codes) and codes <= {"TransactionConflict"})


class DynamoTable(PagedQueries, BatchOperations):
    """The shared table. Writes demand a data class, so no item can miss its expiry."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.name = table_name

    def put(self, item: Item, data_class: DataClass, clock_start: datetime | None,
            condition: str | None = None, days: int | None = None) -> None:
        request: dict[str, Any] = {
            "TableName": self.name,
            "Item": to_wire(with_retention(item, data_class, clock_start, days)),
        }
        if condition:
            request["ConditionExpression"] = condition
        try:
            self._client.put_item(**request)
        except (ClientError, BotoCoreError) as err:
            raise_for(err)

    def put_op(self, item: Item, data_class: DataClass, clock_start: datetime | None,
               condition: str | None = None, days: int | None = None) -> dict[str, Any]:
        """A ``Put`` for ``transact``."""
        put: dict[str, Any] = {
            "TableName": self.name,
            "Item": to_wire(with_retention(item, data_class, clock_start, days)),
        }
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def update_op(self, key: Key, expression: str, values: Mapping[str, Any],
                  condition: str | None = None,
                  names: Mapping[str, str] | None = None) -> dict[str, Any]:
        """An ``Update`` for ``transact``; ``update`` runs one on its own."""
        update: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_wire(key),
            "UpdateExpression": expression,
        }
        if values:
            update["ExpressionAttributeValues"] = to_wire(values)
        if names:
            update["ExpressionAttributeNames"] = dict(names)
        if condition:
            update["ConditionExpression"] = condition
        return {"Update": update}

    def condition_op(self, key: Key, condition: str) -> dict[str, Any]:
        """A ``ConditionCheck`` for ``transact``: the write happens only if this holds."""
        return {"ConditionCheck": {"TableName": self.name, "Key": to_wire(key),
                                   "ConditionExpression": condition}}

    def update(self, key: Key, expression: str, values: Mapping[str, Any],
               condition: str | None = None,
               names: Mapping[str, str] | None = None) -> Item:
        request = self.update_op(key, expression, values, condition, names)["Update"]
        try:
            response = self._client.update_item(ReturnValues="ALL_NEW", **request)
        except (ClientError, BotoCoreError) as err:
            raise_for(err)
        return from_wire(response.get("Attributes", {}))

    def set_fields(self, key: Key, fields: Mapping[str, Any]) -> Item | None:
        """SET the given attributes (REMOVE those given as None) on an existing item; None
        if there is no such item."""
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": v for i, v in enumerate(fields.values()) if v is not None}
        sets = [f"#f{i} = :v{i}" for i, v in enumerate(fields.values()) if v is not None]
        removes = [f"#f{i}" for i, v in enumerate(fields.values()) if v is None]
        expression = " ".join(part for part in (
            "SET " + ", ".join(sets) if sets else "",
            "REMOVE " + ", ".join(removes) if removes else "") if part)
        try:
            return self.update(key, expression, values, condition="attribute_exists(pk)",
                               names=names)
        except ConditionFailed:
            return None

    def transact(self, operations: list[dict[str, Any]]) -> None:
        """All or nothing; a ``TransactionConflict`` is retried here with a jittered backoff
        (only per-message items go in transactions, so conflicts are short-lived)."""
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=operations)
                return
            except ClientError as err:
                if not _conflicted(err) or attempt == TRANSACT_ATTEMPTS - 1:
                    raise_for(err)
            except BotoCoreError as err:
                raise_for(err)
            time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)

    def get(self, pk: str, sk: str, consistent: bool = False) -> Item | None:
        try:
            response = self._client.get_item(
                TableName=self.name, Key=to_wire({"pk": pk, "sk": sk}),
                ConsistentRead=consistent)
        except (ClientError, BotoCoreError) as err:
            raise_for(err)
        item = response.get("Item")
        return from_wire(item) if item else None

    def query_prefix(self, pk: str, sk_prefix: str, limit: int | None = None,
                     forward: bool = True, index: str | None = None) -> Iterator[Item]:
        """Items under ``pk`` whose sort key starts with ``sk_prefix``, every page."""
        return self._query("begins_with(#sk, :v)", pk, sk_prefix, limit, forward, index)

    def query_until(self, pk: str, upper: str, index: str | None = None) -> Iterator[Item]:
        """Items under ``pk`` whose sort key is at most ``upper``, every page."""
        return self._query("#sk <= :v", pk, upper, None, True, index)

    def query_between(self, pk: str, low: str, high: str) -> list[Item]:
        """Items under ``pk`` with ``low <= sk <= high``, every page."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": to_wire({":pk": pk, ":low": low, ":high": high}),
        }
        return list(self.pages(request))

    def one_page(self, request: dict[str, Any]) -> list[Item]:
        """The items of a single query page (``request`` as boto3 takes it)."""
        try:
            response = self._client.query(**request)
        except (ClientError, BotoCoreError) as err:
            raise_for(err)
        return [from_wire(item) for item in response.get("Items", [])]

    def pages(self, request: dict[str, Any]) -> Iterator[Item]:
        """Every item a query (``request`` as boto3 takes it) matches, page after page."""
        while True:
            try:
                response = self._client.query(**request)
            except (ClientError, BotoCoreError) as err:
                raise_for(err)
            yield from (from_wire(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _query(self, condition: str, pk: str, value: str, limit: int | None, forward: bool,
               index: str | None) -> Iterator[Item]:
        pk_name, sk_name = ("gsi1pk", "gsi1sk") if index == "gsi1" else ("pk", "sk")
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": f"#pk = :pk AND {condition}",
            "ExpressionAttributeNames": {"#pk": pk_name, "#sk": sk_name},
            "ExpressionAttributeValues": to_wire({":pk": pk, ":v": value}),
            "ScanIndexForward": forward,
        }
        if index:
            request["IndexName"] = index
        if limit:
            request["Limit"] = limit
        return self.pages(request)


    def add_counts(self, key: Key, counts: Mapping[str, int], data_class: DataClass,
                   clock_start: datetime, condition: str | None = None,
                   values: Mapping[str, Any] | None = None) -> Item:
        """ADD to counters in one UpdateItem, never in a transaction (concurrent ADDs to one
        item queue up instead of cancelling each other), stamped with the class's expiry
        from the first count (later ones leave the purge index entry alone)."""
        expires_at = expiry_for(data_class, clock_start) or 0
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        wire: dict[str, Any] = {f":c{i}": n for i, n in enumerate(counts.values())}
        wire.update({":class": data_class.value, ":e": expires_at,
                     ":b": expiry_bucket(expires_at, key),
                     ":c": int(clock_start.timestamp()), **(values or {})})
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        return self.update(key, f"ADD {adds} SET retention_class = :class, {_FIRST_STAMP}",
                           wire, condition=condition, names=names)

    def start_clock(self, key: Key, data_class: DataClass, clock_start: datetime,
                    days: int | None = None) -> None:
        """Give a deferred-clock item (closed account, delivered letter) its expiry now."""
        expires_at = expiry_for(data_class, clock_start, days)
        if expires_at is None:
            return
        self.update(key, "SET clock_at = :c, expires_at = :e, expiry_bucket = :b",
                    {":c": int(clock_start.timestamp()), ":e": expires_at,
                     ":b": expiry_bucket(expires_at, key)})

    def put_many(self, entries: list[tuple[Item, DataClass, datetime | None]],
                 days: Mapping[DataClass, int] | None = None) -> None:
        """Unconditional puts, 25 to a request (DynamoDB's limit; moto does not enforce it).
        ``days`` overrides a class's default period (an account's own retention)."""
        self.batch_write([
            {"PutRequest": {"Item": to_wire(with_retention(
                item, data_class, clock, (days or {}).get(data_class)))}}
            for item, data_class, clock in entries])

    def increment(self, pk: str, sk: str, by: int, ceiling: int | None,
                  clock_start: datetime) -> int | None:
        """Atomically add ``by`` to a counter; None if that would pass ``ceiling``."""
        expires_at = expiry_for(DataClass.RATE_COUNTER, clock_start) or 0
        values: dict[str, Any] = {":by": by, ":class": DataClass.RATE_COUNTER.value,
                                  ":e": expires_at,
                                  ":b": expiry_bucket(expires_at, {"pk": pk, "sk": sk}),
                                  ":c": int(clock_start.timestamp())}
        condition = None
        if ceiling is not None:
            if by > ceiling:  # even an empty counter has no room for it
                return None
            condition = "attribute_not_exists(used) OR used <= :room"
            values[":room"] = ceiling - by
        try:
            item = self.update({"pk": pk, "sk": sk},
                               f"ADD used :by SET retention_class = :class, {_FIRST_STAMP}",
                               values, condition=condition)
        except ConditionFailed:
            return None
        return int(item["used"])

    def delete(self, key: Key) -> None:
        try:
            self._client.delete_item(TableName=self.name, Key=to_wire(key))
        except (ClientError, BotoCoreError) as err:
            raise_for(err)

    def delete_where(self, key: Key, condition: str, values: Mapping[str, Any]) -> None:
        """Delete only if ``condition`` holds; ``ConditionFailed`` if it does not."""
        try:
            self._client.delete_item(TableName=self.name, Key=to_wire(key),
                                     ConditionExpression=condition,
                                     ExpressionAttributeValues=to_wire(values))
        except (ClientError, BotoCoreError) as err:
            raise_for(err)

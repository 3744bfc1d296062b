"""DynamoDB: the one table every store shares, with retention applied on every write.

Items are addressed by ``pk``/``sk``. Every write names a retention data class; the table
then carries ``retention_class``, ``clock_at`` (when the class's clock started),
``expires_at`` (the TTL attribute) and ``expiry_bucket`` (the partition of the sparse
``by_expiry`` index that the purge queries).
"""

from __future__ import annotations

import base64
import json
import random
import time
from decimal import Decimal
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import PayloadTooLarge, RetryableFailure, ValidationFailed
from chalicelib.retention import DataClass, expiry_bucket, expiry_for

Item = dict[str, Any]
Key = dict[str, str]
IndexKey = tuple[str, str]  # (index name, partition key in it)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException",
              "RequestLimitExceeded", "InternalServerError", "TransactionConflictException",
              "ServiceUnavailable", "InternalFailure", "TransactionInProgressException",
              "LimitExceededException"}
# A counter's expiry is set by its first count: rewriting it on every count would move its
# purge index entry each time (a replica write per count, on a stack-wide index).
_FIRST_STAMP = ("expires_at = if_not_exists(expires_at, :e), "
                "expiry_bucket = if_not_exists(expiry_bucket, :b), "
                "clock_at = if_not_exists(clock_at, :c)")
# A cancelled transaction wrote nothing, so running it again is safe; botocore does not.
TRANSACT_ATTEMPTS = 4


class ConditionFailed(Exception):
    """The write's condition did not hold (the item changed, or was not there).

    For a transaction, ``failed`` holds the indexes of the operations whose condition failed.
    """

    def __init__(self, code: str, failed: tuple[int, ...] = ()) -> None:
        super().__init__(code)
        self.failed = failed


def _to_dynamo(value: Any) -> Any:
    """DynamoDB numbers are Decimals; floats go in through their shortest repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    """And come back as int or float, so nothing above the adapter sees a Decimal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


def to_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in item.items() if v is not None}


def from_wire(item: Mapping[str, Any]) -> Item:
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


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


def _raise_for(err: ClientError | BotoCoreError) -> None:
    """Our errors for DynamoDB's: a failed condition, or "try again" for throttling,
    conflicts, timeouts and 5xx (the API answers 503 + Retry-After, a queue record retries).
    """
    if isinstance(err, BotoCoreError):  # timeouts, refused connections: nothing answered
        raise RetryableFailure(f"dynamodb unreachable: {type(err).__name__}") from err
    code = err.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        raise ConditionFailed(code) from err
    if code == "TransactionCanceledException":
        reasons = err.response.get("CancellationReasons", [])
        failed = tuple(i for i, r in enumerate(reasons)
                       if r.get("Code") == "ConditionalCheckFailed")
        if failed:
            raise ConditionFailed(code, failed) from err
    message = str(err.response.get("Error", {}).get("Message", ""))
    if code == "ValidationException" and "exceeded the maximum allowed size" in message:
        # DynamoDB's 400 KB item limit: the caller's data is too big, not our bug
        raise PayloadTooLarge("the item is larger than storage allows (400 KB)") from err
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in _RETRYABLE or code == "TransactionCanceledException" or status >= 500:
        raise RetryableFailure(f"dynamodb {code}") from err
    raise err


def _conflicted(err: ClientError) -> bool:
    """A transaction cancelled only because another one touched the same item."""
    reasons = err.response.get("CancellationReasons", [])
    codes = {r.get("Code") for r in reasons} - {"None", None}
    return (err.response.get("Error", {}).get("Code") == "TransactionCanceledException"
            and bool(codes) and codes <= {"TransactionConflict"})


def _encode_cursor(key: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, partition: str, pk: str, sk_name: str,
                   sk_prefix: str) -> dict[str, str]:
    """A cursor only ever continues the listing it came from: never another account's.
    It must name exactly the key attributes of that listing (table or index), each a
    non-empty string, or DynamoDB would refuse the start key."""
    # Table and index cursors carry the table's key too; a merged listing's carries its own.
    expected = {partition, sk_name} | ({"pk", "sk"} if partition.startswith("gsi") else set())
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        valid = (isinstance(key, dict) and key.get(partition) == pk and set(key) == expected
                 and all(isinstance(v, str) and v for v in key.values())
                 and str(key[sk_name]).startswith(sk_prefix))
    except (ValueError, TypeError, RecursionError):
        valid = False
    if not valid:
        raise ValidationFailed("cursor is not valid for this listing",
                               details=[{"field": "cursor", "message": "invalid cursor"}])
    return dict(key)


class DynamoTable:
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
            _raise_for(err)

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
            _raise_for(err)
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
                    _raise_for(err)
            except BotoCoreError as err:
                _raise_for(err)
            time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)

    def get(self, pk: str, sk: str, consistent: bool = False) -> Item | None:
        try:
            response = self._client.get_item(
                TableName=self.name, Key=to_wire({"pk": pk, "sk": sk}),
                ConsistentRead=consistent)
        except (ClientError, BotoCoreError) as err:
            _raise_for(err)
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
            _raise_for(err)
        return [from_wire(item) for item in response.get("Items", [])]

    def raw_page(self, request: dict[str, Any]) -> tuple[list[Item], Any]:
        """One query page and its ``LastEvaluatedKey`` as DynamoDB gave it (or None)."""
        try:
            response = self._client.query(**request)
        except (ClientError, BotoCoreError) as err:
            _raise_for(err)
        return ([from_wire(item) for item in response.get("Items", [])],
                response.get("LastEvaluatedKey"))

    def pages(self, request: dict[str, Any]) -> Iterator[Item]:
        """Every item a query (``request`` as boto3 takes it) matches, page after page."""
        while True:
            try:
                response = self._client.query(**request)
            except (ClientError, BotoCoreError) as err:
                _raise_for(err)
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

    def query_page(self, pk: str, sk_prefix: str, limit: int, cursor: str | None,
                   forward: bool = False) -> tuple[list[Item], str | None]:
        """One page (newest first by default) and the opaque cursor of the next, if any;
        an empty ``sk_prefix`` pages through the whole partition."""
        values = {":pk": pk, ":prefix": sk_prefix} if sk_prefix else {":pk": pk}
        request: dict[str, Any] = {
            "TableName": self.name, "Limit": limit, "ScanIndexForward": forward,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)" if sk_prefix
                                      else "pk = :pk",
            "ExpressionAttributeValues": to_wire(values),
        }
        if cursor:
            request["ExclusiveStartKey"] = to_wire(_decode_cursor(cursor, "pk", pk, "sk",
                                                                  sk_prefix))
        try:
            response = self._client.query(**request)
        except (ClientError, BotoCoreError) as err:
            _raise_for(err)
        items = [from_wire(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return items, (_encode_cursor(from_wire(last)) if last else None)

    def _index_request(self, index: str, pk: str, low: str, high: str, limit: int,
                       filters: Mapping[str, tuple[str, Any]] | None,
                       forward: bool) -> dict[str, Any]:
        """A query of a listing index (``gsi2``, ``gsi4``: keys ``<index>pk``/``<index>sk``)
        between two sort keys, with attribute filters."""
        names = {"#pk": f"{index}pk", "#sk": f"{index}sk"}
        values: dict[str, Any] = {":pk": pk, ":low": low, ":high": high}
        clauses = []
        for position, (attribute, (operator, value)) in enumerate((filters or {}).items()):
            names[f"#f{position}"] = attribute
            values[f":f{position}"] = value
            clauses.append(f"contains(#f{position}, :f{position})" if operator == "contains"
                           else f"#f{position} = :f{position}")
        request: dict[str, Any] = {
            "TableName": self.name, "IndexName": index, "Limit": limit,
            "ScanIndexForward": forward,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": to_wire(values),
        }
        if clauses:
            request["FilterExpression"] = " AND ".join(clauses)
        return request

    def index_page(self, pk: str, low: str, high: str, limit: int, cursor: str | None,
                   filters: Mapping[str, tuple[str, Any]] | None = None,
                   forward: bool = False) -> tuple[list[Item], str | None]:
        """One page of ``gsi2`` (newest first unless ``forward``) between two sort keys, with
        attribute filters
        (``{"status": ("=", "sent"), "recipients": ("contains", "a@x")}``)."""
        request = self._index_request("gsi2", pk, low, high, limit, filters, forward)
        if cursor:
            request["ExclusiveStartKey"] = to_wire(_decode_cursor(cursor, "gsi2pk", pk,
                                                                  "gsi2sk", ""))
        try:
            response = self._client.query(**request)
        except (ClientError, BotoCoreError) as err:
            _raise_for(err)
        last = response.get("LastEvaluatedKey")
        return ([from_wire(i) for i in response.get("Items", [])],
                _encode_cursor(from_wire(last)) if last else None)

    def merged_index_page(self, sources: list[IndexKey], anchor: str, low: str, high: str,
                          limit: int, cursor: str | None,
                          filters: Mapping[str, tuple[str, Any]] | None = None,
                          forward: bool = False) -> tuple[list[Item], str | None]:
        """One page of a listing spread over several index partitions (shards, and an older
        index while items move to a newer one), merged by sort key, newest first unless
        ``forward``. Sort keys are unique ids, so the cursor is the last one returned, bound
        to ``anchor`` (the listing's own name, which names its account); a page is complete
        up to the furthest point every source was read to, and may be short (with
        ``has_more``) when a filter leaves sources sparse."""
        after = None
        if cursor:
            after = _decode_cursor(cursor, "l", anchor, "after", "")["after"]
            low, high = (after, high) if forward else (low, after)
        merged: list[tuple[str, Item]] = []
        bound: str | None = None  # every source has been read at least this far
        for index, pk in sources:
            items, last = self._index_query(index, pk, low, high, limit + 1, filters, forward)
            merged += [(str(i[f"{index}sk"]), i) for i in items if i[f"{index}sk"] != after]
            if last is not None:
                bound = last if bound is None else (min(bound, last) if forward
                                                    else max(bound, last))
        merged.sort(key=lambda entry: entry[0], reverse=not forward)
        if bound is not None:
            merged = [e for e in merged if (e[0] <= bound if forward else e[0] >= bound)]
        following = merged[limit - 1][0] if len(merged) > limit else bound
        next_cursor = (_encode_cursor({"l": anchor, "after": following})
                       if following is not None else None)
        return [item for _, item in merged[:limit]], next_cursor

    def _index_query(self, index: str, pk: str, low: str, high: str, limit: int,
                     filters: Mapping[str, tuple[str, Any]] | None,
                     forward: bool) -> tuple[list[Item], str | None]:
        request = self._index_request(index, pk, low, high, limit, filters, forward)
        try:
            response = self._client.query(**request)
        except (ClientError, BotoCoreError) as err:
            _raise_for(err)
        last = response.get("LastEvaluatedKey")
        return ([from_wire(i) for i in response.get("Items", [])],
                str(from_wire(last)[f"{index}sk"]) if last else None)

    def batch_write(self, requests: list[dict[str, Any]]) -> None:
        """25 requests at a time (DynamoDB's limit; moto does not enforce it), retrying what
        DynamoDB leaves unprocessed."""
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.name: requests[start:start + 25]}
            for _ in range(5):
                try:
                    response = self._client.batch_write_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as err:
                    _raise_for(err)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:
                raise RetryableFailure("dynamodb left writes unprocessed")

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
                _raise_for(err)
            found.extend(from_wire(i) for i in response.get("Responses", {}).get(self.name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
        raise RetryableFailure("dynamodb left reads unprocessed")

    def put_many(self, entries: list[tuple[Item, DataClass, datetime | None]],
                 days: Mapping[DataClass, int] | None = None) -> None:
        """Unconditional puts, 25 to a request (DynamoDB's limit; moto does not enforce it).
        ``days`` overrides a class's default period (an account's own retention)."""
        self.batch_write([
            {"PutRequest": {"Item": to_wire(with_retention(
                item, data_class, clock, (days or {}).get(data_class)))}}
            for item, data_class, clock in entries])

    def delete_keys(self, keys: list[Key]) -> int:
        """Delete in chunks of 25 (DynamoDB's batch limit), retrying what comes back."""
        self.batch_write([{"DeleteRequest": {"Key": to_wire(k)}} for k in keys])
        return len(keys)

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
            _raise_for(err)

    def delete_where(self, key: Key, condition: str, values: Mapping[str, Any]) -> None:
        """Delete only if ``condition`` holds; ``ConditionFailed`` if it does not."""
        try:
            self._client.delete_item(TableName=self.name, Key=to_wire(key),
                                     ConditionExpression=condition,
                                     ExpressionAttributeValues=to_wire(values))
        except (ClientError, BotoCoreError) as err:
            _raise_for(err)

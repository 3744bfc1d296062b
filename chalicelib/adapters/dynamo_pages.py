"""Paged reads of the shared table, one page at a time with an opaque cursor that only
continues the listing it came from: a partition of the table, a listing index (``gsi2``),
or a listing merged over several index partitions. ``DynamoTable`` inherits them."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.dynamo_wire import IndexKey, Item, from_wire, raise_for, to_wire
from chalicelib.errors import ValidationFailed


def encode_cursor(key: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, partition: str, pk: str, sk_name: str,
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


class PagedQueries:
    """``DynamoTable``'s paged queries (its client and table name are set there)."""

    _client: Any
    name: str

    def raw_page(self, request: dict[str, Any]) -> tuple[list[Item], Any]:
        """One query page and its ``LastEvaluatedKey`` as DynamoDB gave it (or None)."""
        try:
            response = self._client.query(**request)
        except (ClientError, BotoCoreError) as err:
            raise_for(err)
        return ([from_wire(item) for item in response.get("Items", [])],
                response.get("LastEvaluatedKey"))

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
            request["ExclusiveStartKey"] = to_wire(decode_cursor(cursor, "pk", pk, "sk",
                                                                 sk_prefix))
        items, last = self.raw_page(request)
        return items, (encode_cursor(from_wire(last)) if last else None)

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
            request["ExclusiveStartKey"] = to_wire(decode_cursor(cursor, "gsi2pk", pk,
                                                                 "gsi2sk", ""))
        items, last = self.raw_page(request)
        return items, (encode_cursor(from_wire(last)) if last else None)

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
            after = decode_cursor(cursor, "l", anchor, "after", "")["after"]
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
        next_cursor = (encode_cursor({"l": anchor, "after": following})
                       if following is not None else None)
        return [item for _, item in merged[:limit]], next_cursor

    def _index_query(self, index: str, pk: str, low: str, high: str, limit: int,
                     filters: Mapping[str, tuple[str, Any]] | None,
                     forward: bool) -> tuple[list[Item], str | None]:
        items, last = self.raw_page(self._index_request(index, pk, low, high, limit, filters,
                                                          forward))
        return items, (str(from_wire(last)[f"{index}sk"]) if last else None)

"""Which index entries a DynamoDB write touches, read from the table's definition in
``infra/resources.yaml``: what DynamoDB bills as replica writes, and which index partitions
a request path writes (the benchmark's cost model and the hot-key tests both use it).

A put writes an entry in every index whose partition key the item has. An update rewrites
an item's entry in an index when it changes that index's key or an attribute the index
projects (every attribute, for ``ALL``); so an index projecting a few fields is not
touched by updates of the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from letterbox.local.provision import load_template


@dataclass(frozen=True)
class TableIndex:
    name: str
    keys: tuple[str, ...]  # partition key first
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    projected: frozenset[str]

    def rewritten_by(self, attributes: set[str]) -> bool:
        """Whether changing these attributes of an item in the index rewrites its entry."""
        if self.projection == "ALL":
            return bool(attributes)
        return bool(attributes & (set(self.keys) | self.projected))


@cache
def table_indexes(resource: str = "MainTable") -> tuple[TableIndex, ...]:
    properties = load_template()["Resources"][resource]["Properties"]
    return tuple(TableIndex(name=index["IndexName"],
                       keys=tuple(k["AttributeName"] for k in index["KeySchema"]),
                       projection=index["Projection"]["ProjectionType"],
                       projected=frozenset(index["Projection"].get("NonKeyAttributes", ())))
            for index in properties.get("GlobalSecondaryIndexes", []))


_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)


def _top_level_parts(text: str) -> list[str]:
    """Comma-separated parts, not splitting inside a function's parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def updated_attributes(expression: str, names: dict[str, str] | None = None) -> set[str]:
    """The top-level attributes an ``UpdateExpression`` changes, names resolved. ``SET a =
    if_not_exists(a, …)`` changes nothing on an item that exists (the steady state here:
    a counter is created by its first count and then counted into)."""
    pieces = _CLAUSE.split(expression)
    touched: set[str] = set()
    for action, body in zip(pieces[1::2], pieces[2::2], strict=True):
        for part in _top_level_parts(body):
            target, _, value = part.partition("=") if action.upper() == "SET" else (
                part.split()[0], "", "")
            attribute = re.split(r"[.\[]", target.strip())[0]
            kept = re.fullmatch(rf"if_not_exists\(\s*{re.escape(attribute)}\s*,.*\)",
                                value.strip(), re.DOTALL)
            if not kept:
                touched.add((names or {}).get(attribute, attribute))
    return touched


def entries_written(indexes: tuple[TableIndex, ...], item: dict[str, Any],
                    changed: set[str] | None = None) -> list[tuple[str, str]]:
    """(index, partition key) of each entry a write puts: ``item`` is the item as written
    (a put, ``changed`` None) or as it stands after an update of the ``changed`` attributes."""
    written = []
    for index in indexes:
        partition = item.get(index.keys[0])
        if partition is None and not (changed and index.keys[0] in changed):
            continue
        if changed is None or index.rewritten_by(changed):
            written.append((index.name, str(partition)))
    return written

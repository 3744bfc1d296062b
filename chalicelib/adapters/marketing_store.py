"""Contacts, segments, topics, imports and broadcasts in the shared table.

Everything sits in the account's partition (so account export and closure cover it):
``CONTACT#<ct_id>`` with an ``CEMAIL#<address hash>`` pointer (no address in any key),
``SEG#<seg_id>`` with one ``SEGM#<seg_id>#<ct_id>`` item per member, ``TOPIC#<top_id>``,
``IMPORT#<imp_id>``, ``BC#<bc_id>`` and one ``BCR#<bc_id>#<ct_id>`` item per recipient:
the claim written before its email is queued, later moved on by the email's events.
No item is written once per recipient by more than that recipient.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item
from chalicelib.retention import DataClass
import contextlib


def _pk(account_id: str) -> str:
    return f"ACCT#{account_id}"


class DynamoMarketingStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    # Contacts

    def create_contact(self, account_id: str, record: dict[str, Any]) -> bool:
        """The contact and its address pointer, or nothing if the address is taken."""
        pk = _pk(account_id)
        try:
            self._table.transact([
                self._table.put_op({"pk": pk, "sk": f"CEMAIL#{record['address_hash']}",
                                    "contact_id": record["contact_id"]}, DataClass.CONTACT,
                                   None, condition="attribute_not_exists(pk)"),
                self._table.put_op({"pk": pk, "sk": f"CONTACT#{record['contact_id']}",
                                    **record}, DataClass.CONTACT, None,
                                   condition="attribute_not_exists(pk)"),
            ])
        except ConditionFailed:
            return False
        return True

    def put_contact(self, account_id: str, record: dict[str, Any]) -> None:
        self._table.put({"pk": _pk(account_id), "sk": f"CONTACT#{record['contact_id']}",
                         **_bare(record)}, DataClass.CONTACT, None)

    def get_contact(self, account_id: str, contact_id: str) -> Item | None:
        return self._table.get(_pk(account_id), f"CONTACT#{contact_id}", consistent=True)

    def contact_id_for(self, account_id: str, address_hash: str) -> str | None:
        item = self._table.get(_pk(account_id), f"CEMAIL#{address_hash}", consistent=True)
        return str(item["contact_id"]) if item else None

    def get_contacts(self, account_id: str, contact_ids: list[str]) -> list[Item]:
        found: list[Item] = []
        unique = list(dict.fromkeys(contact_ids))
        for start in range(0, len(unique), 100):
            found += self._table.batch_get([{"pk": _pk(account_id), "sk": f"CONTACT#{c}"}
                                            for c in unique[start:start + 100]])
        return found

    def contacts_page(self, account_id: str, limit: int, cursor: str | None
                      ) -> tuple[list[Item], str | None]:
        return self._table.query_page(_pk(account_id), "CONTACT#", limit, cursor, forward=True)

    def delete_contact(self, account_id: str, record: dict[str, Any]) -> int:
        """The contact, its pointer, its memberships and its broadcast receipts."""
        pk = _pk(account_id)
        contact_id = record["contact_id"]
        keys = [{"pk": pk, "sk": f"CONTACT#{contact_id}"},
                {"pk": pk, "sk": f"CEMAIL#{record['address_hash']}"}]
        keys += [{"pk": pk, "sk": f"SEGM#{s}#{contact_id}"} for s in record.get("segment_ids", [])]
        for broadcast in self._table.query_prefix(pk, "BC#"):
            keys.append({"pk": pk, "sk": f"BCR#{broadcast['broadcast_id']}#{contact_id}"})
        return self._table.delete_keys(keys)

    def confirm(self, account_id: str, contact_id: str, nonce: str,
                fields: dict[str, Any]) -> bool:
        """pending → subscribed, once: the nonce the link carries is removed as it is used."""
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": v for i, v in enumerate(fields.values())}
        sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        try:
            self._table.update({"pk": _pk(account_id), "sk": f"CONTACT#{contact_id}"},
                               f"SET {sets} REMOVE confirm_nonce", {**values, ":n": nonce},
                               condition="confirm_nonce = :n", names=names)
        except ConditionFailed:
            return False
        return True

    # Segments and topics

    def put_object(self, account_id: str, kind: str, object_id: str,
                   record: dict[str, Any]) -> None:
        """A segment (``SEG``), topic (``TOPIC``), import (``IMPORT``) or broadcast (``BC``)."""
        self._table.put({"pk": _pk(account_id), "sk": f"{kind}#{object_id}", **_bare(record)},
                        DataClass.ACCOUNT_DATA, None)

    def get_object(self, account_id: str, kind: str, object_id: str) -> Item | None:
        return self._table.get(_pk(account_id), f"{kind}#{object_id}", consistent=True)

    def objects_page(self, account_id: str, kind: str, limit: int, cursor: str | None
                     ) -> tuple[list[Item], str | None]:
        return self._table.query_page(_pk(account_id), f"{kind}#", limit, cursor)

    def all_objects(self, account_id: str, kind: str) -> list[Item]:
        return list(self._table.query_prefix(_pk(account_id), f"{kind}#"))

    def delete_object(self, account_id: str, kind: str, object_id: str) -> None:
        self._table.delete({"pk": _pk(account_id), "sk": f"{kind}#{object_id}"})

    def update_object(self, account_id: str, kind: str, object_id: str,
                      fields: dict[str, Any], from_status: tuple[str, ...],
                      expected: dict[str, Any] | None = None) -> Item | None:
        """Set fields only while the object's status is one of ``from_status`` (and each
        ``expected`` attribute still has its value); the item as written, or None."""
        names = {"#s": "status", **{f"#f{i}": n for i, n in enumerate(fields)},
                 **{f"#e{i}": n for i, n in enumerate(expected or {})}}
        # A field set to None is removed (DynamoDB stores no null here): a cleared value.
        values: dict[str, Any] = {f":v{i}": v for i, v in enumerate(fields.values())
                                  if v is not None}
        values.update({f":s{i}": s for i, s in enumerate(from_status)})
        allowed = " OR ".join(f"#s = :s{i}" for i in range(len(from_status)))
        if expected:
            values.update({f":e{i}": v for i, v in enumerate(expected.values())})
            allowed = " AND ".join([f"({allowed})",
                                    *(f"#e{i} = :e{i}" for i in range(len(expected)))])
        sets = ", ".join(f"#f{i} = :v{i}" for i, v in enumerate(fields.values())
                         if v is not None)
        removes = ", ".join(f"#f{i}" for i, v in enumerate(fields.values()) if v is None)
        expression = " ".join(part for part in (f"SET {sets}" if sets else "",
                                                f"REMOVE {removes}" if removes else "") if part)
        try:
            return self._table.update({"pk": _pk(account_id), "sk": f"{kind}#{object_id}"},
                                      expression, values, condition=allowed, names=names)
        except ConditionFailed:
            return None

    def add_member(self, account_id: str, segment_id: str, contact_id: str) -> None:
        self._table.put({"pk": _pk(account_id), "sk": f"SEGM#{segment_id}#{contact_id}",
                         "contact_id": contact_id}, DataClass.CONTACT, None)

    def remove_member(self, account_id: str, segment_id: str, contact_id: str) -> None:
        self._table.delete({"pk": _pk(account_id), "sk": f"SEGM#{segment_id}#{contact_id}"})

    def members_page(self, account_id: str, segment_id: str, limit: int, cursor: str | None
                     ) -> tuple[list[str], str | None]:
        items, next_cursor = self._table.query_page(_pk(account_id), f"SEGM#{segment_id}#",
                                                    limit, cursor, forward=True)
        return [str(i["contact_id"]) for i in items], next_cursor

    def member_ids(self, account_id: str, segment_id: str) -> Iterator[str]:
        for item in self._table.query_prefix(_pk(account_id), f"SEGM#{segment_id}#"):
            yield str(item["contact_id"])

    # Broadcast recipients

    def claim_recipient(self, account_id: str, broadcast_id: str, contact_id: str,
                        record: dict[str, Any]) -> bool:
        """The per-recipient marker, written before its email is queued; False if it exists."""
        try:
            self._table.put({"pk": _pk(account_id), "sk": f"BCR#{broadcast_id}#{contact_id}",
                             **record}, DataClass.CONTACT, None,
                            condition="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        return True

    def get_recipients(self, account_id: str, broadcast_id: str,
                       contact_ids: list[str]) -> list[Item]:
        return self._table.batch_get([{"pk": _pk(account_id), "sk": f"BCR#{broadcast_id}#{c}"}
                                      for c in dict.fromkeys(contact_ids)])

    def set_recipient(self, account_id: str, broadcast_id: str, contact_id: str,
                      fields: dict[str, Any]) -> None:
        self._table.set_fields({"pk": _pk(account_id), "sk": f"BCR#{broadcast_id}#{contact_id}"},
                               fields)

    def delete_recipient(self, account_id: str, broadcast_id: str, contact_id: str) -> None:
        self._table.delete({"pk": _pk(account_id), "sk": f"BCR#{broadcast_id}#{contact_id}"})

    def recipient_event(self, account_id: str, broadcast_id: str, contact_id: str,
                        status: str | None, rank: int, url: str | None, opened: bool) -> None:
        """One event on one recipient's own item: the status moves only forward."""
        key = {"pk": _pk(account_id), "sk": f"BCR#{broadcast_id}#{contact_id}"}
        if status is not None:
            with contextlib.suppress(ConditionFailed):
                self._table.update(key, "SET #s = :s, status_rank = :r", {":s": status,
                                   ":r": rank}, names={"#s": "status"},
                                   condition="attribute_exists(pk) AND "
                                             "(attribute_not_exists(status_rank) OR "
                                             "status_rank < :r)")
        if opened or url:
            parts: list[str] = []
            values: dict[str, Any] = {}
            if opened:
                parts.append("opened = :t")
                values[":t"] = True
            if url:
                parts.append("clicked = :t")
                values[":t"] = True
            expression = "SET " + ", ".join(parts)
            if url:
                expression += " ADD clicked_urls :u"
                values[":u"] = {url}
            with contextlib.suppress(ConditionFailed):
                self._table.update(key, expression, values, condition="attribute_exists(pk)")

    def recipients_page(self, account_id: str, broadcast_id: str, limit: int,
                        cursor: str | None) -> tuple[list[Item], str | None]:
        return self._table.query_page(_pk(account_id), f"BCR#{broadcast_id}#", limit, cursor,
                                      forward=True)

    def all_recipients(self, account_id: str, broadcast_id: str) -> Iterator[Item]:
        return self._table.query_prefix(_pk(account_id), f"BCR#{broadcast_id}#")


def _bare(record: dict[str, Any]) -> dict[str, Any]:
    """A record read back, without the keys and retention stamps the table adds again."""
    return {k: v for k, v in record.items()
            if k not in ("pk", "sk", "retention_class", "clock_at", "expires_at",
                         "expiry_bucket")}

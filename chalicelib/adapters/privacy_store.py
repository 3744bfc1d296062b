"""What data-subject and account requests read and delete: an account's messages to one
address (its listing index, filtered), their timelines, its whole partition a page at a time,
and the audit trail of those requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, Item, Key, to_wire
from chalicelib.adapters.email_listing import EmailListing
from chalicelib.adapters.message_keys import (account_partitions, is_own_partition,
                                              legacy_partitions, message_partition)
from chalicelib.errors import ValidationFailed
from chalicelib.retention import DataClass


class DynamoPrivacyStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table
        self._listing = EmailListing(table)

    def messages_to(self, account_id: str, address: str) -> list[Item]:
        """Messages of this account with ``address`` among their recipients (any of to, cc,
        bcc) or in their Reply-To: the account's own listing index, never a table scan."""
        found: dict[str, Item] = {}
        for attribute in ("recipients", "reply_to_addresses"):
            cursor = None
            while True:
                page, cursor = self._listing.page(account_id, "0", "~", 500, cursor,
                                                  filters={attribute: ("contains", address)})
                found.update((item["message_id"], item) for item in page)
                if cursor is None:
                    break
        return list(found.values())

    def timeline(self, account_id: str, message_id: str, pk: str | None = None
                 ) -> list[Item]:
        """The message item and its events: under ``pk`` when the address index named it,
        else in whichever layout it was written (its own partition, then the older ones)."""
        for partition in ((pk,) if pk else (message_partition(account_id, message_id),
                                            *legacy_partitions(account_id, message_id))):
            items = list(self._table.query_prefix(partition, f"EM#{message_id}"))
            if items:
                return items
        return []

    def _own_partitions_page(self, account_id: str, limit: int, cursor: str | None
                             ) -> tuple[list[Item], str | None]:
        """Messages in their own partitions, found through the account's listing, each
        with everything its partition holds."""
        listed, following = self._listing.page(account_id, "0", "~", limit, cursor,
                                               forward=True)
        items: list[Item] = []
        for message in listed:
            if is_own_partition(str(message["pk"])):
                items += self._table.pages({
                    "TableName": self._table.name, "KeyConditionExpression": "pk = :pk",
                    "ExpressionAttributeValues": to_wire({":pk": message["pk"]})})
        return items, following

    def pointers(self, pk: str, message_id: str) -> list[Item]:
        """The message's address-index pointers (its second and further addresses)."""
        return list(self._table.query_prefix(pk, f"ADDR#{message_id}#"))

    def get_audit(self, account_id: str, audit_id: str) -> Item | None:
        return self._table.get(f"ACCT#{account_id}", f"AUDIT#{audit_id}", consistent=True)

    def update_audit(self, account_id: str, audit_id: str, fields: dict[str, Any],
                     add: dict[str, int] | None = None, remove: tuple[str, ...] = ()) -> None:
        """Set fields of a job's audit record (None drops one), add to its counts, drop
        fields: one update."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets = []
        remove = (*remove, *(name for name, value in fields.items() if value is None))
        fields = {name: value for name, value in fields.items() if value is not None}
        for index, (name, value) in enumerate(fields.items()):
            names[f"#f{index}"], values[f":f{index}"] = name, value
            sets.append(f"#f{index} = :f{index}")
        for index, (name, count) in enumerate((add or {}).items()):
            names[f"#c{index}"], values[f":c{index}"] = name, count
            sets.append(f"counts.#c{index} = counts.#c{index} + :c{index}")
        expression = "SET " + ", ".join(sets)
        if remove:
            expression += " REMOVE " + ", ".join(remove)
        self._table.update({"pk": f"ACCT#{account_id}", "sk": f"AUDIT#{audit_id}"},
                           expression, values, condition="attribute_exists(pk)", names=names)

    def delete_keys(self, keys: list[Key]) -> int:
        return self._table.delete_keys(keys)

    def put_audit(self, account_id: str, record: dict[str, Any], now: datetime) -> None:
        self._table.put({"pk": f"ACCT#{account_id}", "sk": f"AUDIT#{record['audit_id']}",
                         **record}, DataClass.PRIVACY_AUDIT, None)

    def audits(self, account_id: str) -> list[Item]:
        return list(self._table.query_prefix(f"ACCT#{account_id}", "AUDIT#", forward=False))

    def account_page(self, account_id: str, limit: int, cursor: str | None
                     ) -> tuple[list[Item], str | None]:
        """The account's partitions one after the other (its own, the message shards of the
        previous layout, its counter shards), then its messages in their own partitions; the
        cursor is ``<partition>.<cursor within it>``."""
        partitions = account_partitions(account_id)
        index, inner = 0, None
        if cursor:
            head, _, rest = cursor.partition(".")
            if not head.isdigit() or int(head) > len(partitions):
                raise ValidationFailed("cursor is not valid for this listing",
                                       details=[{"field": "cursor", "message": "invalid cursor"}])
            index, inner = int(head), rest or None
        while True:
            if index == len(partitions):
                items, following = self._own_partitions_page(account_id, limit, inner)
                return items, (f"{index}.{following}" if following else None)
            pk = partitions[index]
            items, following = self._table.query_page(pk, "", limit, inner, forward=True)
            if pk.startswith("STATS#"):  # counter shards are keyed by day alone
                items = [{**item, "sk": f"STATS#{item['sk']}"} for item in items]
            if following:
                return items, f"{index}.{following}"
            index, inner = index + 1, None
            if items:
                return items, f"{index}."

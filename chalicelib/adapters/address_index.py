"""The address index: every stored message that names an address, found without walking the
account's whole email log.

Its keys never hold the address: ``gsi3pk`` is ``ADDR#<account>#<keyed hash>`` (the HMAC the
suppression list uses, ``tokens.address_hash``), ``gsi3sk`` is ``EM#<message id>``. A message
item carries the index key of its first address itself (so the common one-recipient send
writes nothing more); each further address (to, cc, bcc, Reply-To) gets a pointer item
``<message partition> / ADDR#<message id>#<hash>`` written in the same batch request as the
message, with the message's own class and expiry. The ``gsi3`` index projects keys only.

Messages written before the index existed are found by a backfill (``Backfill``): one walk of
the account's email listing, page by page and checkpointed, that gives each unindexed message
its keys and pointers. Until an account's backfill has finished, readers fall back to that
listing (filtered on the recipient attributes), bounded by the message log's 90 days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item, Key, from_wire, to_wire
from chalicelib.adapters.dynamo_pages import decode_cursor, encode_cursor
from chalicelib.models import address_of
from chalicelib.retention import DataClass

INDEX = "gsi3"
ADDRESS_FIELDS = ("to", "cc", "bcc", "reply_to")
BACKFILL_SK = "ADDRIDX#BACKFILL"

Hasher = Callable[[str, str], str]  # (account id, address) → keyed hash


def addresses_of(message: dict[str, Any]) -> list[str]:
    """Every address a message names, normalized, each once, in field order."""
    found = [address_of(m).strip().lower() for field in ADDRESS_FIELDS
             for m in message.get(field) or []]
    return list(dict.fromkeys(a for a in found if a))


def index_key(account_id: str, address_hash: str) -> str:
    return f"ADDR#{account_id}#{address_hash}"


class AddressIndex:
    def __init__(self, table: DynamoTable, hasher: Hasher) -> None:
        self._table = table
        self._hash = hasher

    def entries(self, message: dict[str, Any], key: Key) -> tuple[dict[str, str], list[Item]]:
        """What a new message item (at ``key``) adds: its own index attributes, and a pointer
        item per further address, for the caller to write in the same batch."""
        account_id, message_id = message["account_id"], message["message_id"]
        hashes = [self._hash(account_id, a) for a in addresses_of(message)]
        if not hashes:
            return {}, []
        own = {"gsi3pk": index_key(account_id, hashes[0]), "gsi3sk": f"EM#{message_id}"}
        pointers = [{"pk": key["pk"], "sk": f"ADDR#{message_id}#{h}",
                     "gsi3pk": index_key(account_id, h), "gsi3sk": f"EM#{message_id}",
                     "account_id": account_id, "message_id": message_id}
                    for h in hashes[1:]]
        return own, pointers

    def page(self, account_id: str, address_hash: str, limit: int, cursor: str | None
             ) -> tuple[list[Key], str | None]:
        """One page of the keys naming this address (message items and pointers), oldest
        message first, and the cursor of the next."""
        pk = index_key(account_id, address_hash)
        request: dict[str, Any] = {
            "TableName": self._table.name, "IndexName": INDEX, "Limit": limit,
            "KeyConditionExpression": "gsi3pk = :pk",
            "ExpressionAttributeValues": to_wire({":pk": pk})}
        if cursor:
            request["ExclusiveStartKey"] = to_wire(decode_cursor(cursor, "gsi3pk", pk,
                                                                 "gsi3sk", "EM#"))
        items, last = self._table.raw_page(request)
        keys = [{"pk": i["pk"], "sk": i["sk"], "message_id": i["gsi3sk"][3:]} for i in items]
        return keys, (encode_cursor(from_wire(last)) if last else None)

    # The backfill of messages written before the index.

    def backfill_done(self, account_id: str) -> bool:
        state = self._table.get(f"ACCT#{account_id}", BACKFILL_SK)
        return bool(state and state.get("done"))

    def backfill_page(self, account_id: str, listing: Callable[[str | None], tuple[
            list[Item], str | None]], now: datetime) -> bool:
        """Index one page of the account's email listing from the saved checkpoint; True
        once the whole listing is indexed. Each step is idempotent: a message already
        indexed is skipped, pointers are plain puts of the same keys."""
        state = self._table.get(f"ACCT#{account_id}", BACKFILL_SK) or {}
        if state.get("done"):
            return True
        page, following = listing(state.get("cursor"))
        for listed in page:
            if listed.get("gsi3pk") or not listed.get("message_id"):
                continue
            key = {"pk": listed["pk"], "sk": listed["sk"]}
            message = self._table.get(key["pk"], key["sk"])  # the listing projects a few fields
            if message is None:
                continue
            own, pointers = self.entries(message, key)
            if not own:
                continue
            clock = datetime.fromtimestamp(int(message.get("clock_at") or now.timestamp()),
                                           UTC)
            self._table.put_many([(p, DataClass.MESSAGE_LOG, clock) for p in pointers])
            try:
                self._table.update(key, "SET gsi3pk = :p, gsi3sk = :s",
                                   {":p": own["gsi3pk"], ":s": own["gsi3sk"]},
                                   condition="attribute_exists(pk)")
            except ConditionFailed:  # expired or erased meanwhile: its pointers go too
                self._table.delete_keys([{"pk": p["pk"], "sk": p["sk"]} for p in pointers])
        record: dict[str, Any] = {"pk": f"ACCT#{account_id}", "sk": BACKFILL_SK,
                                  "done": following is None}
        if following is not None:
            record["cursor"] = following
        self._table.put(record, DataClass.OPERATIONAL, now)
        return following is None

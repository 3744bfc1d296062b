"""An account's email listing: the ``gsi4`` index, and its move from ``gsi2``.

Each message item carries ``gsi4pk`` = ``EMAILS#<account>#<shard>`` (a few bits of the id)
and ``gsi4sk`` = its id; readers merge the shards. The index projects only what the
listings show and filter on (``LISTED``), so the send worker's claim, its ``sending`` mark
and a release write nothing to it: an email rewrites its listing entry only when its status
moves, at most once per request path.

Messages written before ``gsi4`` sit in ``gsi2`` (a copy of the whole item, rewritten on
every write). Until an account's migration has moved them (``migrate_page``: each one gets
its ``gsi4`` keys and loses its ``gsi2`` ones, a page at a time, with no checkpoint needed
since a moved message leaves the old index), its listings merge both. Accounts created since
are marked migrated when they are made.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, IndexKey, Item
from chalicelib.observability import logger
from chalicelib.retention import DataClass

INDEX = "gsi4"
SHARDS = 8
# What the listings read and filter on (and ``gsi3pk``, which tells the address-index
# backfill a message is indexed): the template's NonKeyAttributes for gsi4 (a test holds
# them equal). Nothing the worker changes before the status moves is here.
LISTED = ("message_id", "from", "to", "subject", "status", "stream", "tags", "created_at",
          "updated_at", "recipients", "tag_keys", "reply_to_addresses", "gsi3pk")
MIGRATED_SK = "LISTING#GSI4"
MIGRATION_PAGE = 100


def shard_of(item_id: str) -> int:
    return zlib.crc32(item_id.encode()) % SHARDS


def listing_entry(account_id: str, message_id: str) -> dict[str, str]:
    """The index keys a message item carries."""
    return {"gsi4pk": f"EMAILS#{account_id}#{shard_of(message_id)}", "gsi4sk": message_id}


def shards(account_id: str) -> list[IndexKey]:
    return [(INDEX, f"EMAILS#{account_id}#{shard}") for shard in range(SHARDS)]


def legacy_shards(account_id: str) -> list[IndexKey]:
    """Where messages written before ``gsi4`` are listed: ``gsi2``'s shards, then its
    unsharded key (messages from before sharding)."""
    return [*(("gsi2", f"EMAILS#{account_id}#{s}") for s in range(SHARDS)),
            ("gsi2", f"EMAILS#{account_id}")]


def anchor(account_id: str) -> str:
    """What a listing cursor is bound to (the same before and after the move)."""
    return f"EMAILS#{account_id}"


class EmailListing:
    # Set by wiring: queue the account's migration (the privacy queue's ``listing`` job).
    request_migration: Callable[[str], None] | None = None

    def __init__(self, table: DynamoTable) -> None:
        self._table = table
        # For the life of a warm Lambda: a migration never comes undone, and is asked once.
        self._migrated: set[str] = set()
        self._requested: set[str] = set()

    def migrated(self, account_id: str) -> bool:
        """True once none of the account's messages is listed in ``gsi2`` any more; the
        first listing that finds otherwise asks for the migration (once per warm Lambda)."""
        if account_id in self._migrated:
            return True
        if self._table.get(f"ACCT#{account_id}", MIGRATED_SK) is not None:
            self._migrated.add(account_id)
            return True
        if self.request_migration is not None and account_id not in self._requested:
            self._requested.add(account_id)
            try:
                self.request_migration(account_id)
            except Exception:  # the listing still answers (from both indexes); a later
                logger.exception("listing_migration_not_queued")  # cold start asks again
        return False

    def sources(self, account_id: str) -> list[IndexKey]:
        return shards(account_id) + ([] if self.migrated(account_id)
                                     else legacy_shards(account_id))

    def page(self, account_id: str, low: str, high: str, limit: int, cursor: str | None,
             filters: Mapping[str, tuple[str, Any]] | None = None,
             forward: bool = False) -> tuple[list[Item], str | None]:
        """One page of the account's emails, newest first unless ``forward``."""
        return self._table.merged_index_page(self.sources(account_id), anchor(account_id),
                                             low, high, limit, cursor, filters, forward)

    def mark_migrated(self, account_id: str) -> None:
        """Nothing of this account is in ``gsi2``'s email listing (a new account)."""
        self._table.put({"pk": f"ACCT#{account_id}", "sk": MIGRATED_SK}, DataClass.OPERATIONAL,
                        None)  # bookkeeping, gone with the account's partition
        self._migrated.add(account_id)

    def migrate_page(self, account_id: str) -> bool:
        """Move one page of the account's messages from ``gsi2`` to ``gsi4``; True (and the
        account marked) once none is left. Safe to run twice at once: each move is
        conditional on the message still being where this run found it."""
        found, _ = self._table.merged_index_page(legacy_shards(account_id), anchor(account_id),
                                                 "0", "~", MIGRATION_PAGE, None, forward=True)
        for message in found:
            entry = listing_entry(account_id, str(message["gsi2sk"]))
            try:
                self._table.update({"pk": message["pk"], "sk": message["sk"]},
                                   "SET gsi4pk = :p, gsi4sk = :s REMOVE gsi2pk, gsi2sk",
                                   {":p": entry["gsi4pk"], ":s": entry["gsi4sk"],
                                    ":old": message["gsi2pk"]},
                                   condition="gsi2pk = :old")
            except ConditionFailed:  # moved by another run, or expired meanwhile
                continue
        if found:
            return False
        self.mark_migrated(account_id)
        return True

"""Where a message and its events live in the shared table (the layout
``message_store.py`` describes): a message's own partition, the partitions of the earlier
layouts, every fixed partition of an account, and the account's event stream."""

from __future__ import annotations

from chalicelib.adapters.dynamo import IndexKey
from chalicelib.adapters.email_listing import SHARDS as MESSAGE_SHARDS
from chalicelib.adapters.email_listing import shard_of


def message_partition(account_id: str, message_id: str) -> str:
    """The message's own partition: it and its events, nothing of any other email."""
    return f"EM#{account_id}#{message_id}"


def legacy_partitions(account_id: str, message_id: str) -> list[str]:
    """Where a message written under an earlier layout lives: its account shard, then the
    account's own partition (before sharding)."""
    return [f"ACCT#{account_id}#{shard_of(message_id)}", f"ACCT#{account_id}"]


def message_partitions(account_id: str) -> list[str]:
    """The account shards that messages written under the previous layout live under."""
    return [f"ACCT#{account_id}#{shard}" for shard in range(MESSAGE_SHARDS)]


def account_partitions(account_id: str) -> list[str]:
    """Every fixed partition key that holds an account's data: its own, the message shards
    of the previous layout and its daily counter shards (what an account export reads and an
    erasure deletes; messages in their own partitions are found through the listing)."""
    from chalicelib.adapters.counter_store import SHARDS
    return [f"ACCT#{account_id}", *message_partitions(account_id),
            *(f"STATS#{account_id}#{shard}" for shard in range(SHARDS))]


def is_own_partition(pk: str) -> bool:
    """True for a message partition of the current layout (``EM#<account>#<em_id>``)."""
    return pk.startswith("EM#")


def event_listing(account_id: str) -> list[IndexKey]:
    """The ``gsi2`` partitions of the account's event stream, merged on read: the shards,
    then the unsharded key (account events, events written before sharding)."""
    return [*(("gsi2", f"EVENTS#{account_id}#{s}") for s in range(MESSAGE_SHARDS)),
            ("gsi2", f"EVENTS#{account_id}")]


def message_key(account_id: str, message_id: str) -> dict[str, str]:
    """The message item's key in its own partition (the current layout)."""
    return {"pk": message_partition(account_id, message_id), "sk": f"EM#{message_id}"}

"""The dashboard's items in the shared table: users, sessions, links, consent, page views,
notices. Secrets (session ids, link tokens) are stored only as hashes; every write names its
retention class, so every item carries its expiry.

Layout:
- ``ACCT#<acct>`` / ``USER#<usr>``: a user (account data, erased with the account).
- ``USEREMAIL#<hash>`` / ``USER``: the claim that makes an email address unique.
- ``SESSION#<hash>`` / ``SESSION`` (``gsi1``: ``USERSESSIONS#<usr>``): a session.
- ``LINK#<hash>`` / ``LINK``: an invite, sign-in link, reset or email confirmation.
- ``SIGNINFAIL#<kind>#<hash>`` / ``<window>``: failed sign-ins (a rate counter).
- ``CONSENT#<cns>`` / ``<time>``: proof of a cookie choice.
- ``PAGEVIEW#<day>#<shard>`` / ``<time>#<rand>``: one page view; read per day, never a hot
  counter. ``ATTRIBUTION#<day>#<shard>``: a first touch.
- ``NOTICES`` / ``<ntc>``: operator notices.
"""

from __future__ import annotations

import os
import zlib
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, DynamoTable, Item, to_wire
from chalicelib.clock import iso
from chalicelib.retention import DataClass

PAGE_SHARDS = 16  # page views of one day spread over this many partitions


def _acct(account_id: str) -> str:
    return f"ACCT#{account_id}"


class DynamoDashboardStore:
    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    # Users

    def create_user(self, user: Item, email_hash: str) -> bool:
        """The user and the claim on its address, together; False if the address is taken."""
        claim = {"pk": f"USEREMAIL#{email_hash}", "sk": "USER",
                 "account_id": user["account_id"], "user_id": user["user_id"]}
        item = {"pk": _acct(user["account_id"]), "sk": f"USER#{user['user_id']}", **user}
        try:
            self._table.transact([
                self._table.put_op(claim, DataClass.ACCOUNT_DATA, None,
                                   condition="attribute_not_exists(pk)"),
                self._table.put_op(item, DataClass.ACCOUNT_DATA, None),
            ])
        except ConditionFailed:
            return False
        return True

    def user_by_email(self, email_hash: str) -> Item | None:
        claim = self._table.get(f"USEREMAIL#{email_hash}", "USER", consistent=True)
        return self.get_user(claim["account_id"], claim["user_id"]) if claim else None

    def get_user(self, account_id: str, user_id: str) -> Item | None:
        return self._table.get(_acct(account_id), f"USER#{user_id}", consistent=True)

    def list_users(self, account_id: str) -> list[Item]:
        return list(self._table.query_prefix(_acct(account_id), "USER#"))

    def update_user(self, account_id: str, user_id: str, fields: dict[str, Any]) -> Item | None:
        return self._table.set_fields({"pk": _acct(account_id), "sk": f"USER#{user_id}"}, fields)

    def set_role(self, account_id: str, user_id: str, old: str, new: str, actor_id: str,
                 actor_role: str) -> bool:
        """Set a user's role if it is still ``old`` and the actor still holds ``actor_role``
        (both in one transaction); False if either changed."""
        check = self._table.condition_op({"pk": _acct(account_id), "sk": f"USER#{actor_id}"},
                                         "#r = :actor AND #s = :active")
        check["ConditionCheck"].update(
            ExpressionAttributeNames={"#r": "role", "#s": "status"},
            ExpressionAttributeValues=to_wire({":actor": actor_role, ":active": "active"}))
        try:
            self._table.transact([
                check,
                self._table.update_op({"pk": _acct(account_id), "sk": f"USER#{user_id}"},
                                      "SET #r = :new", {":new": new, ":old": old},
                                      condition="attribute_exists(pk) AND #r = :old",
                                      names={"#r": "role"}),
            ])
        except ConditionFailed:
            return False
        return True

    def change_email(self, user: Item, new_email: str, old_hash: str, new_hash: str) -> bool:
        """Move the address claim and the user's address at once; False if it is taken."""
        account_id, user_id = user["account_id"], user["user_id"]
        try:
            self._table.transact([
                self._table.put_op({"pk": f"USEREMAIL#{new_hash}", "sk": "USER",
                                    "account_id": account_id, "user_id": user_id},
                                   DataClass.ACCOUNT_DATA, None,
                                   condition="attribute_not_exists(pk)"),
                {"Delete": {"TableName": self._table.name,
                            "Key": {"pk": {"S": f"USEREMAIL#{old_hash}"}, "sk": {"S": "USER"}}}},
                self._table.update_op({"pk": _acct(account_id), "sk": f"USER#{user_id}"},
                                      "SET email = :e", {":e": new_email},
                                      condition="attribute_exists(pk)"),
            ])
        except ConditionFailed:
            return False
        return True

    def delete_user(self, account_id: str, user_id: str, email_hash: str) -> None:
        self._table.delete_keys([{"pk": _acct(account_id), "sk": f"USER#{user_id}"},
                                 {"pk": f"USEREMAIL#{email_hash}", "sk": "USER"}])

    def start_claim_clocks(self, account_id: str, hashes: list[str], now: datetime) -> None:
        """A closed account's address claims expire with its data (its users go with its
        partition)."""
        for email_hash in hashes:
            self._table.start_clock({"pk": f"USEREMAIL#{email_hash}", "sk": "USER"},
                                    DataClass.ACCOUNT_DATA, now)

    # Sessions

    def put_session(self, id_hash: str, session: Item, data_class: DataClass,
                    now: datetime) -> None:
        item = {"pk": f"SESSION#{id_hash}", "sk": "SESSION",
                "gsi1pk": f"USERSESSIONS#{session['user_id']}", "gsi1sk": f"AT#{iso(now)}",
                **session}
        self._table.put(item, data_class, now)

    def get_session(self, id_hash: str) -> Item | None:
        return self._table.get(f"SESSION#{id_hash}", "SESSION", consistent=True)

    def update_session(self, id_hash: str, fields: dict[str, Any]) -> None:
        self._table.set_fields({"pk": f"SESSION#{id_hash}", "sk": "SESSION"}, fields)

    def delete_session(self, id_hash: str) -> None:
        self._table.delete({"pk": f"SESSION#{id_hash}", "sk": "SESSION"})

    def user_sessions(self, user_id: str) -> list[Item]:
        return list(self._table.query_prefix(f"USERSESSIONS#{user_id}", "AT#", index="gsi1"))

    def delete_user_sessions(self, user_id: str) -> int:
        keys = [{"pk": s["pk"], "sk": s["sk"]} for s in self.user_sessions(user_id)]
        return self._table.delete_keys(keys)

    # Single-use links

    def put_link(self, token_hash: str, link: Item, data_class: DataClass,
                 now: datetime) -> None:
        self._table.put({"pk": f"LINK#{token_hash}", "sk": "LINK", **link}, data_class, now)

    def take_link(self, token_hash: str) -> Item | None:
        """The link, deleted in the same breath: of two concurrent uses, one wins."""
        link = self._table.get(f"LINK#{token_hash}", "LINK", consistent=True)
        if link is None:
            return None
        try:
            self._table.delete_where({"pk": f"LINK#{token_hash}", "sk": "LINK"},
                                     "attribute_exists(pk) AND created_at = :c",
                                     {":c": link["created_at"]})
        except ConditionFailed:
            return None
        return link

    def peek_link(self, token_hash: str) -> Item | None:
        return self._table.get(f"LINK#{token_hash}", "LINK", consistent=True)

    # Failed sign-ins

    def count_failure(self, kind: str, key_hash: str, window: str, now: datetime) -> int:
        return self._table.increment(f"SIGNINFAIL#{kind}#{key_hash}", window, 1, None,
                                     now) or 0

    def failures(self, kind: str, key_hash: str, window: str) -> int:
        item = self._table.get(f"SIGNINFAIL#{kind}#{key_hash}", window, consistent=True)
        return int(item["used"]) if item else 0

    # Consent, analytics

    def put_consent(self, record: Item, now: datetime) -> None:
        item = {"pk": f"CONSENT#{record['consent_id']}", "sk": f"AT#{iso(now)}", **record}
        if record.get("user_id"):  # listed with the user's own data (export)
            item.update(gsi1pk=f"USERCONSENT#{record['user_id']}", gsi1sk=f"AT#{iso(now)}")
        self._table.put(item, DataClass.CONSENT_RECORD, now)

    def consents(self, consent_id: str) -> list[Item]:
        return list(self._table.query_prefix(f"CONSENT#{consent_id}", "AT#"))

    def consents_of_user(self, user_id: str) -> list[Item]:
        return list(self._table.query_prefix(f"USERCONSENT#{user_id}", "AT#", index="gsi1"))

    def put_page_view(self, view: Item, now: datetime) -> None:
        self._put_sharded("PAGEVIEW", view, DataClass.DASHBOARD_ANALYTICS, now)

    def put_attribution(self, touch: Item, now: datetime) -> None:
        self._put_sharded("ATTRIBUTION", touch, DataClass.MARKETING_ATTRIBUTION, now)

    def _put_sharded(self, kind: str, item: Item, data_class: DataClass, now: datetime) -> None:
        rand = os.urandom(6).hex()
        shard = zlib.crc32(rand.encode()) % PAGE_SHARDS
        self._table.put({"pk": f"{kind}#{now:%Y-%m-%d}#{shard}", "sk": f"AT#{iso(now)}#{rand}",
                         **item}, data_class, now)

    def day_items(self, kind: str, day: str) -> list[Item]:
        items: list[Item] = []
        for shard in range(PAGE_SHARDS):
            items.extend(self._table.query_prefix(f"{kind}#{day}#{shard}", "AT#"))
        return items

    # Notices

    def put_notice(self, notice: Item, now: datetime) -> None:
        self._table.put({"pk": "NOTICES", "sk": notice["notice_id"], **notice},
                        DataClass.OPERATOR_NOTICE, now)

    def notices(self) -> list[Item]:
        return list(self._table.query_prefix("NOTICES", "ntc_"))

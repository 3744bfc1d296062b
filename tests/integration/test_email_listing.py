"""The email listing index (``gsi4``, listed fields only) and the move of emails listed in
the old whole-item index (``gsi2``) to it (issue 13 item 7)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.email_listing import LISTED, MIGRATED_SK, shard_of
from letterbox.capacity import table_indexes
from tests.integration.test_sending_api import _email


def test_the_template_projects_exactly_what_the_listing_reads() -> None:
    """Bug caught: a field the listing shows or filters on left out of the index (moto, like
    DynamoDB, then answers without it, or filters every email out)."""
    (listing,) = [i for i in table_indexes() if i.name == "gsi4"]
    assert listing.projection == "INCLUDE" and listing.projected == set(LISTED)
    assert not listing.projected & {"claim_until", "sending_at", "attempts", "status_rank"}


def _as_before_gsi4(stack, account, email_id: str, sharded: bool = True) -> None:
    """Rewrite a message's listing keys as a release before ``gsi4`` wrote them."""
    listed = f"EMAILS#{account.account_id}" + (f"#{shard_of(email_id)}" if sharded else "")
    stack.client("dynamodb").update_item(
        TableName=stack.env["LETTERBOX_TABLE_NAME"],
        Key={"pk": {"S": f"EM#{account.account_id}#{email_id}"}, "sk": {"S": f"EM#{email_id}"}},
        UpdateExpression="SET gsi2pk = :p, gsi2sk = :s REMOVE gsi4pk, gsi4sk",
        ExpressionAttributeValues={":p": {"S": listed}, ":s": {"S": email_id}})


def _forget_migration(stack, account) -> None:
    """The account as an earlier release left it: never migrated."""
    from chalicelib import wiring
    stack.client("dynamodb").delete_item(
        TableName=stack.env["LETTERBOX_TABLE_NAME"],
        Key={"pk": {"S": f"ACCT#{account.account_id}"}, "sk": {"S": MIGRATED_SK}})
    wiring.reset()  # a cold Lambda: nothing remembered


def _listed_ids(api, account, **query: Any) -> list[str]:
    ids, cursor = [], None
    while True:
        params = "&".join(f"{k}={v}" for k, v in {**query, "limit": 2,
                                                  **({"cursor": cursor} if cursor else {})
                                                  }.items())
        page = api.get(f"/v1/emails?{params}", key=account.api_key).json
        ids += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return ids


def test_emails_of_the_old_index_are_listed_then_moved(api, account, stack, aws_calls,
                                                       drain_privacy) -> None:
    """Bug caught: after the deploy, emails sent before it vanish from the log (and from
    exports and erasure, which walk it) until they expire, or are listed twice."""
    ids = [api.post("/v1/emails", _email(account, to=f"r{n}@example.net"),
                    key=account.api_key).json["id"] for n in range(5)]
    _as_before_gsi4(stack, account, ids[0])
    _as_before_gsi4(stack, account, ids[1], sharded=False)
    _forget_migration(stack, account)
    aws_calls.take()

    assert _listed_ids(api, account) == ids[::-1]  # both indexes, merged, paged by 2
    assert _listed_ids(api, account, recipient="r1@example.net") == [ids[1]]
    from chalicelib import wiring
    from chalicelib.adapters.privacy_store import DynamoPrivacyStore
    found = DynamoPrivacyStore(wiring.container().table).messages_to(account.account_id,
                                                                     "r0@example.net")
    assert [m["message_id"] for m in found] == [ids[0]]
    queued = [p for op, p in aws_calls.take() if op == "SendMessage"
              and p["QueueUrl"] == stack.env["LETTERBOX_PRIVACY_QUEUE_URL"]]
    assert len(queued) == 1 and '"listing"' in queued[0]["MessageBody"]  # asked once

    assert drain_privacy() >= 1
    table = stack.env["LETTERBOX_TABLE_NAME"]
    for email_id in ids[:2]:
        item = stack.client("dynamodb").get_item(TableName=table, Key={
            "pk": {"S": f"EM#{account.account_id}#{email_id}"},
            "sk": {"S": f"EM#{email_id}"}})["Item"]
        assert "gsi2pk" not in item and item["gsi4sk"]["S"] == email_id
    wiring.reset()
    aws_calls.take()
    assert _listed_ids(api, account) == ids[::-1]
    old_index = [p for op, p in aws_calls.take() if op == "Query" and p.get("IndexName") == "gsi2"]
    assert old_index == []  # migrated: the old index is no longer read


def test_a_new_account_never_reads_the_old_index(api, account, aws_calls) -> None:
    """Bug caught: every listing paying for nine empty queries of the old index for ever."""
    api.post("/v1/emails", _email(account), key=account.api_key)
    aws_calls.take()
    assert len(_listed_ids(api, account)) == 1
    calls = aws_calls.take()
    assert not [p for op, p in calls if op == "Query" and p.get("IndexName") == "gsi2"]
    assert not [op for op, _ in calls if op == "SendMessage"]

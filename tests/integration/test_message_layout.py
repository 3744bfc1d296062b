"""Each message in a partition of its own, and what the single send costs in AWS requests
(issue 13 items 3, 4 and 7); messages written under the earlier layouts still work."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.message_keys import legacy_partitions, message_partition
from tests.integration.test_sending_api import _email

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ses"


def _written_partitions(calls: list[tuple[str, dict[str, Any]]]) -> Counter[str]:
    """How many item writes each base-table partition key received."""
    written: Counter[str] = Counter()
    for operation, params in calls:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            written[(params.get("Item") or params["Key"])["pk"]["S"]] += 1
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    item = (request.get("PutRequest", {}).get("Item")
                            or request["DeleteRequest"]["Key"])
                    written[item["pk"]["S"]] += 1
        elif operation == "TransactWriteItems":
            for op in params["TransactItems"]:
                body = next(iter(op.values()))
                written[(body.get("Item") or body["Key"])["pk"]["S"]] += 1
    return written


def _ses_delivery(stack, account, email_id: str) -> None:
    """SES → SNS topic → SQS subscription → ingest_ses_events, as deployed."""
    import app as app_module
    from letterbox.local.pump import drain_once
    text = (FIXTURES / "delivery.json").read_text()
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    sns = stack.client("sns")
    sns.publish(TopicArn=topic, Message=text.replace("EM_ID", email_id).replace(
        "ACCOUNT_ID", account.account_id))
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    sqs = stack.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=subscription["Endpoint"].rsplit(":", 1)[1])
    assert drain_once(sqs, queue_url["QueueUrl"], app_module.ingest_ses_events,
                      "ingest_ses_events") == 1


def test_single_send_api_takes_at_most_four_requests_and_shares_no_partition(
        api, account, drain, stack, aws_calls) -> None:
    """Bug caught: a send path that grows a request (a read, a second write) or writes the
    message onto a partition shared by the account's other emails (a hot key at scale)."""
    api.post("/v1/emails", _email(account), key=account.api_key)  # warm caches, as in Lambda
    drain()
    aws_calls.take()
    email_id = api.post("/v1/emails", _email(account), key=account.api_key).json["id"]
    in_api = aws_calls.take()
    assert len(in_api) <= 4, [op for op, _ in in_api]
    drain()
    in_worker = aws_calls.take()
    own = message_partition(account.account_id, email_id)
    for phase in (in_api, in_worker):
        shared = {pk: n for pk, n in _written_partitions(phase).items() if pk != own}
        assert all(n == 1 for n in shared.values()), shared  # counters, rate: once each
        assert not any(pk.startswith("ACCT#") for pk in shared), shared
    assert _written_partitions(in_api)[own] == 2  # the message and its queued event


def test_messages_of_one_account_never_share_a_partition(api, account, stack) -> None:
    """Bug caught: a key derived from the account alone (or a few bits of the id) putting
    every email of a busy account on the same few partitions."""
    ids = [api.post("/v1/emails", _email(account, to=f"r{n}@example.net"),
                    key=account.api_key).json["id"] for n in range(6)]
    table = stack.env["LETTERBOX_TABLE_NAME"]
    pks = set()
    for email_id in ids:
        items = stack.client("dynamodb").query(
            TableName=table, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": message_partition(account.account_id,
                                                                      email_id)}})["Items"]
        assert {i["sk"]["S"].split("#EVT#")[0] for i in items} == {f"EM#{email_id}"}
        pks |= {i["pk"]["S"] for i in items}
    assert len(pks) == len(ids)


def _move_to_layout(stack, account, email_id: str, layout: int) -> None:
    """Rewrite a message and its events as an earlier release stored them."""
    client, table = stack.client("dynamodb"), stack.env["LETTERBOX_TABLE_NAME"]
    own = message_partition(account.account_id, email_id)
    items = client.query(TableName=table, KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": {"S": own}})["Items"]
    assert items
    for item in items:
        client.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
        client.put_item(TableName=table, Item={
            **item, "pk": {"S": legacy_partitions(account.account_id, email_id)[layout]}})


@pytest.mark.parametrize("layout", [0, 1], ids=["account-shard", "account-partition"])
def test_a_queued_email_of_an_earlier_layout_is_sent_and_tracked(
        api, account, drain, stack, layout) -> None:
    """Bug caught: after the re-keying deploys, emails still queued under the old keys are
    skipped by the worker's claim and stay ``queued`` for ever, or their events vanish."""
    email_id = api.post("/v1/emails", _email(account), key=account.api_key).json["id"]
    _move_to_layout(stack, account, email_id, layout)
    assert drain() == 1
    shown = api.get(f"/v1/emails/{email_id}", key=account.api_key).json
    assert shown["status"] == "sent"
    _ses_delivery(stack, account, email_id)
    shown = api.get(f"/v1/emails/{email_id}", key=account.api_key).json
    assert shown["status"] == "delivered"
    assert sorted(e["type"] for e in shown["events"]) == ["delivered", "queued", "sent"]
    own = message_partition(account.account_id, email_id)
    stray = stack.client("dynamodb").query(
        TableName=stack.env["LETTERBOX_TABLE_NAME"], KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": own}})["Items"]
    assert stray == []  # nothing written beside it under the new key
    listed = api.get(f"/v1/events?email_id={email_id}", key=account.api_key).json["data"]
    assert sorted(e["type"] for e in listed) == ["delivered", "queued", "sent"]


def test_a_scheduled_email_of_the_previous_layout_can_be_cancelled(api, account,
                                                                   stack) -> None:
    """Bug caught: cancel and reschedule answering 409 (or writing a stray item under the
    new key) for a scheduled email stored before the re-keying."""
    from datetime import UTC, datetime, timedelta
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    email_id = api.post("/v1/emails", _email(account, scheduled_at=later),
                        key=account.api_key).json["id"]
    _move_to_layout(stack, account, email_id, 0)
    moved = api.request("PATCH", f"/v1/emails/{email_id}",
                        {"scheduled_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()},
                        key=account.api_key)
    assert moved.status_code == 200
    cancelled = api.post(f"/v1/emails/{email_id}/cancel", key=account.api_key)
    assert cancelled.status_code == 200
    shown = api.get(f"/v1/emails/{email_id}", key=account.api_key).json
    assert shown["status"] == "cancelled"
    assert [e["type"] for e in shown["events"]][-1] == "cancelled"


def test_account_export_and_erasure_reach_messages_in_their_own_partitions(
        api, account, drain, stack) -> None:
    """Bug caught: export and closure walking only the account's fixed partitions, so every
    message keyed by its own id is left out of the export and survives the erasure."""
    from chalicelib import wiring
    new_id = api.post("/v1/emails", _email(account), key=account.api_key).json["id"]
    old_id = api.post("/v1/emails", _email(account), key=account.api_key).json["id"]
    _move_to_layout(stack, account, old_id, 0)
    drain()
    from chalicelib.adapters.privacy_store import DynamoPrivacyStore
    store = DynamoPrivacyStore(wiring.container().table)
    exported, cursor = [], None
    while True:
        page, cursor = store.account_page(account.account_id, 2, cursor)
        exported += page
        if cursor is None:
            break
    messages = {i["message_id"] for i in exported if i["sk"] == f"EM#{i.get('message_id')}"}
    assert {new_id, old_id} <= messages
    assert sum(1 for i in exported if i["sk"] == f"EM#{new_id}") == 1  # exported once

    from chalicelib.purge import PurgeReport
    purger = wiring.container().purger()
    assert purger.erase_account(account.account_id, PurgeReport())
    client, table = stack.client("dynamodb"), stack.env["LETTERBOX_TABLE_NAME"]
    for pk in (message_partition(account.account_id, new_id),
               legacy_partitions(account.account_id, old_id)[0]):
        left = client.query(TableName=table, KeyConditionExpression="pk = :pk",
                            ExpressionAttributeValues={":pk": {"S": pk}})["Items"]
        assert left == []


def _index_entries(stack, calls: list[tuple[str, dict[str, Any]]]) -> Counter[tuple[str, str]]:
    """(index, partition) of each index entry the requests wrote, by the rules DynamoDB
    bills replica writes by (``letterbox/capacity.py``, from the template)."""
    from boto3.dynamodb.types import TypeDeserializer

    from letterbox.capacity import entries_written, table_indexes, updated_attributes
    indexes, wire = table_indexes(), TypeDeserializer()
    client, table = stack.client("dynamodb"), stack.env["LETTERBOX_TABLE_NAME"]

    def plain(item: dict[str, Any]) -> dict[str, Any]:
        return {name: wire.deserialize(value) for name, value in item.items()}

    written: Counter[tuple[str, str]] = Counter()
    for operation, params in calls:
        bodies = ([params] if operation in ("PutItem", "UpdateItem") else
                  [next(iter(op.values())) for op in params.get("TransactItems", [])] +
                  [r["PutRequest"] for rs in params.get("RequestItems", {}).values()
                   for r in rs if "PutRequest" in r and operation == "BatchWriteItem"])
        for body in bodies:
            if "Item" in body:
                written.update(entries_written(indexes, plain(body["Item"])))
            elif "UpdateExpression" in body:
                after = client.get_item(TableName=table, Key=body["Key"],
                                        ConsistentRead=True).get("Item", body["Key"])
                written.update(entries_written(indexes, plain(after), updated_attributes(
                    body["UpdateExpression"], body.get("ExpressionAttributeNames"))))
    return written


def test_no_path_writes_an_account_wide_index_key_twice_per_email(
        api, account, drain, stack, aws_calls) -> None:
    """Bug caught: a listing index that copies the whole message, so the worker's claim and
    its sending mark each rewrite the account's listing shard (three writes per email on a
    key every email of the account shares, and three replica writes billed)."""
    api.post("/v1/emails", _email(account), key=account.api_key)
    drain()
    aws_calls.take()
    email_id = api.post("/v1/emails", _email(account), key=account.api_key).json["id"]
    phases = {"api": aws_calls.take()}
    drain()
    phases["worker"] = aws_calls.take()
    _ses_delivery(stack, account, email_id)
    phases["event"] = aws_calls.take()
    for name, calls in phases.items():
        entries = _index_entries(stack, calls)
        aws_calls.take()  # the reads above
        shared = {key: n for key, n in entries.items()
                  if key[1].startswith(("EMAILS#", "EVENTS#"))}
        assert shared and all(n == 1 for n in shared.values()), (name, shared)
        listing = [key for key in entries if key[0] == "gsi4"]
        assert len(listing) == 1, (name, entries)  # created, then its status: sent, delivered

"""SPEC §2 under load: DynamoDB throttles, cancels conflicting transactions and times out.
Each is retried where that is safe, otherwise answered 503 with Retry-After, and a retry of
the same request (same Idempotency-Key) leaves exactly one email, one count, one charge.

The table talks to moto through ``FlakyClient``: the real client, with chosen operations
failing first exactly as DynamoDB answers them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib import wiring

SEND = {"to": "a@example.net", "subject": "s", "text": "t"}


def client_error(code: str, operation: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code},
                                "ResponseMetadata": {"HTTPStatusCode": 400}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, operation)  # type: ignore[arg-type]


class FlakyClient:
    """The moto client, except that chosen calls fail: ``failures[operation][n]`` is raised
    by the n-th call (from 1) of that operation."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.failures: dict[str, dict[int, Exception]] = {}
        self.calls: list[str] = []

    def fail(self, operation: str, *errors: Exception, first: int = 1) -> None:
        self.failures[operation] = {first + i: e for i, e in enumerate(errors)}

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            error = self.failures.get(name, {}).get(self.calls.count(name))
            if error is not None:
                raise error
            return real(**kwargs)
        return call


@pytest.fixture
def flaky(stack, account) -> FlakyClient:
    from chalicelib.adapters.dynamo import DynamoTable
    built = wiring.container()
    client = FlakyClient(built.client("dynamodb"))
    wiring.use(table=DynamoTable(client, built.settings.table_name))
    return client


def _totals(api, account) -> dict[str, int]:
    return api.get("/v1/stats", key=account.api_key).json["totals"]


def _quota_used(account) -> int:
    return wiring.container().counters.quota_used(account.account_id, datetime.now(UTC))


def test_throttled_quota_write_is_503_and_the_retry_counts_once(api, account, flaky) -> None:
    """Bug caught: a throttled UpdateItem answered 500, or the failed attempt left a charge
    or an email behind so the retry doubled it."""
    # UpdateItem 1 is the rate limit, 2 the quota charge with the day's count: throttled.
    flaky.fail("update_item", client_error("ProvisionedThroughputExceededException",
                                           "UpdateItem"), first=2)
    body = {"from": f"hi@{account.domain}", **SEND}
    headers = {"Idempotency-Key": "order-1"}
    first = api.post("/v1/emails", body, key=account.api_key, headers=headers)
    assert first.status_code == 503, first.body
    assert first.json["error"]["code"] == "service_unavailable"
    assert int(first.headers["retry-after"]) >= 1
    assert api.get("/v1/emails", key=account.api_key).json["data"] == [], "nothing stored"
    again = api.post("/v1/emails", body, key=account.api_key, headers=headers)
    assert again.status_code == 202, again.body
    listed = api.get("/v1/emails", key=account.api_key).json["data"]
    assert [e["id"] for e in listed] == [again.json["id"]], "exactly one email"
    assert _totals(api, account).get("queued") == 1
    assert _quota_used(account) == 1


def test_failed_store_after_the_charge_gives_the_quota_back(api, account, flaky) -> None:
    """Bug caught: the quota was charged, the email never stored, and the day's quota and
    counts kept the phantom send."""
    flaky.fail("batch_write_item", ReadTimeoutError(endpoint_url="http://dynamodb"))
    body = {"from": f"hi@{account.domain}", **SEND}
    first = api.post("/v1/emails", body, key=account.api_key)
    assert first.status_code == 503 and "retry-after" in first.headers
    assert _quota_used(account) == 0 and not _totals(api, account).get("queued")
    assert api.post("/v1/emails", body, key=account.api_key).status_code == 202
    assert _quota_used(account) == 1 and _totals(api, account)["queued"] == 1


def _scheduled(api, account) -> str:
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    answer = api.post("/v1/emails", {"from": f"hi@{account.domain}", **SEND,
                                     "scheduled_at": later}, key=account.api_key)
    assert answer.status_code == 202, answer.body
    return str(answer.json["id"])


def test_transaction_conflict_is_retried_and_records_once(api, account, flaky) -> None:
    """Bug caught: TransactionCanceledException(TransactionConflict), which botocore does not
    retry, surfaced as a 500 (the issue's load test) or recorded the cancellation twice."""
    email_id = _scheduled(api, account)
    conflict = client_error("TransactionCanceledException", "TransactWriteItems",
                            ["TransactionConflict", "None"])
    flaky.fail("transact_write_items", conflict, conflict)
    cancelled = api.post(f"/v1/emails/{email_id}/cancel", key=account.api_key)
    assert cancelled.status_code == 200, cancelled.body
    assert flaky.calls.count("transact_write_items") == 3, "two conflicts, then success"
    events = [e["type"] for e in cancelled.json["events"]]
    assert events.count("cancelled") == 1 and cancelled.json["status"] == "cancelled"
    assert _totals(api, account).get("cancelled") == 1


def test_lasting_conflict_is_503_and_the_retry_succeeds(api, account, flaky) -> None:
    """Bug caught: a conflict that outlasts our retries answered 500 or half-cancelled."""
    email_id = _scheduled(api, account)
    conflict = client_error("TransactionCanceledException", "TransactWriteItems",
                            ["None", "TransactionConflict"])
    flaky.fail("transact_write_items", *[conflict] * 4)
    refused = api.post(f"/v1/emails/{email_id}/cancel", key=account.api_key)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert api.get(f"/v1/emails/{email_id}", key=account.api_key).json["status"] == "scheduled"
    retried = api.post(f"/v1/emails/{email_id}/cancel", key=account.api_key)
    assert retried.status_code == 200
    assert [e["type"] for e in retried.json["events"]].count("cancelled") == 1
    assert _totals(api, account).get("cancelled") == 1


def test_a_throttled_ses_event_fails_alone_and_is_counted_once(api, account, drain, stack,
                                                               flaky) -> None:
    """Bug caught: one throttled write failing the whole SES-events batch (its other events
    redelivered and, before, retried until the dead-letter queue), or the retry counting
    twice."""
    import json

    import app as app_module
    from letterbox.local.pump import drain_once
    from tests.flows import ses_fixture
    ids = []
    for n in range(3):
        ids.append(api.post("/v1/emails", {"from": f"hi@{account.domain}",
                                           "to": f"r{n}@example.net", "subject": "s",
                                           "text": "t"}, key=account.api_key).json["id"])
    drain()
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    sns, sqs = stack.client("sns"), stack.client("sqs")
    for email_id in ids:
        sns.publish(TopicArn=topic, Message=json.dumps(
            ses_fixture("delivery", email_id, account.account_id)))
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    queue = sqs.get_queue_url(QueueName=subscription["Endpoint"].rsplit(":", 1)[1])["QueueUrl"]
    puts = flaky.calls.count("put_item")  # the second delivery event's write is throttled
    flaky.fail("put_item", client_error("ProvisionedThroughputExceededException", "PutItem"),
               first=puts + 2)
    assert drain_once(sqs, queue, app_module.ingest_ses_events, "ingest_ses_events") == 3
    statuses = [api.get(f"/v1/emails/{i}", key=account.api_key).json["status"] for i in ids]
    assert sorted(statuses) == ["delivered", "delivered", "delivered"], (
        "the status moves first, so the throttled event's status is already right")
    assert _totals(api, account).get("delivered") == 2, "its count waits for the retry"
    waiting = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert sum(int(n) for n in waiting.values()) == 1, "only it stays on the queue"

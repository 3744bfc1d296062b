"""The send worker: partial batch failures, retries and no double sends."""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import app as app_module
from chalicelib import wiring
from chalicelib.errors import RetryableFailure
from letterbox.local.pump import LambdaContext, sqs_event


def _ses_sent() -> list:
    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages


def _queue_three(api, account) -> list[str]:
    ids = []
    for n in range(3):
        response = api.post("/v1/emails", {"from": f"x@{account.domain}", "to": "a@example.net",
                                           "subject": f"n{n}", "text": "t"}, key=account.api_key)
        ids.append(response.json["id"])
    return ids


def _receive(stack) -> tuple[list[dict], dict]:
    sqs = stack.client("sqs")
    url = stack.env["LETTERBOX_SEND_QUEUE_URL"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return messages, sqs_event(messages, arn["Attributes"]["QueueArn"], "us-east-1")


class FlakySender:
    """Real SES underneath; throttled for chosen messages, as SES does under load."""

    def __init__(self, inner, failing: set[str]) -> None:
        self.inner, self.failing = inner, failing

    def send_raw(self, message_id, raw, sender, destinations, tags=None):
        if message_id in self.failing:
            raise RetryableFailure("ses Throttling")
        return self.inner.send_raw(message_id, raw, sender, destinations, tags)


def test_one_failing_record_is_the_only_one_reported(api, account, stack) -> None:
    ids = _queue_three(api, account)
    real = wiring.container().email_sender
    wiring.use(email_sender=FlakySender(real, {ids[1]}))
    messages, event = _receive(stack)
    assert len({r["messageId"] for r in event["Records"]}) == 3, "ids must be distinct"
    by_email = {m["Body"].split('"message_id":"')[1][:29]: m["MessageId"] for m in messages}

    result = app_module.send_worker(event, LambdaContext("send_worker"))

    assert result["batchItemFailures"] == [{"itemIdentifier": by_email[ids[1]]}]
    assert len(_ses_sent()) == 2
    statuses = [api.get(f"/v1/emails/{i}", key=account.api_key).json["status"] for i in ids]
    assert statuses == ["sent", "queued", "sent"]

    # The queue redelivers the whole batch (a Lambda timeout does that): no double sends.
    wiring.use(email_sender=real)
    again = app_module.send_worker(event, LambdaContext("send_worker"))
    assert again["batchItemFailures"] == []
    assert len(_ses_sent()) == 3, "the two already sent are not sent again"
    statuses = [api.get(f"/v1/emails/{i}", key=account.api_key).json["status"] for i in ids]
    assert statuses == ["sent", "sent", "sent"]


def test_permanent_ses_refusal_marks_failed_and_is_not_retried(api, account, stack) -> None:
    ids = _queue_three(api, account)
    stack.client("ses").delete_identity(Identity=account.domain)  # SES now rejects the sender
    _, event = _receive(stack)
    result = app_module.send_worker(event, LambdaContext("send_worker"))
    assert result["batchItemFailures"] == []
    email = api.get(f"/v1/emails/{ids[0]}", key=account.api_key).json
    assert email["status"] == "failed"
    assert email["events"][-1]["type"] == "failed"
    assert "MessageRejected" in email["events"][-1]["data"]["reason"]


def test_a_malformed_queue_record_fails_alone(api, account, stack) -> None:
    ids = _queue_three(api, account)
    _, event = _receive(stack)
    event["Records"][0]["body"] = "{not json"
    result = app_module.send_worker(event, LambdaContext("send_worker"))
    assert result["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    assert len(_ses_sent()) == 2
    del ids


def test_queue_outage_is_a_503_and_the_message_shows_failed(api, account, stack,
                                                            monkeypatch) -> None:
    queue = wiring.container().send_queue

    def down(*args, **kwargs):
        raise RetryableFailure("sqs send_message failed")
    monkeypatch.setattr(queue, "enqueue", down)
    response = api.post("/v1/emails", {"from": f"x@{account.domain}", "to": "a@example.net",
                                       "subject": "s", "text": "t"}, key=account.api_key)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "1"
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    logged = [i for i in items if i["sk"]["S"].startswith("EM#") and "#EVT#" not in i["sk"]["S"]]
    assert [i["status"]["S"] for i in logged] == ["failed"], "never left looking queued"


def test_store_outage_after_ses_accepts_never_resends(api, account, stack, monkeypatch) -> None:
    _queue_three(api, account)
    store = wiring.container().message_store
    real_transition = store.transition

    def flaky(account_id, message_id, status, *args, **kwargs):
        if status == "sent":
            raise RetryableFailure("dynamodb ThrottlingException")
        return real_transition(account_id, message_id, status, *args, **kwargs)
    monkeypatch.setattr(store, "transition", flaky)
    _, event = _receive(stack)
    result = app_module.send_worker(event, LambdaContext("send_worker"))
    assert result["batchItemFailures"] == [], "a retry would hand SES the same mail again"
    assert len(_ses_sent()) == 3


def test_ses_read_timeout_is_one_attempt_and_never_resent(api, account, stack) -> None:
    """Bug caught (issue 14 item 8): the shared client config retrying SendEmail after a read
    timeout (SES may have accepted it), and SQS retrying it again after that."""
    from botocore.exceptions import ReadTimeoutError
    ids = _queue_three(api, account)
    client = wiring.container().client("sesv2", attempts=1)
    calls = []

    def timeout(request, **kwargs):
        calls.append(1)
        raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")
    client.meta.events.register("before-send.sesv2.SendEmail", timeout)
    try:
        _, event = _receive(stack)
        result = app_module.send_worker(event, LambdaContext("send_worker"))
    finally:
        client.meta.events.unregister("before-send.sesv2.SendEmail", timeout)
    assert len(calls) == 3, "one attempt per message, no botocore retry"
    assert result["batchItemFailures"] == []
    for message_id in ids:
        body = api.get(f"/v1/emails/{message_id}", key=account.api_key).json
        assert body["status"] == "failed"
        assert body["events"][-1]["data"]["reason"] == "unknown_outcome"


def test_lease_expiry_after_a_death_mid_send_does_not_resend(api, account, stack) -> None:
    """Bug caught: the DynamoDB claim letting a redelivery take a message whose first attempt
    died inside the SES call (its lease expired), so SES gets it twice."""
    from chalicelib.send_worker import CLAIM_LEASE_SECONDS
    ids = _queue_three(api, account)
    store = wiring.container().message_store
    past = int(__import__("time").time()) - CLAIM_LEASE_SECONDS - 5
    assert store.claim(account.account_id, ids[0], past, CLAIM_LEASE_SECONDS).value == "claimed"
    assert store.mark_sending(account.account_id, ids[0], past + CLAIM_LEASE_SECONDS, past)
    _, event = _receive(stack)
    app_module.send_worker(event, LambdaContext("send_worker"))
    assert len(_ses_sent()) == 2
    body = api.get(f"/v1/emails/{ids[0]}", key=account.api_key).json
    assert (body["status"], body["events"][-1]["data"]["reason"]) == ("failed", "unknown_outcome")

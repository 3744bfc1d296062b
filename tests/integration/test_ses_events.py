"""SES events through /webhooks/ses: SNS signatures, normalization, state machine, suppression."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from chalicelib import wiring
from chalicelib.tracking.ses_mapping import normalize_ses
from letterbox.local.simulator import LocalSnsSigner, SimulatingSender, simulated_events

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ses"
EXPECTED = {
    "send": ("sent", None), "delivery": ("delivered", None),
    "bounce_permanent": ("bounced", "permanent"), "bounce_transient": ("bounced", "transient"),
    "bounce_suppressed": ("bounced", "permanent"), "complaint": ("complained", None),
    "reject": ("rejected", None), "open": ("opened", None), "click": ("clicked", None),
    "rendering_failure": ("failed", None), "delivery_delay": ("deferred", None),
    "subscription": ("unsubscribed", None), "notification_bounce": ("bounced", "undetermined"),
    "future_type": ("unknown", None),
}


def _fixture(name: str, email_id: str = "em_X", account_id: str = "acct_X") -> dict:
    text = (FIXTURES / f"{name}.json").read_text()
    return json.loads(text.replace("EM_ID", email_id).replace("ACCOUNT_ID", account_id))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_ses_event_type_maps_to_our_vocabulary(name) -> None:
    (event,) = normalize_ses(_fixture(name))
    assert (event.type, event.bounce_type) == EXPECTED[name]
    assert event.letterbox_id == "em_X" and event.account_id == "acct_X"
    if name not in ("future_type", "send", "reject", "rendering_failure", "open", "click",
                    "subscription"):
        assert event.recipient == "recipient@example.net"


def test_garbage_maps_to_unknown_not_an_exception() -> None:
    assert [e.type for e in normalize_ses({})] == ["unknown"]
    assert [e.type for e in normalize_ses({"eventType": "Bounce", "bounce": None})] == ["bounced"]


@pytest.fixture
def signer(stack, tmp_path, monkeypatch) -> LocalSnsSigner:
    made = LocalSnsSigner(tmp_path / "sns.pem")
    monkeypatch.setenv("LETTERBOX_SNS_LOCAL_CERT_FILE", str(tmp_path / "sns.pem"))
    wiring.reset()
    return made


def _post(api, envelope: dict):
    return api.post("/webhooks/ses", raw=json.dumps(envelope),
                    headers={"Content-Type": "text/plain; charset=UTF-8"})


def _sent_email(api, account, drain, to: str) -> str:
    email_id = api.post("/v1/emails", {"from": f"hi@{account.domain}", "to": to,
                                       "subject": "s", "text": "t"}, key=account.api_key).json["id"]
    drain()
    return email_id


def _detail(api, account, email_id: str) -> dict:
    return api.get(f"/v1/emails/{email_id}", key=account.api_key).json


def test_delivery_then_late_send_keeps_delivered(api, account, drain, stack, signer) -> None:
    email_id = _sent_email(api, account, drain, "recipient@example.net")
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    delivered = _post(api, signer.envelope(topic, _fixture("delivery", email_id,
                                                           account.account_id)))
    assert delivered.status_code == 200 and delivered.json == {"recorded": 1,
                                                               "subscription": None}
    late = _post(api, signer.envelope(topic, _fixture("send", email_id, account.account_id)))
    assert late.status_code == 200
    detail = _detail(api, account, email_id)
    assert detail["status"] == "delivered"
    assert [e["type"] for e in detail["events"]].count("sent") == 2, "timeline keeps it"


def test_same_sns_message_twice_changes_nothing(api, account, drain, stack, signer) -> None:
    email_id = _sent_email(api, account, drain, "recipient@example.net")
    envelope = signer.envelope(stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"],
                               _fixture("delivery", email_id, account.account_id))
    assert _post(api, envelope).json["recorded"] == 1
    assert _post(api, envelope).json["recorded"] == 0
    types = [e["type"] for e in _detail(api, account, email_id)["events"]]
    assert types.count("delivered") == 1


@pytest.mark.parametrize(("fixture", "status", "suppressed"), [
    ("bounce_permanent", "bounced", True), ("bounce_transient", "bounced", False),
    ("complaint", "complained", True)])
def test_bounces_and_complaints(api, account, drain, stack, signer, fixture, status,
                                suppressed) -> None:
    email_id = _sent_email(api, account, drain, "recipient@example.net")
    _post(api, signer.envelope(stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"],
                               _fixture(fixture, email_id, account.account_id)))
    detail = _detail(api, account, email_id)
    assert detail["status"] == status
    if fixture.startswith("bounce"):
        (bounce,) = [e for e in detail["events"] if e["type"] == "bounced"]
        assert bounce["data"]["bounce_type"] == fixture.split("_")[1]
        assert bounce["recipient"] == "recipient@example.net"
    listed = api.get("/v1/suppressions", key=account.api_key).json["data"]
    assert bool(listed) is suppressed
    if suppressed:
        assert listed[0]["reason"] in ("bounce", "complaint")


def _tamper(envelope: dict, **changes) -> dict:
    return {**envelope, **changes}


def test_forged_or_foreign_notifications_are_refused(api, account, drain, stack,
                                                     signer) -> None:
    email_id = _sent_email(api, account, drain, "recipient@example.net")
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    good = signer.envelope(topic, _fixture("bounce_permanent", email_id, account.account_id))
    forged_message = good["Message"].replace("Permanent", "Transient")
    cases = {
        "changed byte": _tamper(good, Message=forged_message),
        "wrong cert host": _tamper(good, SigningCertURL="https://evil.example.com/cert.pem"),
        "http cert": _tamper(good, SigningCertURL=good["SigningCertURL"].replace("https", "http")),
        "wrong topic": signer.envelope("arn:aws:sns:us-east-1:999999999999:other",
                                       json.loads(good["Message"])),
        "bad signature": _tamper(good, Signature=base64.b64encode(b"x" * 256).decode()),
        "unsigned": {k: v for k, v in good.items() if k != "Signature"},
        "version 9": _tamper(good, SignatureVersion="9"),
    }
    for name, envelope in cases.items():
        response = _post(api, envelope)
        assert response.status_code in (400, 403), name
    assert _post(api, {"hello": "world"}).status_code == 400
    assert api.post("/webhooks/ses", raw="not json",
                    headers={"Content-Type": "text/plain"}).status_code == 400
    assert _detail(api, account, email_id)["status"] == "sent", "nothing changed"
    assert api.get("/v1/suppressions", key=account.api_key).json["data"] == []


def test_signature_version_1_is_accepted(api, account, drain, stack, signer) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from chalicelib.tracking.sns import string_to_sign
    email_id = _sent_email(api, account, drain, "recipient@example.net")
    envelope = signer.envelope(stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"],
                               _fixture("delivery", email_id, account.account_id))
    envelope["SignatureVersion"] = "1"
    envelope["Signature"] = base64.b64encode(signer._key.sign(
        string_to_sign(envelope), padding.PKCS1v15(), hashes.SHA1())).decode()  # noqa: S303
    assert _post(api, envelope).json["recorded"] == 1


def test_subscription_confirmation_is_confirmed_through_the_api(api, stack, signer,
                                                               monkeypatch) -> None:
    confirmed = []
    monkeypatch.setattr("chalicelib.adapters.sns_subscriptions.SnsSubscriptions.confirm",
                        lambda self, topic, token: confirmed.append((topic, token)))
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from chalicelib.tracking.sns import string_to_sign
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    envelope = {"Type": "SubscriptionConfirmation", "MessageId": "m-1", "Token": "tok",
                "TopicArn": topic, "Message": "You have chosen to subscribe…",
                "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
                "Timestamp": "2026-11-22T10:00:00.000Z", "SignatureVersion": "2",
                "SigningCertURL": signer.envelope(topic, {})["SigningCertURL"]}
    envelope["Signature"] = base64.b64encode(signer._key.sign(
        string_to_sign(envelope), padding.PKCS1v15(), hashes.SHA256())).decode()
    response = _post(api, envelope)
    assert response.json["subscription"] == "confirmed" and confirmed == [(topic, "tok")]


def test_the_local_simulator_speaks_for_each_address() -> None:
    mail = {"messageId": "ses-1", "tags": {}}
    kinds = {address: [e["eventType"] for e in simulated_events(address, mail)] for address in (
        "success@simulator.amazonses.com", "bounce@simulator.amazonses.com",
        "complaint+x@simulator.amazonses.com", "suppressionlist@simulator.amazonses.com",
        "ooto@simulator.amazonses.com", "someone@example.org")}
    assert kinds == {"success@simulator.amazonses.com": ["Delivery"],
                     "bounce@simulator.amazonses.com": ["Bounce"],
                     "complaint+x@simulator.amazonses.com": ["Delivery", "Complaint"],
                     "suppressionlist@simulator.amazonses.com": ["Bounce"],
                     "ooto@simulator.amazonses.com": ["Delivery"],
                     "someone@example.org": ["Delivery"]}
    (bounce,) = simulated_events("suppressionlist@simulator.amazonses.com", mail)
    assert bounce["bounce"]["bounceSubType"] == "OnAccountSuppressionList"


def test_simulator_events_flow_through_the_real_webhook(api, account, drain, stack,
                                                        signer) -> None:
    posted: list[dict] = []
    inner = wiring.container().email_sender
    wiring.use(email_sender=SimulatingSender(inner, signer,
                                             stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"],
                                             posted.append))
    bounced = _sent_email(api, account, drain, "bounce@simulator.amazonses.com")
    complained = _sent_email(api, account, drain, "complaint@simulator.amazonses.com")
    for envelope in posted:
        assert _post(api, envelope).status_code == 200
    assert _detail(api, account, bounced)["status"] == "bounced"
    assert _detail(api, account, complained)["status"] == "complained"
    suppressed = {s["email"] for s in api.get("/v1/suppressions",
                                              key=account.api_key).json["data"]}
    assert suppressed == {"bounce@simulator.amazonses.com",
                          "complaint@simulator.amazonses.com"}


def test_events_arrive_through_the_topics_queue_subscription(api, account, drain,
                                                             stack) -> None:
    """Production path: SES → SNS topic → SQS subscription → ingest_ses_events."""
    import app as app_module
    from letterbox.local.pump import drain_once
    email_id = _sent_email(api, account, drain, "recipient@example.net")
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    sns = stack.client("sns")
    for name in ("delivery", "bounce_permanent"):
        sns.publish(TopicArn=topic, Message=json.dumps(_fixture(name, email_id,
                                                                account.account_id)))
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    queue_name = subscription["Endpoint"].rsplit(":", 1)[1]
    sqs = stack.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    assert drain_once(sqs, queue_url, app_module.ingest_ses_events, "ingest_ses_events") == 2
    detail = _detail(api, account, email_id)
    assert detail["status"] == "bounced"
    assert {"delivered", "bounced"} <= {e["type"] for e in detail["events"]}
    assert all("raw" not in e["data"] for e in detail["events"])
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(
        {"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:other", "Message": "{}"}))
    assert drain_once(sqs, queue_url, app_module.ingest_ses_events, "ingest_ses_events") == 1
    assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0", (
        "a foreign message is refused, not retried")


def test_events_are_written_without_reading_the_message_yet_show_its_metadata(
        api, account, drain, stack, signer) -> None:
    """The Delivery event costs one conditional write; metadata is joined where it is read:
    the event listing and webhook payloads (only when someone listens)."""
    email_id = api.post("/v1/emails", {"from": f"hi@{account.domain}",
                                       "to": "recipient@example.net", "subject": "s",
                                       "text": "t", "metadata": {"order": "42"},
                                       "tags": [{"name": "kind", "value": "receipt"}]},
                        key=account.api_key).json["id"]
    drain()
    api.post("/v1/webhooks", {"url": "https://hooks.example.com/x",
                              "event_types": ["email.delivered"]}, key=account.api_key)
    fixture = _fixture("delivery", email_id, account.account_id)
    fixture["mail"]["tags"]["kind"] = ["receipt"]
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    assert _post(api, signer.envelope(topic, fixture)).json["recorded"] == 1
    listed = api.get(f"/v1/events?type=delivered&email_id={email_id}",
                     key=account.api_key).json["data"]
    assert listed[0]["metadata"] == {"order": "42"}
    assert listed[0]["tags"] == [{"name": "kind", "value": "receipt"}]
    queued = stack.client("sqs").receive_message(
        QueueUrl=stack.env["LETTERBOX_WEBHOOK_QUEUE_URL"], MaxNumberOfMessages=10)
    (payload,) = [json.loads(m["Body"])["payload"] for m in queued["Messages"]]
    assert payload["data"]["metadata"] == {"order": "42"}


def test_an_event_for_a_message_that_is_gone_records_nothing(api, account, stack,
                                                            signer) -> None:
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    for name in ("delivery", "open"):
        ghost = _fixture(name, "em_01ARZ3NDEKTSV4RRFFQ69G5FAV", account.account_id)
        assert _post(api, signer.envelope(topic, ghost)).json["recorded"] == 0
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    assert not [i for i in items if "#EVT#" in i["sk"]["S"]
                and "em_01ARZ3NDEKTSV4RRFFQ69G5FAV" in i["sk"]["S"]]

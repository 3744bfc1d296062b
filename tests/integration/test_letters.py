"""Letters end to end under moto with the sandbox carrier: accepted, submitted exactly once
after the cancellation window, tracked to a final status with letter.* events, and the
address purged 30 days after delivery."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

import app as app_module
from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.letter_models import LetterJob
from letterbox.local.pump import LambdaContext, drain_once, scheduled_event
from tests.flows import bucket_objects, dump, scan

PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").decode()
TO = {"name": "Jane Roe", "address_line1": "1600 pennsylvania avenue northwest",
      "address_line2": "suite 100", "city": "washington", "state": "dc",
      "postal_code": "20500"}
FROM = {"company": "Acme Inc", "address_line1": "185 berry street", "city": "san francisco",
        "state": "ca", "postal_code": "94107"}


@pytest.fixture
def letters(stack, monkeypatch):
    """No cancellation window and a sandbox that moves instantly, unless a test says not."""
    monkeypatch.setenv("LETTERBOX_LETTER_CANCEL_WINDOW_SECONDS", "0")
    monkeypatch.setenv("LETTERBOX_SANDBOX_STEP_SECONDS", "0.001")
    wiring.reset()

    def drain() -> int:
        handled = 0
        while count := drain_once(stack.client("sqs"), stack.env["LETTERBOX_LETTER_QUEUE_URL"],
                                  app_module.submit_letters, "submit_letters"):
            handled += count
        return handled
    return drain


def _scheduled(handler):
    return handler(scheduled_event(), LambdaContext("scheduled"))


def _create(api, account, **fields):
    return api.post("/v1/letters", {"to": TO, "from": FROM, "pdf": PDF, **fields},
                    key=account.api_key)


def test_a_letter_is_normalized_submitted_once_and_tracked_to_delivered(
        api, account, stack, letters, tmp_path) -> None:
    api.post("/v1/webhooks", {"url": "https://hooks.example.com/l",
                              "event_types": ["letter.delivered"]}, key=account.api_key)
    created = _create(api, account, metadata={"order": "42"}, certified=True)
    assert created.status_code == 201, created.json
    letter = created.json
    assert letter["status"] == "created" and letter["carrier"] == "sandbox"
    assert letter["to"]["address_line1"] == "1600 PENNSYLVANIA AVE NW"
    assert letter["to"]["address_line2"] == "STE 100" and letter["to"]["state"] == "DC"
    assert [k for k in bucket_objects(stack) if k.startswith("letters/")]

    assert letters() == 1
    sandbox = wiring.container().carriers.get("sandbox")
    (order,) = sandbox.shipments
    assert order.reference == letter["id"] and order.certified is True
    assert not [k for k in bucket_objects(stack) if k.startswith("letters/")], (
        "the document is gone once the carrier has the piece")
    assert (tmp_path / "letters" / f"{letter['id']}.pdf").read_bytes().startswith(b"%PDF")
    submitted = api.get(f"/v1/letters/{letter['id']}", key=account.api_key).json
    assert submitted["status"] == "submitted" and submitted["tracking_number"].startswith("SBX")

    container = wiring.container()
    _scheduled(app_module.sweep_scheduled)  # harmless: nothing is due twice
    # A second delivery of the same queue record changes nothing.
    container.letter_submitter.submit(LetterJob(account_id=account.account_id,
                                                letter_id=letter["id"]), utcnow())
    assert len(sandbox.shipments) == 1

    assert _scheduled(app_module.poll_letter_tracking)["sandbox"] == 3
    assert _scheduled(app_module.poll_letter_tracking)["sandbox"] == 0, "each carrier event once"
    final = api.get(f"/v1/letters/{letter['id']}", key=account.api_key).json
    assert final["status"] == "delivered"
    assert [e["status"] for e in final["events"]] == [
        "created", "submitted", "in_transit", "out_for_delivery", "delivered"]
    assert final["events"][-1]["carrier_code"] == "DELIVERED"
    assert "Sandbox City" in final["events"][-1]["location"]
    queued = stack.client("sqs").receive_message(
        QueueUrl=stack.env["LETTERBOX_WEBHOOK_QUEUE_URL"], MaxNumberOfMessages=10)
    payloads = [json.loads(m["Body"])["payload"] for m in queued.get("Messages", [])]
    assert [p["type"] for p in payloads] == ["letter.delivered"]
    assert payloads[0]["data"]["letter_id"] == letter["id"]
    assert payloads[0]["data"]["metadata"] == {"order": "42"}
    listed = api.get("/v1/letters", key=account.api_key).json["data"]
    assert [x["id"] for x in listed] == [letter["id"]]


def test_an_address_with_return_ends_returned_to_sender(api, account, letters) -> None:
    created = _create(api, account, to={**TO, "name": "Return Test"}).json
    letters()
    _scheduled(app_module.poll_letter_tracking)
    final = api.get(f"/v1/letters/{created['id']}", key=account.api_key).json
    assert final["status"] == "returned_to_sender"
    assert "exception" in [e["status"] for e in final["events"]]


def test_a_letter_cancelled_in_its_window_never_reaches_the_carrier(
        api, account, stack, letters, monkeypatch) -> None:
    monkeypatch.setenv("LETTERBOX_LETTER_CANCEL_WINDOW_SECONDS", "300")
    wiring.reset()
    created = _create(api, account).json
    cancelled = api.post(f"/v1/letters/{created['id']}/cancel", key=account.api_key)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert not [k for k in bucket_objects(stack) if k.startswith("letters/")]
    outcome = wiring.container().letter_submitter.submit(
        LetterJob(account_id=account.account_id, letter_id=created["id"]),
        utcnow() + timedelta(minutes=6))
    assert outcome == "done"
    assert wiring.container().carriers.get("sandbox").shipments == []
    again = api.post(f"/v1/letters/{created['id']}/cancel", key=account.api_key)
    assert again.status_code == 409


def test_cancelling_after_the_window_is_refused(api, account, letters) -> None:
    created = _create(api, account).json
    letters()
    late = api.post(f"/v1/letters/{created['id']}/cancel", key=account.api_key)
    assert late.status_code == 409 and "window" in late.json["error"]["message"]


def test_the_address_is_kept_29_days_after_delivery_and_gone_after_30(
        api, account, stack, letters) -> None:
    created = _create(api, account).json
    letters()
    _scheduled(app_module.poll_letter_tracking)
    delivered_at = utcnow()
    purger = wiring.container().purger()
    purger.run(delivered_at + timedelta(days=29), first_run_days=40)
    assert "PENNSYLVANIA" in dump(scan(stack, "LETTERBOX_TABLE_NAME"))
    assert api.get(f"/v1/letters/{created['id']}", key=account.api_key).json["to"] is not None
    purger.run(delivered_at + timedelta(days=30, minutes=5), first_run_days=40)
    everything = dump(scan(stack, "LETTERBOX_TABLE_NAME")) + dump(bucket_objects(stack))
    for part in ("PENNSYLVANIA", "Jane Roe", "20500", "BERRY"):
        assert part not in everything
    after = api.get(f"/v1/letters/{created['id']}", key=account.api_key).json
    assert after["to"] is None and after["status"] == "delivered"


def test_an_undelivered_address_goes_after_180_days_at_most(api, account, stack,
                                                             monkeypatch) -> None:
    monkeypatch.setenv("LETTERBOX_LETTER_CANCEL_WINDOW_SECONDS", "0")
    wiring.reset()
    _create(api, account)  # never submitted, never tracked
    purger = wiring.container().purger()
    purger.run(utcnow() + timedelta(days=179), first_run_days=200)
    assert "PENNSYLVANIA" in dump(scan(stack, "LETTERBOX_TABLE_NAME"))
    purger.run(utcnow() + timedelta(days=180, minutes=5), first_run_days=200)
    assert "PENNSYLVANIA" not in dump(scan(stack, "LETTERBOX_TABLE_NAME"))


@pytest.mark.parametrize(("field", "change"), [
    ("to.postal_code", {"to": {**TO, "postal_code": "2050"}}),
    ("to.state", {"to": {**TO, "state": "XX"}}),
    ("from.address_line1", {"from": {**FROM, "address_line1": ""}}),
    ("to.name", {"to": {k: v for k, v in TO.items() if k != "name"}}),
    ("pdf", {"pdf": base64.b64encode(b"not a pdf").decode()}),
    ("pdf", {"html": "<p>both</p>"}),
    ("send_date", {"send_date": (utcnow() + timedelta(days=200)).isoformat()}),
])
def test_bad_letters_are_refused_naming_the_field(api, account, field, change) -> None:
    refused = api.post("/v1/letters", {"to": TO, "from": FROM, "pdf": PDF, **change},
                       key=account.api_key)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["details"][0]["field"] == field


def test_an_unconfigured_carrier_is_refused(api, account) -> None:
    refused = _create(api, account, carrier="fedex")
    assert refused.status_code == 422
    assert refused.json["error"]["details"][0]["field"] == "carrier"


def test_a_carrier_refusal_ends_in_exception_and_an_outage_retries(api, account, stack,
                                                                   letters) -> None:
    down = _create(api, account, to={**TO, "address_line1": "1 carrier-down road"}).json
    letters()  # retried later: the record goes back with the carrier's Retry-After
    assert api.get(f"/v1/letters/{down['id']}", key=account.api_key).json["status"] == \
        "created"
    submitter = wiring.container().letter_submitter
    assert submitter.give_up(LetterJob(account_id=account.account_id, letter_id=down["id"]),
                             utcnow()) == "exception"
    final = api.get(f"/v1/letters/{down['id']}", key=account.api_key).json
    assert final["status"] == "exception"
    assert not [k for k in bucket_objects(stack) if k.startswith("letters/")]


def test_other_accounts_never_see_a_letter(api, account, other_account, letters) -> None:
    created = _create(api, account).json
    assert api.get(f"/v1/letters/{created['id']}",
                   key=other_account.api_key).status_code == 404
    assert api.get("/v1/letters", key=other_account.api_key).json["data"] == []
    assert api.post(f"/v1/letters/{created['id']}/cancel",
                    key=other_account.api_key).status_code == 404


def test_address_verification_normalizes_and_asks_a_carrier(api, account) -> None:
    us = api.post("/v1/addresses/verify", {"address": TO}, key=account.api_key)
    assert us.status_code == 200
    assert us.json["deliverability"] == "deliverable"
    assert us.json["checked_by"] == ["format", "sandbox"]
    assert us.json["address"]["address_line1"] == "1600 PENNSYLVANIA AVE NW"
    german = api.post("/v1/addresses/verify", {"address": {
        "name": "Max", "address_line1": "Unter den Linden 1", "city": "Berlin",
        "postal_code": "1011", "country": "DE"}}, key=account.api_key).json
    assert german["deliverability"] == "undeliverable"
    assert german["errors"] == [{"field": "postal_code",
                                 "message": "postal_code is not valid here"}]
    bad = api.post("/v1/addresses/verify", {"address": {"name": "x"}}, key=account.api_key)
    assert bad.status_code == 422
    assert bad.json["error"]["details"][0]["field"] == "address.address_line1"


def test_a_carrier_push_needs_its_token(api, account, letters) -> None:
    from chalicelib.api.routes.letters import push_token
    created = _create(api, account).json
    letters()
    number = api.get(f"/v1/letters/{created['id']}", key=account.api_key).json[
        "tracking_number"]
    body = json.dumps({"tracking_numbers": [number]})
    refused = api.post("/webhooks/carriers/sandbox?token=nope", raw=body)
    assert refused.status_code == 401
    pushed = api.post(f"/webhooks/carriers/sandbox?token={push_token('sandbox')}", raw=body)
    assert pushed.status_code == 200 and pushed.json["recorded"] == 3
    assert api.post("/webhooks/carriers/ups?token=x", raw=body).status_code == 404


def test_logs_over_a_letters_life_hold_no_postal_address(api, account, letters,
                                                          logs) -> None:
    from chalicelib.observability import logger
    logger.info("probe", extra={"to": TO})  # proves the capture sees our lines
    created = _create(api, account).json
    letters()
    _scheduled(app_module.poll_letter_tracking)
    api.post(f"/v1/letters/{created['id']}/cancel", key=account.api_key)
    _create(api, account, to={**TO, "address_line1": "1 carrier-down road"})
    letters()
    logged = logs.text()
    assert '"address_line1":"***"' in logged.replace(" ", ""), "the capture works"
    for part in ("pennsylvania", "jane roe", "20500", "berry", "carrier-down"):
        assert part not in logged.lower()

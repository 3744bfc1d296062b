"""Letters through real carrier adapters (USPS, FedEx) against a stand-in on loopback that
answers like the carriers' published examples, under moto: never buying a label twice, and
tracking that respects quotas, "not scanned yet" and unknown codes."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from chalicelib import wiring
from chalicelib.adapters.letter_store import DynamoLetterStore
from chalicelib.clock import utcnow
from chalicelib.errors import RetryableFailure
from chalicelib.letter_models import LetterJob
from tests.carrier_standin import CarrierStandIn, fixture

PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").decode()
TO = {"name": "Jane Roe", "address_line1": "1600 pennsylvania avenue northwest",
      "address_line2": "suite 100", "city": "washington", "state": "dc",
      "postal_code": "20500"}
FROM = {"company": "Acme Inc", "address_line1": "185 berry street", "city": "san francisco",
        "state": "ca", "postal_code": "94107"}
CREDENTIALS = {
    "usps": {"client_id": "id", "client_secret": "secret",
             "payment": {"crid": "1", "mid": "2", "manifest_mid": "3",
                         "account_number": "1000"}},
    "fedex": {"client_id": "id", "client_secret": "secret", "account_number": "740561073",
              "phone_number": "4155550100"}}


@pytest.fixture
def standin(stack, monkeypatch, tmp_path):
    """USPS and FedEx pointed at the stand-in, credentials from a local carriers.json."""
    with CarrierStandIn() as server:
        (tmp_path / "carriers.json").write_text(json.dumps(CREDENTIALS))
        monkeypatch.setenv("LETTERBOX_CARRIERS_FILE", str(tmp_path / "carriers.json"))
        monkeypatch.setenv("LETTERBOX_USPS_BASE_URL", server.url)
        monkeypatch.setenv("LETTERBOX_FEDEX_BASE_URL", server.url)
        monkeypatch.setenv("LETTERBOX_LETTER_CANCEL_WINDOW_SECONDS", "0")
        monkeypatch.setenv("LETTERBOX_USPS_TRACKING_PER_SECOND", "100")
        wiring.reset()
        yield server


def _letter(api, account, carrier: str) -> tuple[str, LetterJob]:
    created = api.post("/v1/letters", {"to": TO, "from": FROM, "pdf": PDF, "carrier": carrier},
                       key=account.api_key)
    assert created.status_code == 201, created.json
    return created.json["id"], LetterJob(account_id=account.account_id,
                                         letter_id=created.json["id"])


def _die_once_after_the_purchase(monkeypatch) -> None:
    """The worker dies between the carrier's answer and recording it."""
    real = DynamoLetterStore.submitted
    died = []

    def submitted(self, *args, **kwargs):
        if not died:
            died.append(True)
            raise SystemExit("worker killed")
        return real(self, *args, **kwargs)
    monkeypatch.setattr(DynamoLetterStore, "submitted", submitted)


def test_a_purchase_whose_worker_dies_is_found_again_never_bought_twice(
        api, account, standin, monkeypatch) -> None:
    """Bug: after a sold label, any failure retried the purchase and each retry bought
    another label. Now the next attempt asks FedEx what it sold under our reference."""
    letter_id, job = _letter(api, account, "fedex")
    _die_once_after_the_purchase(monkeypatch)
    submitter = wiring.container().letter_submitter
    now = utcnow()
    with pytest.raises(SystemExit):
        submitter.submit(job, now)
    assert len(standin.sold()) == 1, "FedEx sold the label"
    with pytest.raises(RetryableFailure):
        submitter.submit(job, now + timedelta(seconds=1))  # the dead worker's lease holds
    assert submitter.submit(job, now + timedelta(minutes=3)) == "submitted"
    assert submitter.submit(job, now + timedelta(minutes=6)) == "done"  # a late duplicate
    (number,) = standin.sold()
    assert standin.labels == {letter_id: [number]}, "exactly one label exists"
    letter = api.get(f"/v1/letters/{letter_id}", key=account.api_key).json
    assert letter["status"] == "submitted" and letter["tracking_number"] == number
    assert ("POST", "/track/v1/referencenumbers") in standin.requests


def test_a_carrier_that_cannot_look_up_ends_in_exception_not_a_second_label(
        api, account, standin, monkeypatch) -> None:
    letter_id, job = _letter(api, account, "usps")
    _die_once_after_the_purchase(monkeypatch)
    submitter = wiring.container().letter_submitter
    now = utcnow()
    with pytest.raises(SystemExit):
        submitter.submit(job, now)
    assert submitter.submit(job, now + timedelta(minutes=3)) == "refused"
    assert len(standin.sold()) == 1, "never a second label"
    letter = api.get(f"/v1/letters/{letter_id}", key=account.api_key).json
    assert letter["status"] == "exception"
    assert letter_id in letter["events"][-1]["description"], "names the reference to check"


def test_an_unreadable_success_is_recorded_and_never_retried(api, account, standin) -> None:
    """Bug: a label answer the parser could not read raised a retryable error: up to 10
    retries, each buying another label."""
    standin.unreadable = True
    letter_id, job = _letter(api, account, "usps")
    submitter = wiring.container().letter_submitter
    now = utcnow()
    assert submitter.submit(job, now) == "refused"
    assert submitter.submit(job, now + timedelta(minutes=3)) == "done"
    assert len(standin.sold()) == 1
    letter = api.get(f"/v1/letters/{letter_id}", key=account.api_key).json
    assert letter["status"] == "exception"
    assert "could not be read" in letter["events"][-1]["description"]
    assert "DUXR0XXXXC04010" in letter["events"][-1]["description"], "the raw reference"
    stored = wiring.container().letter_store.get(account.account_id, letter_id)[0]
    assert stored["carrier_reference"] == "DUXR0XXXXC04010"


def test_tracking_waits_for_the_first_scan_and_keeps_to_the_daily_quota(
        api, account, standin, monkeypatch) -> None:
    """Bugs: USPS's 404 before the first scan ended the whole poll run; polls ignored the
    carrier's daily quota."""
    monkeypatch.setenv("LETTERBOX_USPS_TRACKING_PER_DAY", "7")
    wiring.reset()
    jobs = [_letter(api, account, "usps") for _ in range(3)]
    submitter = wiring.container().letter_submitter
    for _, job in jobs:
        assert submitter.submit(job, utcnow()) == "submitted"
    tracker = wiring.container().letter_tracker
    assert tracker.poll(utcnow())["usps"] == 0
    assert sum(standin.tracking_calls.values()) == 1, "a scheduled run takes 1/96 of the day"
    # ``letterbox letters poll`` lifts the per-run share, never the day's quota.
    assert tracker.poll(utcnow(), everything=True)["usps"] == 3, (
        "the first letter's three events; two 404s (not scanned yet) are no error")
    assert sum(standin.tracking_calls.values()) == 4
    assert tracker.poll(utcnow(), everything=True)["usps"] == 6 + 2, (
        "two letters' three events, and the first one delivered")
    assert tracker.poll(utcnow(), everything=True)["usps"] == 0, "the day's 7 are spent"
    assert sum(standin.tracking_calls.values()) == 7
    statuses = sorted(api.get(f"/v1/letters/{letter_id}", key=account.api_key).json["status"]
                      for letter_id, _ in jobs)
    assert statuses == ["delivered", "in_transit", "in_transit"]
    assert wiring.container().table.get("CARRIERQUOTA#usps", utcnow().strftime("%Y-%m-%d"))[
        "expires_at"], "the quota counter expires like every stored item"


def test_an_unknown_code_joins_the_timeline_without_moving_the_letter(
        api, account, standin) -> None:
    from chalicelib.api.routes.letters import push_token
    letter_id, job = _letter(api, account, "usps")
    wiring.container().letter_submitter.submit(job, utcnow())
    number = api.get(f"/v1/letters/{letter_id}", key=account.api_key).json["tracking_number"]
    body = {**fixture("usps", "tracking_unknown_code"), "trackingNumber": number}
    body["trackingEvents"] = body["trackingEvents"][:1]  # only the unknown scan
    pushed = api.post(f"/webhooks/carriers/usps?token={push_token('usps')}",
                      raw=json.dumps(body))
    assert pushed.status_code == 200 and pushed.json["recorded"] == 1
    letter = api.get(f"/v1/letters/{letter_id}", key=account.api_key).json
    assert letter["status"] == "submitted"
    (scan,) = [e for e in letter["events"] if e["carrier_code"] == "Z9"]
    assert scan["status"] == "unknown" and scan["type"] == "letter.unknown"

"""`make dev` talking to a carrier's own API (SPEC §1's local-mode carrier contract): USPS's
base URL from ``LETTERBOX_USPS_BASE_URL`` pointed at a stand-in on loopback that answers like
USPS's published examples, credentials from ``.letterbox/carriers.json``, and
``letterbox letters poll``. A USPS letter reaches ``submitted`` with the stand-in's tracking
number, and tracking (404 "not yet in system" first) moves it to ``delivered``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.carrier_standin import CarrierStandIn
from tests.stack import dev_stack, run_cli

USPS = {"client_id": "cat-id", "client_secret": "cat-secret",
        "payment": {"crid": "56982563", "mid": "903129161", "manifest_mid": "903129161",
                    "account_number": "1000405525", "account_type": "EPS"}}


@pytest.fixture(scope="module")
def usps_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state = tmp_path_factory.mktemp("dev-usps") / ".letterbox"
    state.mkdir()
    (state / "carriers.json").write_text(json.dumps({"usps": USPS}))
    with CarrierStandIn() as standin, dev_stack(
            state, LETTERBOX_USPS_BASE_URL=standin.url,
            LETTERBOX_LETTER_CANCEL_WINDOW_SECONDS="0") as stack:
        yield {"dev": stack.dev, "state": state, "standin": standin}


def _get(dev: dict[str, Any], letter_id: str) -> dict[str, Any]:
    return dict(requests.get(f"{dev['api_url']}/v1/letters/{letter_id}", timeout=10,
                             headers={"Authorization": f"Bearer {dev['api_key']}"}).json())


def _until(dev: dict[str, Any], letter_id: str, status: str) -> dict[str, Any]:
    deadline, letter = time.monotonic() + 60, {}
    while time.monotonic() < deadline and letter.get("status") != status:
        letter = _get(dev, letter_id)
        time.sleep(0.3)
    return letter


def test_a_usps_letter_is_submitted_and_tracked_to_delivered(usps_local) -> None:
    dev, standin, state = usps_local["dev"], usps_local["standin"], usps_local["state"]
    created = requests.post(f"{dev['api_url']}/v1/letters", timeout=10, headers={
        "Authorization": f"Bearer {dev['api_key']}"}, json={
        "carrier": "usps", "html": "<h1>Hello by post</h1>",
        "to": {"name": "Jane Roe", "address_line1": "1600 Pennsylvania Ave NW",
               "city": "Washington", "state": "DC", "postal_code": "20500"},
        "from": {"company": "Acme", "address_line1": "185 Berry St",
                 "city": "San Francisco", "state": "CA", "postal_code": "94107"}})
    assert created.status_code == 201, created.text
    letter = created.json()
    assert letter["carrier"] == "usps"

    submitted = _until(dev, letter["id"], "submitted")
    assert submitted["status"] == "submitted", submitted
    (sold,) = standin.sold()
    assert submitted["tracking_number"] == sold, "the stand-in's tracking number"
    assert standin.labels == {letter["id"]: [sold]}

    polled = run_cli(state, "letters", "poll")
    assert "usps" in polled["recorded"], polled
    delivered = _until(dev, letter["id"], "delivered")
    assert delivered["status"] == "delivered", delivered
    usps_events = [e for e in delivered["events"] if e["carrier_code"]]
    assert sorted(e["carrier_code"] for e in usps_events) == ["01", "03", "MA", "OF", "T1"], (
        "each USPS scan once, raw code kept")
    assert standin.tracking_calls[sold] >= 3, "a 404 first (not yet in system), then scans"

"""Carrier adapters against their published request and response shapes, served by
`responses` from recorded-shape fixtures: tokens, address validation, shipments, tracking
(in transit, delivered, returned, exception) and error mapping (401, 429, 5xx)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses

from chalicelib.carriers.base import CarrierError, LetterOrder, PostalAddress
from chalicelib.carriers.dhl import TRACKING_URL, Dhl
from chalicelib.carriers.fedex import FedEx
from chalicelib.carriers.http import CarrierHttp, TokenCache
from chalicelib.carriers.usps import Usps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "carriers"
USPS, FEDEX, DHL = ("https://apis-tem.usps.com", "https://apis-sandbox.fedex.com",
                    "https://express.api.dhl.com/mydhlapi/test")
TO = PostalAddress("Jane Roe", None, "1600 PENNSYLVANIA AVE NW", "STE 100", "WASHINGTON", "DC",
                   "20500", "US", "2025550100")
FROM = PostalAddress(None, "Acme Inc", "185 BERRY ST", None, "SAN FRANCISCO", "CA", "94107",
                     "US", "4155550100")
BERLIN = PostalAddress("Max Muster", None, "Unter den Linden 1", None, "BERLIN", None, "10117",
                       "DE", "+49301234567")
SHIP_DAY = datetime(2026, 11, 23, 10, tzinfo=UTC)


def fixture(carrier: str, name: str) -> dict:
    return json.loads((FIXTURES / carrier / f"{name}.json").read_text())


def order(to: PostalAddress = TO, **fields) -> LetterOrder:
    return LetterOrder(**{"reference": "ltr_01", "to": to, "sender": FROM,
                          "mail_class": "first_class", "certified": False,
                          "ship_date": SHIP_DAY, **fields})


def usps() -> Usps:
    return Usps({"client_id": "id", "client_secret": "secret",
                 "payment": {"crid": "1", "mid": "2", "manifest_mid": "3",
                             "account_number": "1000"}}, CarrierHttp("usps", USPS))


def fedex() -> FedEx:
    return FedEx({"client_id": "id", "client_secret": "secret", "account_number": "740561073"},
                 CarrierHttp("fedex", FEDEX))


def dhl() -> Dhl:
    return Dhl({"username": "user", "password": "pass", "account_number": "123456789",
                "api_key": "track-key"}, CarrierHttp("dhl", DHL))


def _sent(call) -> dict:
    return json.loads(call.request.body)


# USPS

@responses.activate
def test_usps_token_is_fetched_once_and_reused() -> None:
    token = responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    responses.get(f"{USPS}/addresses/v3/address", json=fixture("usps", "address"))
    carrier = usps()
    carrier.validate_address(TO)
    carrier.validate_address(TO)
    assert token.call_count == 1
    assert _sent(responses.calls[0]) == {"grant_type": "client_credentials",
                                         "client_id": "id", "client_secret": "secret",
                                         "scope": "addresses tracking labels payments"}
    assert responses.calls[1].request.headers["Authorization"] == "Bearer usps-token-1"


def test_a_token_is_fetched_again_a_minute_before_it_expires() -> None:
    now = [0.0]
    fetched = []
    cache = TokenCache(lambda: (fetched.append(1) or f"t{len(fetched)}", 3600),
                       clock=lambda: now[0])
    assert cache.token() == "t1"
    now[0] = 3539
    assert cache.token() == "t1"
    now[0] = 3541
    assert cache.token() == "t2"


@responses.activate
def test_usps_address_validation_verdicts() -> None:
    responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    found = responses.get(f"{USPS}/addresses/v3/address", json=fixture("usps", "address"))
    check = usps().validate_address(TO)
    assert check.deliverable == "deliverable" and check.address.postal_code == "20500-0005"
    assert parse_qs(found.calls[0].request.url.split("?", 1)[1]) == {
        "streetAddress": ["1600 PENNSYLVANIA AVE NW"], "secondaryAddress": ["STE 100"],
        "city": ["WASHINGTON"], "state": ["DC"], "ZIPCode": ["20500"]}
    responses.replace(responses.GET, f"{USPS}/addresses/v3/address",
                      json=fixture("usps", "address_missing_unit"))
    assert usps().validate_address(TO).deliverable == "deliverable_missing_unit"
    responses.replace(responses.GET, f"{USPS}/addresses/v3/address",
                      json=fixture("usps", "address_not_found"), status=404)
    missing = usps().validate_address(TO)
    assert missing.deliverable == "undeliverable" and missing.messages == ("Address Not Found.",)


@responses.activate
def test_usps_label_sends_only_what_delivery_needs() -> None:
    responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    payment = responses.post(f"{USPS}/payments/v3/payment-authorization",
                             json=fixture("usps", "payment"))
    label = responses.post(f"{USPS}/labels/v3/label", json=fixture("usps", "label"))
    shipment = usps().create_shipment(order(certified=True))
    assert shipment.tracking_number == "9400100000000000000001"
    assert shipment.label_pdf.startswith(b"%PDF") and shipment.cost == "9.85"
    request = label.calls[0].request
    assert request.headers["X-Payment-Authorization-Token"] == "usps-payment-token-1"
    assert request.headers["Accept"] == "application/vnd.usps.labels+json"
    body = json.loads(request.body)
    assert body["toAddress"] == {"firstName": "Jane", "lastName": "Roe",
                                 "streetAddress": "1600 PENNSYLVANIA AVE NW",
                                 "secondaryAddress": "STE 100", "city": "WASHINGTON",
                                 "state": "DC", "ZIPCode": "20500"}
    assert "phone" not in json.dumps(body), "USPS needs no phone number"
    assert body["imageInfo"]["suppressPostage"] is False, "a label must carry postage"
    assert body["packageDescription"]["extraServices"] == [910]
    assert body["packageDescription"]["physicalSignatureRequired"] is False
    assert body["packageDescription"]["processingCategory"] == "MACHINABLE"
    assert body["packageDescription"]["mailingDate"] == "2026-11-23"
    assert [r["roleName"] for r in _sent(payment.calls[0])["roles"]] == ["PAYER",
                                                                         "LABEL_OWNER"]


@responses.activate
def test_usps_an_unreadable_label_answer_is_a_purchase_never_a_retry() -> None:
    """Bug: a label answer without ``labelMetadata`` raised a retryable error after USPS had
    sold the label, and each retry bought another."""
    from chalicelib.carriers.base import UnreadablePurchase
    responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    responses.post(f"{USPS}/payments/v3/payment-authorization", json=fixture("usps", "payment"))
    responses.post(f"{USPS}/labels/v3/label", json=fixture("usps", "label_unreadable"))
    with pytest.raises(UnreadablePurchase) as raised:
        usps().create_shipment(order())
    assert not raised.value.retryable and raised.value.reference == "DUXR0XXXXC04010"


@responses.activate
def test_usps_a_stale_payment_token_is_fetched_again_with_the_oauth_token() -> None:
    """Bug: a 401 caused by the payment-authorization token refreshed only the OAuth
    token, so the retry failed the same way."""
    token = responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    payment = responses.post(f"{USPS}/payments/v3/payment-authorization",
                             json=fixture("usps", "payment"))
    label = responses.post(f"{USPS}/labels/v3/label", json=fixture("usps", "error_401"),
                           status=401)
    label_ok = responses.post(f"{USPS}/labels/v3/label", json=fixture("usps", "label"))
    assert usps().create_shipment(order()).tracking_number == "9400100000000000000001"
    assert label.call_count == 1 and label_ok.call_count == 1
    assert payment.call_count == 2 and token.call_count == 2


@pytest.mark.parametrize(("name", "status", "codes"), [
    ("tracking_in_transit", "in_transit", ["MA", "03", "T1"]),
    ("tracking_delivered", "delivered", ["03", "OF", "01"]),
    ("tracking_returned", "returned_to_sender", ["03", "21", "09"]),
    ("tracking_exception", "exception", ["03", "22"]),
    # Bug: return-to-sender codes 24–29 and 31 and code 43 (picked up) fell to in_transit.
    ("tracking_return_to_sender", "returned_to_sender", ["03", "02", "27"]),
    ("tracking_picked_up", "delivered", ["03", "02", "43"]),
    # An unknown code stays on the timeline and never moves the letter.
    ("tracking_unknown_code", "in_transit", ["03", "Z9"]),
])
@responses.activate
def test_usps_tracking(name, status, codes) -> None:
    responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    responses.get(f"{USPS}/tracking/v3/tracking/9400100000000000000001",
                  json=fixture("usps", name))
    (update,) = usps().track(["9400100000000000000001"])
    assert update.status == status
    assert [e.code for e in update.events] == codes, "oldest first, raw codes kept"
    assert all("20500" not in (e.location or "") for e in update.events), "never a ZIP"
    assert all(e.timestamp.endswith("Z") for e in update.events), (
        "GMTTimestamp, not the local eventTimestamp")
    if name == "tracking_unknown_code":
        assert update.events[-1].status == "unknown"


@responses.activate
def test_usps_not_scanned_yet_is_not_an_error() -> None:
    """Bug: the 404 USPS answers until the first scan ended the whole USPS poll run."""
    responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    responses.get(f"{USPS}/tracking/v3/tracking/9400100000000000000009",
                  json=fixture("usps", "tracking_not_found"), status=404)
    responses.get(f"{USPS}/tracking/v3/tracking/9400100000000000000001",
                  json=fixture("usps", "tracking_delivered"))
    updates = usps().track(["9400100000000000000009", "9400100000000000000001"])
    assert [u.tracking_number for u in updates] == ["9400100000000000000001"]
    assert updates[0].events[-1].timestamp == "2026-11-25T18:14:00.000Z"


@responses.activate
def test_usps_401_refreshes_the_token_once_then_gives_up() -> None:
    token = responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    responses.get(f"{USPS}/tracking/v3/tracking/1", json=fixture("usps", "error_401"),
                  status=401)
    with pytest.raises(CarrierError) as raised:
        usps().track(["1"])
    assert token.call_count == 2
    assert raised.value.status == 401 and not raised.value.retryable
    assert "invalid or expired" in raised.value.message.lower()


@pytest.mark.parametrize(("status", "headers", "retry_after"), [
    (429, {"Retry-After": "7"}, 7), (503, {}, None), (500, {"Retry-After": "30"}, 30)])
@responses.activate
def test_usps_throttling_and_outages_are_retryable(status, headers, retry_after) -> None:
    responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    name = "error_429" if status == 429 else "error_503"
    responses.get(f"{USPS}/tracking/v3/tracking/1", json=fixture("usps", name),
                  status=status, headers=headers)
    with pytest.raises(CarrierError) as raised:
        usps().track(["1"])
    assert raised.value.retryable and raised.value.retry_after == retry_after


# FedEx

@responses.activate
def test_fedex_token_is_form_encoded_and_reused() -> None:
    token = responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    responses.post(f"{FEDEX}/address/v1/addresses/resolve", json=fixture("fedex", "address"))
    carrier = fedex()
    carrier.validate_address(TO)
    carrier.validate_address(TO)
    assert token.call_count == 1
    assert parse_qs(token.calls[0].request.body) == {
        "grant_type": ["client_credentials"], "client_id": ["id"], "client_secret": ["secret"]}


@responses.activate
def test_fedex_address_validation() -> None:
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    resolve = responses.post(f"{FEDEX}/address/v1/addresses/resolve",
                             json=fixture("fedex", "address"))
    check = fedex().validate_address(TO)
    assert check.deliverable == "deliverable" and check.address.postal_code == "20500-0005"
    assert _sent(resolve.calls[0])["addressesToValidate"][0]["address"]["streetLines"] == [
        "1600 PENNSYLVANIA AVE NW", "STE 100"]
    responses.replace(responses.POST, f"{FEDEX}/address/v1/addresses/resolve",
                      json=fixture("fedex", "address_unresolved"))
    unresolved = fedex().validate_address(TO)
    assert unresolved.deliverable == "undeliverable"
    assert unresolved.messages == ("Standardized address is not found.",)


@responses.activate
def test_fedex_shipment_request_and_label() -> None:
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    ship = responses.post(f"{FEDEX}/ship/v1/shipments", json=fixture("fedex", "ship"))
    shipment = fedex().create_shipment(order(mail_class="express", certified=True))
    assert shipment.tracking_number == "794953535000" and shipment.label_pdf.startswith(b"%PDF")
    body = _sent(ship.calls[0])
    assert body["accountNumber"] == {"value": "740561073"}
    requested = body["requestedShipment"]
    assert requested["serviceType"] == "STANDARD_OVERNIGHT"
    assert requested["recipients"][0] == {
        "contact": {"phoneNumber": "2025550100", "personName": "Jane Roe"},
        "address": {"streetLines": ["1600 PENNSYLVANIA AVE NW", "STE 100"],
                    "city": "WASHINGTON", "postalCode": "20500", "countryCode": "US",
                    "stateOrProvinceCode": "DC"}}
    assert requested["requestedPackageLineItems"][0]["packageSpecialServices"][
        "specialServiceTypes"] == ["SIGNATURE_OPTION"]


@responses.activate
def test_fedex_tracks_many_numbers_in_one_request() -> None:
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    track = responses.post(f"{FEDEX}/track/v1/trackingnumbers", json=fixture("fedex", "track"))
    numbers = ["794953535000", "794953535001", "794953535002", "794953535003", "000000000000"]
    updates = {u.tracking_number: u for u in fedex().track(numbers)}
    assert len(_sent(track.calls[0])["trackingInfo"]) == 5 and track.call_count == 1
    assert updates["794953535000"].status == "in_transit"
    assert [e.code for e in updates["794953535000"].events] == ["OC", "PU", "IT"]
    assert updates["794953535001"].status == "delivered"
    assert updates["794953535002"].status == "returned_to_sender"
    assert updates["794953535003"].status == "exception"
    assert "000000000000" not in updates, "a number FedEx does not know yet waits"


@pytest.mark.parametrize(("status", "name", "retryable"), [
    (401, "error_401", False), (429, "error_429", True), (503, "error_503", True),
    (400, "error_ship_400", False)])
@responses.activate
def test_fedex_errors(status, name, retryable) -> None:
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    responses.post(f"{FEDEX}/ship/v1/shipments", json=fixture("fedex", name), status=status,
                   headers={"Retry-After": "12"} if status == 429 else {})
    with pytest.raises(CarrierError) as raised:
        fedex().create_shipment(order())
    assert raised.value.status == status and raised.value.retryable is retryable
    assert raised.value.code == fixture("fedex", name)["errors"][0]["code"]
    if status == 429:
        assert raised.value.retry_after == 12


# DHL

@responses.activate
def test_dhl_validates_city_and_postal_code_with_basic_auth() -> None:
    found = responses.get(f"{DHL}/address-validate", json=fixture("dhl", "address"))
    check = dhl().validate_address(BERLIN)
    assert check.deliverable == "deliverable"
    request = found.calls[0].request
    assert request.headers["Authorization"].startswith("Basic ")
    assert parse_qs(request.url.split("?", 1)[1])["postalCode"] == ["10117"]
    responses.replace(responses.GET, f"{DHL}/address-validate",
                      json=fixture("dhl", "address_not_found"), status=404)
    assert dhl().validate_address(BERLIN).deliverable == "undeliverable"


@responses.activate
def test_dhl_shipment_is_a_document_without_customs() -> None:
    created = responses.post(f"{DHL}/shipments", json=fixture("dhl", "shipment"))
    shipment = dhl().create_shipment(order(to=BERLIN))
    assert shipment.tracking_number == "4811263150" and shipment.label_pdf.startswith(b"%PDF")
    body = _sent(created.calls[0])
    assert body["productCode"] == "D" and body["content"]["isCustomsDeclarable"] is False
    assert body["customerDetails"]["receiverDetails"]["postalAddress"] == {
        "postalCode": "10117", "cityName": "BERLIN", "countryCode": "DE",
        "addressLine1": "Unter den Linden 1"}
    assert body["plannedShippingDateAndTime"] == "2026-11-23T11:00:00 GMT+00:00", (
        "an hour ahead: 'now' is in the past by the time DHL reads it")
    assert body["content"]["incoterm"] == "DAP"
    assert body["customerDetails"]["receiverDetails"]["contactInformation"][
        "companyName"] == "Max Muster", "required even for a person"


@pytest.mark.parametrize(("name", "status"), [
    ("tracking_in_transit", "in_transit"), ("tracking_delivered", "delivered"),
    ("tracking_returned", "returned_to_sender"), ("tracking_exception", "exception")])
@responses.activate
def test_dhl_unified_tracking(name, status) -> None:
    track = responses.get(TRACKING_URL, json=fixture("dhl", name))
    (update,) = dhl().track(["4811263150"])
    assert update.status == status
    assert track.calls[0].request.headers["DHL-API-Key"] == "track-key"
    if name == "tracking_delivered":
        assert [e.status for e in update.events] == ["in_transit", "out_for_delivery",
                                                     "delivered"]


def test_dhl_push_has_the_tracking_shape() -> None:
    (update,) = dhl().parse_push(fixture("dhl", "tracking_delivered"))
    assert update.tracking_number == "4811263150" and update.status == "delivered"


@pytest.mark.parametrize(("status", "name", "retryable"), [
    (401, "error_401", False), (429, "error_429", True), (503, "error_503", True)])
@responses.activate
def test_dhl_errors(status, name, retryable) -> None:
    responses.post(f"{DHL}/shipments", json=fixture("dhl", name), status=status,
                   headers={"Retry-After": "5"} if status == 429 else {})
    with pytest.raises(CarrierError) as raised:
        dhl().create_shipment(order(to=BERLIN))
    assert raised.value.status == status and raised.value.retryable is retryable
    assert raised.value.message == fixture("dhl", name)["detail"]


@responses.activate
def test_an_unreachable_carrier_is_retryable() -> None:
    import requests
    responses.get(f"{DHL}/address-validate", body=requests.ConnectionError("refused"))
    with pytest.raises(CarrierError) as raised:
        dhl().validate_address(BERLIN)
    assert raised.value.retryable and raised.value.status is None


def test_auto_picks_the_first_configured_carrier_for_the_destination() -> None:
    from chalicelib.carriers.registry import Carriers
    from chalicelib.errors import ValidationFailed

    secret = json.dumps({"usps": {"client_id": "a", "client_secret": "b"},
                         "dhl": {"username": "u", "password": "p", "account_number": "1",
                                 "api_key": "k"}}).encode()
    carriers = Carriers(lambda: secret, {"usps": USPS, "fedex": FEDEX, "dhl": DHL})
    assert carriers.configured() == ["usps", "dhl"]
    assert carriers.choose("auto", "US", "US") == "usps"
    assert carriers.choose("auto", "DE", "US") == "dhl"
    only_dhl = Carriers(lambda: json.dumps({"dhl": {"username": "u"}}).encode(), {})
    with pytest.raises(ValidationFailed):
        only_dhl.choose("auto", "US", "US")  # DHL Express sells no US domestic product
    for requested, country in (("fedex", "US"), ("usps", "DE"), ("dhl", "US")):
        with pytest.raises(ValidationFailed) as refused:
            carriers.choose(requested, country, "US")
        assert refused.value.details == [{"field": "carrier"}]
    assert Carriers(None, {}).configured() == []


@responses.activate
def test_fedex_address_not_found_is_undeliverable() -> None:
    """Bug: FedEx answers "not found" as HTTP 400 STANDARDIZED.ADDRESS.NOTFOUND, which ended
    as ``unverified`` instead of ``undeliverable``."""
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    responses.post(f"{FEDEX}/address/v1/addresses/resolve",
                   json=fixture("fedex", "address_not_found"), status=400)
    check = fedex().validate_address(TO)
    assert check.deliverable == "undeliverable"
    assert check.messages == ("Standardized address is not found.",)


@responses.activate
def test_fedex_status_codes_follow_the_published_list() -> None:
    """Bug: LO (left origin) and CH/HL mapped to exception, RP (return label emailed) to
    returned_to_sender."""
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    responses.post(f"{FEDEX}/track/v1/trackingnumbers", json=fixture("fedex", "track_codes"))
    (update,) = fedex().track(["794953535004"])
    assert [(e.code, e.status) for e in update.events] == [
        ("OC", "submitted"), ("PU", "in_transit"), ("LO", "in_transit"), ("CH", "in_transit"),
        ("HL", "in_transit"), ("RP", "unknown")]
    assert update.status == "in_transit"


@responses.activate
def test_fedex_finds_an_earlier_purchase_by_our_reference() -> None:
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    find = responses.post(f"{FEDEX}/track/v1/referencenumbers",
                          json=fixture("fedex", "track_reference"))
    found = fedex().find_shipment(order())
    assert found is not None and found.tracking_number == "794953535000"
    sent = _sent(find.calls[0])["referencesInformation"]
    assert sent["type"] == "CUSTOMER_REFERENCE" and sent["value"] == "ltr_01"
    responses.replace(responses.POST, f"{FEDEX}/track/v1/referencenumbers",
                      json=fixture("fedex", "track_reference_not_found"))
    assert fedex().find_shipment(order()) is None


@responses.activate
def test_fedex_an_unreadable_ship_answer_is_a_purchase_never_a_retry() -> None:
    from chalicelib.carriers.base import UnreadablePurchase
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    responses.post(f"{FEDEX}/ship/v1/shipments", json=fixture("fedex", "ship_unreadable"))
    with pytest.raises(UnreadablePurchase) as raised:
        fedex().create_shipment(order())
    assert not raised.value.retryable and raised.value.reference == (
        "624deea6-b709-470c-8c39-4b5511281492"), "the transaction id FedEx support can find"


@responses.activate
def test_dhl_not_scanned_yet_does_not_stop_the_other_numbers() -> None:
    responses.get(TRACKING_URL, json=fixture("dhl", "tracking_not_found"), status=404,
                  match=[responses.matchers.query_param_matcher(
                      {"trackingNumber": "1111111111", "service": "express"})])
    responses.get(TRACKING_URL, json=fixture("dhl", "tracking_delivered"),
                  match=[responses.matchers.query_param_matcher(
                      {"trackingNumber": "4811263150", "service": "express"})])
    updates = dhl().track(["1111111111", "4811263150"])
    assert [u.tracking_number for u in updates] == ["4811263150"]


def test_dhl_unknown_status_code_never_moves_a_letter() -> None:
    body = fixture("dhl", "tracking_in_transit")
    body["shipments"][0]["events"].append({"timestamp": "2026-11-30T00:00:00",
                                           "statusCode": "unknown", "status": "unknown",
                                           "description": "Something new"})
    (update,) = dhl().parse_push(body)
    assert update.events[-1].status == "unknown" and update.status == "in_transit"


def test_carrier_urls_are_https_except_loopback_in_local_mode() -> None:
    from chalicelib.carriers.registry import Carriers
    with pytest.raises(ValueError, match="LETTERBOX_USPS_BASE_URL"):
        Carriers(None, {"usps": "http://127.0.0.1:9000"})
    with pytest.raises(ValueError, match="LETTERBOX_DHL_TRACKING_URL"):
        Carriers(None, {"dhl_tracking": "http://carrier.example.com"}, local_mode=True)
    Carriers(None, {"usps": "http://127.0.0.1:9000", "dhl_tracking": "http://localhost:1/t"},
             local_mode=True)

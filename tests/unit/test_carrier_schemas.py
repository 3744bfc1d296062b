"""Every request body the carrier adapters build, checked against JSON Schemas of our own
derived from the carriers' published OpenAPI documents (tests/fixtures/carriers/schemas,
each naming its source and version), for every mail class and option we offer, domestic and
international. The bodies are the ones the adapters put on the wire (captured by
``responses``), not ones rebuilt by the test.

Bugs these catch (each failed on the adapters before issue 15): USPS Ground Advantage sent
as FLATS, Priority Mail Express with rate indicator FE, certified mail without
``physicalSignatureRequired``, ``lastName: ""`` for a one-word name, ``suppressPostage``
left at its default, no OAuth scope; FedEx ``INTERNATIONAL_PRIORITY``, an empty
``phoneNumber``, international shipments without ``totalWeight`` and customs data, Ground
in a FedEx Envelope; DHL without ``content.incoterm``, without ``companyName`` for a person,
and a US→US product that DHL Express does not sell."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from jsonschema import Draft202012Validator, FormatChecker

from chalicelib.carriers.base import CarrierError, LetterOrder, PostalAddress
from chalicelib.carriers.dhl import Dhl
from chalicelib.carriers.fedex import FedEx
from chalicelib.carriers.http import CarrierHttp
from chalicelib.carriers.usps import Usps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "carriers"
USPS, FEDEX, DHL = ("https://apis-tem.usps.com", "https://apis-sandbox.fedex.com",
                    "https://express.api.dhl.com/mydhlapi/test")
CLASSES = ("first_class", "standard", "priority", "express")
SHIP_DAY = datetime(2026, 11, 23, 10, tzinfo=UTC)
# Letters as the API takes them: a phone is optional, and most letters have none.
PERSON = PostalAddress("Jane Roe", None, "1600 PENNSYLVANIA AVE NW", "STE 100", "WASHINGTON",
                       "DC", "20500-0005", "US")
ONE_NAME = PostalAddress("Cher", None, "1600 PENNSYLVANIA AVE NW", None, "WASHINGTON", "DC",
                         "20500", "US")
COMPANY = PostalAddress(None, "Acme Inc", "185 BERRY ST", "STE 6100", "SAN FRANCISCO", "CA",
                        "94107", "US")
BERLIN = PostalAddress("Max Muster", None, "Unter den Linden 1", None, "BERLIN", None, "10117",
                       "DE")
MUNICH = PostalAddress(None, "Beispiel GmbH", "Marienplatz 8", None, "MUENCHEN", None, "80331",
                       "DE")


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((FIXTURES / "schemas" / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert "3.x" in schema["description"] or "1.0" in schema["description"], (
        "each schema names its source document and version")
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_valid(name: str, body: dict) -> None:
    errors = sorted(validator(name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path)) or '(body)'}: {e.message}"
                                 for e in errors)


def fixture(carrier: str, name: str) -> dict:
    return json.loads((FIXTURES / carrier / f"{name}.json").read_text())


def letter(to: PostalAddress, sender: PostalAddress, mail_class: str,
           certified: bool) -> LetterOrder:
    return LetterOrder(reference="ltr_01JDX4Q7W3", to=to, sender=sender, mail_class=mail_class,
                       certified=certified, ship_date=SHIP_DAY)


def sent(call) -> dict:
    return json.loads(call.request.body)


def create(carrier, order: LetterOrder) -> CarrierError | None:
    """Ask for the shipment; the body on the wire is what these tests judge, so a failure
    to read the answer is returned for the test to report after the schema verdict."""
    try:
        carrier.create_shipment(order)
    except CarrierError as err:
        return err
    return None


# USPS: domestic only (the registry refuses USPS abroad).

@pytest.mark.parametrize("certified", [False, True], ids=["plain", "certified"])
@pytest.mark.parametrize("mail_class", CLASSES)
@pytest.mark.parametrize(("to", "sender"), [(PERSON, COMPANY), (ONE_NAME, COMPANY),
                                            (COMPANY, PERSON)],
                         ids=["person", "one-word-name", "company"])
@responses.activate
def test_usps_label_requests_follow_labels_3(to, sender, mail_class, certified) -> None:
    token = responses.post(f"{USPS}/oauth2/v3/token", json=fixture("usps", "token"))
    responses.post(f"{USPS}/payments/v3/payment-authorization",
                   json=fixture("usps", "payment"))
    label = responses.post(f"{USPS}/labels/v3/label", json=fixture("usps", "label"))
    failed = create(Usps({"client_id": "id", "client_secret": "secret", "payment": {
        "crid": "1", "mid": "2", "manifest_mid": "3", "account_number": "1000"}},
        CarrierHttp("usps", USPS)), letter(to, sender, mail_class, certified))
    assert_valid("usps-labels-3.x-label-request", sent(label.calls[0]))
    assert_valid("usps-oauth-3.x-token-request", sent(token.calls[0]))
    assert failed is None


# FedEx: domestic (US→US) and international (US→DE, DE→US).

def _fedex() -> FedEx:
    return FedEx({"client_id": "id", "client_secret": "secret", "account_number": "740561073",
                  "phone_number": "4155550100"}, CarrierHttp("fedex", FEDEX))


@pytest.mark.parametrize("certified", [False, True], ids=["plain", "certified"])
@pytest.mark.parametrize("mail_class", CLASSES)
@pytest.mark.parametrize(("to", "sender"), [(PERSON, COMPANY), (BERLIN, COMPANY),
                                            (PERSON, MUNICH)],
                         ids=["domestic", "international", "inbound"])
@responses.activate
def test_fedex_ship_requests_follow_ship_api_1(to, sender, mail_class, certified) -> None:
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    ship = responses.post(f"{FEDEX}/ship/v1/shipments", json=fixture("fedex", "ship"))
    failed = create(_fedex(), letter(to, sender, mail_class, certified))
    assert_valid("fedex-ship-1.0-create-shipment-request", sent(ship.calls[0]))
    assert failed is None


@responses.activate
def test_fedex_track_address_and_reference_requests_follow_their_apis() -> None:
    responses.post(f"{FEDEX}/oauth/token", json=fixture("fedex", "token"))
    track = responses.post(f"{FEDEX}/track/v1/trackingnumbers", json=fixture("fedex", "track"))
    find = responses.post(f"{FEDEX}/track/v1/referencenumbers",
                          json=fixture("fedex", "track_reference"))
    resolve = responses.post(f"{FEDEX}/address/v1/addresses/resolve",
                             json=fixture("fedex", "address"))
    carrier = _fedex()
    carrier.track([f"7949535350{i:02}" for i in range(30)])
    carrier.find_shipment(letter(PERSON, COMPANY, "first_class", False))
    carrier.validate_address(PERSON)
    assert_valid("fedex-track-1.0-tracking-request", sent(track.calls[0]))
    assert_valid("fedex-track-1.0-tracking-request", sent(find.calls[0]))
    assert_valid("fedex-address-validation-1.0-request", sent(resolve.calls[0]))


# DHL Express: international (US→DE) and domestic outside the US (DE→DE).

def _dhl() -> Dhl:
    return Dhl({"username": "user", "password": "pass", "account_number": "123456789",
                "api_key": "track-key"}, CarrierHttp("dhl", DHL))


@pytest.mark.parametrize("certified", [False, True], ids=["plain", "certified"])
@pytest.mark.parametrize("mail_class", CLASSES)
@pytest.mark.parametrize(("to", "sender"), [(BERLIN, COMPANY), (BERLIN, MUNICH),
                                            (PERSON, MUNICH)],
                         ids=["international", "domestic-de", "inbound"])
@responses.activate
def test_dhl_shipment_requests_follow_mydhl_3(to, sender, mail_class, certified) -> None:
    created = responses.post(f"{DHL}/shipments", json=fixture("dhl", "shipment"), status=201)
    failed = create(_dhl(), letter(to, sender, mail_class, certified))
    body = sent(created.calls[0])
    assert_valid("dhl-mydhl-3.x-create-shipment-request", body)
    planned = datetime.strptime(body["plannedShippingDateAndTime"][:19], "%Y-%m-%dT%H:%M:%S")
    assert planned.replace(tzinfo=UTC) > SHIP_DAY, "never in the past when DHL reads it"
    assert failed is None


@pytest.mark.parametrize("mail_class", CLASSES)
@responses.activate
def test_dhl_never_sends_a_us_domestic_letter(mail_class) -> None:
    """Bug: US→US went out as product N, which DHL Express does not sell."""
    created = responses.post(f"{DHL}/shipments", json=fixture("dhl", "shipment"), status=201)
    with pytest.raises(CarrierError) as refused:
        _dhl().create_shipment(letter(PERSON, COMPANY, mail_class, False))
    assert not refused.value.retryable and created.call_count == 0

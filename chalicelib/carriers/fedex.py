"""FedEx REST APIs (apis.fedex.com), as published in FedEx's OpenAPI documents on
developer.fedex.com: OAuth API 1.0 (form-encoded client credentials), Address Validation
API 1.0, Ship API 1.0 and Track API 1.0 (up to 30 tracking numbers a request), with the
Track API's published status and scan-event code list.

Choices where the documents leave one:
- letters travel in a FedEx Envelope on Express services only (FedEx Ground does not take
  FedEx packaging); internationally, ``FEDEX_INTERNATIONAL_PRIORITY`` (the current name of
  International Priority) as a document shipment with its customs data;
- ``contact.phoneNumber`` is required on both parties: the address's phone, else the
  shipper phone from the credentials (``phone_number``), as FedEx's examples do.

An interrupted purchase is found again with the Track API's reference search
(``/track/v1/referencenumbers``, our letter id as CUSTOMER_REFERENCE).
FedEx has no push for this integration path (its webhooks need Advanced Integrated
Visibility enrolment), so FedEx letters are tracked by the scheduled poll.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from chalicelib.carriers.base import (UNKNOWN, AddressCheck, CarrierError, CarrierEvent,
                                      LetterOrder, PostalAddress, Shipment, TrackingUpdate,
                                      UnreadablePurchase, location, raw_reference)
from chalicelib.carriers.http import CarrierHttp, TokenCache, with_token

NAME = "fedex"
SPEC = "FedEx OAuth API 1.0, Address Validation API 1.0, Ship API 1.0, Track API 1.0"
SERVICES = {"first_class": "FEDEX_EXPRESS_SAVER", "standard": "FEDEX_EXPRESS_SAVER",
            "priority": "FEDEX_2_DAY", "express": "STANDARD_OVERNIGHT"}
INTERNATIONAL = {"first_class": "FEDEX_INTERNATIONAL_PRIORITY",
                 "standard": "FEDEX_INTERNATIONAL_PRIORITY",
                 "priority": "FEDEX_INTERNATIONAL_PRIORITY",
                 "express": "FEDEX_INTERNATIONAL_PRIORITY"}
LETTER_WEIGHT_LB = 0.5
# Track API status / scan event codes (FedEx's published list) → our statuses. Codes not
# listed (return-label link events RP/LP/RG/RD, CDO requests, split status…) are ``unknown``.
EVENT_CODES = {
    "OC": "submitted", "AP": "submitted", "EP": "submitted", "DS": "submitted",
    "CA": "cancelled",
    "PU": "in_transit", "PX": "in_transit", "LO": "in_transit", "OF": "in_transit",
    "DP": "in_transit", "AR": "in_transit", "AF": "in_transit", "IT": "in_transit",
    "IX": "in_transit", "EA": "in_transit", "EO": "in_transit", "FD": "in_transit",
    "SF": "in_transit", "PF": "in_transit", "PL": "in_transit", "PM": "in_transit",
    "TR": "in_transit", "AA": "in_transit", "AC": "in_transit", "AX": "in_transit",
    "OX": "in_transit", "CC": "in_transit", "CP": "in_transit", "CD": "in_transit",
    "DY": "in_transit", "DD": "in_transit", "PD": "in_transit", "AO": "in_transit",
    "CH": "in_transit", "HL": "in_transit", "HP": "in_transit",
    "OD": "out_for_delivery", "ED": "out_for_delivery", "AD": "out_for_delivery",
    "DL": "delivered",
    "RS": "returned_to_sender",
    "DE": "exception", "SE": "exception",
}
ADDRESS_NOT_FOUND = "STANDARDIZED.ADDRESS.NOTFOUND"
TRACKING_NOT_FOUND = ("TRACKING.TRACKINGNUMBER.NOTFOUND", "TRACKING.REFERENCENUMBER.NOTFOUND")


def address_json(address: PostalAddress) -> dict[str, Any]:
    out: dict[str, Any] = {
        "streetLines": [line for line in (address.line1, address.line2) if line],
        "city": address.city, "postalCode": address.postal_code or "",
        "countryCode": address.country}
    if address.state:
        out["stateOrProvinceCode"] = address.state
    return out


def _party(address: PostalAddress, fallback_phone: str | None) -> dict[str, Any]:
    phone = address.phone or fallback_phone
    if not phone:
        raise CarrierError(NAME, "FedEx needs a phone number for each party: give the address "
                                 "a phone, or set phone_number in the FedEx credentials",
                           field="phone")
    contact: dict[str, Any] = {"phoneNumber": phone}
    if address.name:
        contact["personName"] = address.name
    if address.company:
        contact["companyName"] = address.company
    return {"contact": contact, "address": address_json(address)}


def validation_request(address: PostalAddress) -> dict[str, Any]:
    return {"addressesToValidate": [{"address": address_json(address)}]}


def parse_validation(body: dict[str, Any], original: PostalAddress) -> AddressCheck:
    resolved = ((body.get("output") or {}).get("resolvedAddresses") or [{}])[0]
    attributes = resolved.get("attributes") or {}
    if attributes.get("SuiteRequiredButMissing") == "true":
        verdict = "deliverable_missing_unit"
    elif attributes.get("DPV") == "true" or attributes.get("Resolved") == "true":
        verdict = "deliverable"  # DPV for US addresses; resolved for the rest
    else:
        verdict = "undeliverable"
    lines = resolved.get("streetLinesToken") or [original.line1]
    normalized = PostalAddress(
        original.name, original.company, lines[0], lines[1] if len(lines) > 1 else None,
        resolved.get("city") or original.city,
        resolved.get("stateOrProvinceCode") or original.state,
        resolved.get("postalCode") or original.postal_code,
        resolved.get("countryCode") or original.country, original.phone)
    messages = tuple(m.get("message", "") for m in resolved.get("customerMessages") or [])
    return AddressCheck(verdict, normalized, messages)


def ship_request(order: LetterOrder, account_number: str,
                 shipper_phone: str | None = None) -> dict[str, Any]:
    """Ship API 1.0 ``POST /ship/v1/shipments``: one FedEx Envelope."""
    domestic = order.to.country == order.sender.country == "US"
    weight = {"units": "LB", "value": LETTER_WEIGHT_LB}
    shipment: dict[str, Any] = {
        "shipper": _party(order.sender, shipper_phone),
        "recipients": [_party(order.to, order.sender.phone or shipper_phone)],
        "shipDatestamp": order.ship_date.strftime("%Y-%m-%d"),
        "serviceType": (SERVICES if domestic else INTERNATIONAL)[order.mail_class],
        "packagingType": "FEDEX_ENVELOPE", "pickupType": "USE_SCHEDULED_PICKUP",
        "blockInsightVisibility": False,
        "shippingChargesPayment": {"paymentType": "SENDER"},
        "labelSpecification": {"imageType": "PDF",
                               "labelStockType": "PAPER_85X11_TOP_HALF_LABEL"},
        "totalPackageCount": 1,
        "requestedPackageLineItems": [{
            "weight": weight,
            "customerReferences": [{"customerReferenceType": "CUSTOMER_REFERENCE",
                                    "value": order.reference}]}],
    }
    if order.certified:  # proof of delivery: a signature
        shipment["requestedPackageLineItems"][0]["packageSpecialServices"] = {
            "specialServiceTypes": ["SIGNATURE_OPTION"], "signatureOptionType": "DIRECT"}
    if not domestic:
        shipment["totalWeight"] = LETTER_WEIGHT_LB
        shipment["customsClearanceDetail"] = {
            "dutiesPayment": {"paymentType": "SENDER"},
            "isDocumentOnly": True,
            "commercialInvoice": {"shipmentPurpose": "NOT_SOLD"},
            "totalCustomsValue": {"amount": 1, "currency": "USD"},
            "commodities": [{
                "description": "Correspondence (documents)", "quantity": 1,
                "quantityUnits": "PCS", "numberOfPieces": 1,
                "countryOfManufacture": order.sender.country, "weight": weight,
                "customsValue": {"amount": 1, "currency": "USD"}}]}
    return {"labelResponseOptions": "LABEL", "accountNumber": {"value": account_number},
            "requestedShipment": shipment}


def parse_ship(body: Any) -> Shipment:
    """FedEx has made the shipment once it answers 200: what is missing here is an
    ``UnreadablePurchase`` (never a retry)."""
    output = body.get("output") if isinstance(body, dict) else None
    shipments = (output or {}).get("transactionShipments") or []
    first = shipments[0] if shipments and isinstance(shipments[0], dict) else {}
    pieces = first.get("pieceResponses") or [{}]
    number = first.get("masterTrackingNumber") or pieces[0].get("trackingNumber")
    if not number:
        raise UnreadablePurchase(NAME, "the ship answer has no tracking number",
                                 raw_reference(body, ("masterTrackingNumber", "trackingNumber",
                                                      "jobId", "transactionId")))
    documents = pieces[0].get("packageDocuments") or []
    label = next((d.get("encodedLabel") for d in documents if d.get("encodedLabel")), None)
    try:
        pdf = base64.b64decode(label, validate=True) if label else None
    except (binascii.Error, ValueError):
        pdf = None
    return Shipment(tracking_number=str(number), label_pdf=pdf,
                    raw_status=first.get("serviceType"))


def reference_request(order: LetterOrder, account_number: str) -> dict[str, Any]:
    """Track API 1.0 ``POST /track/v1/referencenumbers``: shipments under our reference."""
    day = order.ship_date
    return {"includeDetailedScans": False, "referencesInformation": {
        "type": "CUSTOMER_REFERENCE", "value": order.reference,
        "accountNumber": account_number,
        "shipDateBegin": (day - timedelta(days=1)).strftime("%Y-%m-%d"),
        "shipDateEnd": (day + timedelta(days=1)).strftime("%Y-%m-%d")}}


def parse_reference(body: dict[str, Any]) -> str | None:
    for result in (body.get("output") or {}).get("completeTrackResults") or []:
        for track in result.get("trackResults") or []:
            if track.get("error"):
                continue
            number = (track.get("trackingNumberInfo") or {}).get("trackingNumber")
            if number:
                return str(number)
    return None


def track_request(numbers: list[str]) -> dict[str, Any]:
    return {"includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers]}


def event_status(code: str, derived: str | None = None) -> str:
    return EVENT_CODES.get(code) or EVENT_CODES.get(derived or "") or UNKNOWN


def parse_track(body: dict[str, Any]) -> list[TrackingUpdate]:
    updates = []
    for result in (body.get("output") or {}).get("completeTrackResults") or []:
        for track in result.get("trackResults") or []:
            if track.get("error"):
                continue  # TRACKING.TRACKINGNUMBER.NOTFOUND: nothing scanned yet
            events = []
            for scan in track.get("scanEvents") or []:
                where = scan.get("scanLocation") or {}
                events.append(CarrierEvent(
                    code=str(scan.get("eventType") or ""),
                    status=event_status(str(scan.get("eventType") or ""),
                                        scan.get("derivedStatusCode")),
                    timestamp=str(scan.get("date") or ""),
                    description=scan.get("eventDescription"),
                    location=location(where.get("city"), where.get("stateOrProvinceCode"),
                                      where.get("countryCode"))))
            events.sort(key=lambda e: e.timestamp)
            updates.append(TrackingUpdate(str(result.get("trackingNumber") or ""), events))
    return updates


class FedEx:
    name = NAME
    track_batch = 30

    def __init__(self, credentials: dict[str, Any], http: CarrierHttp) -> None:
        self._credentials = credentials
        self._http = http
        self._tokens = TokenCache(self._fetch_token)

    def _fetch_token(self) -> tuple[str, int]:
        body = self._http.call("POST", "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": self._credentials["client_id"],
            "client_secret": self._credentials["client_secret"]},
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        return body["access_token"], int(body.get("expires_in") or 0)

    def _call(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return with_token(self._tokens, lambda token: self._http.call(
            method, path, json=body, headers={"Authorization": f"Bearer {token}",
                                              "X-locale": "en_US"}))

    def validate_address(self, address: PostalAddress) -> AddressCheck:
        try:
            body = self._call("POST", "/address/v1/addresses/resolve",
                              validation_request(address))
        except CarrierError as err:
            if err.status == 400 and err.code == ADDRESS_NOT_FOUND:
                return AddressCheck("undeliverable", address, (err.message,))
            raise
        return parse_validation(body, address)

    def create_shipment(self, order: LetterOrder) -> Shipment:
        return parse_ship(self._call("POST", "/ship/v1/shipments", ship_request(
            order, self._credentials["account_number"],
            self._credentials.get("phone_number"))))

    def find_shipment(self, order: LetterOrder) -> Shipment | None:
        try:
            body = self._call("POST", "/track/v1/referencenumbers", reference_request(
                order, self._credentials["account_number"]))
        except CarrierError as err:
            if err.status == 404 or err.code in TRACKING_NOT_FOUND:
                return None
            raise
        number = parse_reference(body)
        return Shipment(tracking_number=number) if number else None

    def cancel(self, tracking_number: str) -> None:
        body = self._call("PUT", "/ship/v1/shipments/cancel", {
            "accountNumber": {"value": self._credentials["account_number"]},
            "trackingNumber": tracking_number, "deletionControl": "DELETE_ALL_PACKAGES"})
        if not (body.get("output") or {}).get("cancelledShipment"):
            raise CarrierError(NAME, "FedEx did not cancel the shipment")

    def track(self, tracking_numbers: list[str]) -> list[TrackingUpdate]:
        return parse_track(self._call("POST", "/track/v1/trackingnumbers",
                                      track_request(tracking_numbers)))

    def parse_push(self, body: dict[str, Any]) -> list[TrackingUpdate]:
        return parse_track(body)  # the Track API's shape, if a push is ever configured

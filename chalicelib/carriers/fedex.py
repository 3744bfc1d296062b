"""FedEx REST APIs (apis.fedex.com): OAuth (form-encoded client credentials), Address
Validation v1, Ship v1 and Track v1 (up to 30 tracking numbers a request).

FedEx has no push for this integration path (its webhooks need Advanced Integrated
Visibility enrolment), so FedEx letters are tracked by the scheduled poll.
"""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.carriers.base import (AddressCheck, CarrierError, CarrierEvent, LetterOrder,
                                      PostalAddress, Shipment, TrackingUpdate, location)
from chalicelib.carriers.http import CarrierHttp, TokenCache, with_token

NAME = "fedex"
SERVICES = {"first_class": "FEDEX_EXPRESS_SAVER", "standard": "FEDEX_GROUND",
            "priority": "FEDEX_2_DAY", "express": "STANDARD_OVERNIGHT"}
INTERNATIONAL = {"first_class": "INTERNATIONAL_ECONOMY", "standard": "INTERNATIONAL_ECONOMY",
                 "priority": "INTERNATIONAL_PRIORITY", "express": "INTERNATIONAL_PRIORITY"}
# Track API scan event codes → our statuses.
EVENT_CODES = {
    "OC": "submitted", "CA": "cancelled",
    "PU": "in_transit", "PX": "in_transit", "IT": "in_transit", "AR": "in_transit",
    "DP": "in_transit", "AF": "in_transit", "CC": "in_transit", "CD": "in_transit",
    "EA": "in_transit", "EO": "in_transit", "FD": "in_transit", "DY": "in_transit",
    "OD": "out_for_delivery",
    "DL": "delivered",
    "RS": "returned_to_sender", "RP": "returned_to_sender",
    "DE": "exception", "SE": "exception", "CH": "exception", "HL": "exception",
    "LO": "exception", "DD": "exception",
}


def address_json(address: PostalAddress) -> dict[str, Any]:
    out: dict[str, Any] = {
        "streetLines": [line for line in (address.line1, address.line2) if line],
        "city": address.city, "postalCode": address.postal_code or "",
        "countryCode": address.country}
    if address.state:
        out["stateOrProvinceCode"] = address.state
    return out


def _party(address: PostalAddress) -> dict[str, Any]:
    contact: dict[str, Any] = {"phoneNumber": address.phone or ""}
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


def ship_request(order: LetterOrder, account_number: str) -> dict[str, Any]:
    domestic = order.to.country == order.sender.country == "US"
    shipment: dict[str, Any] = {
        "shipper": _party(order.sender), "recipients": [_party(order.to)],
        "shipDatestamp": order.ship_date.strftime("%Y-%m-%d"),
        "serviceType": (SERVICES if domestic else INTERNATIONAL)[order.mail_class],
        "packagingType": "FEDEX_ENVELOPE", "pickupType": "USE_SCHEDULED_PICKUP",
        "blockInsightVisibility": False,
        "shippingChargesPayment": {"paymentType": "SENDER"},
        "labelSpecification": {"imageType": "PDF", "labelStockType": "PAPER_85X11_TOP_HALF_LABEL"},
        "requestedPackageLineItems": [{
            "weight": {"units": "LB", "value": 0.5},
            "customerReferences": [{"customerReferenceType": "CUSTOMER_REFERENCE",
                                    "value": order.reference}]}],
    }
    if order.certified:  # proof of delivery: a signature
        shipment["requestedPackageLineItems"][0]["packageSpecialServices"] = {
            "specialServiceTypes": ["SIGNATURE_OPTION"], "signatureOptionType": "DIRECT"}
    if not domestic:
        shipment["customsClearanceDetail"] = {"dutiesPayment": {"paymentType": "SENDER"},
                                              "isDocumentOnly": True,
                                              "commodities": [{"description": "Documents"}]}
    return {"labelResponseOptions": "LABEL", "accountNumber": {"value": account_number},
            "requestedShipment": shipment}


def parse_ship(body: dict[str, Any]) -> Shipment:
    shipments = (body.get("output") or {}).get("transactionShipments") or []
    if not shipments:
        raise CarrierError(NAME, "the ship response has no shipment", retryable=True)
    first = shipments[0]
    pieces = first.get("pieceResponses") or [{}]
    documents = pieces[0].get("packageDocuments") or []
    label = next((d.get("encodedLabel") for d in documents if d.get("encodedLabel")), None)
    number = first.get("masterTrackingNumber") or pieces[0].get("trackingNumber")
    if not number:
        raise CarrierError(NAME, "the ship response has no tracking number", retryable=True)
    return Shipment(tracking_number=str(number),
                    label_pdf=base64.b64decode(label) if label else None,
                    raw_status=first.get("serviceType"))


def track_request(numbers: list[str]) -> dict[str, Any]:
    return {"includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers]}


def _status(code: str, derived: str | None) -> str:
    return EVENT_CODES.get(code) or EVENT_CODES.get(derived or "") or "in_transit"


def parse_track(body: dict[str, Any]) -> list[TrackingUpdate]:
    updates = []
    for result in (body.get("output") or {}).get("completeTrackResults") or []:
        for track in result.get("trackResults") or []:
            if track.get("error"):
                continue  # e.g. TRACKING.TRACKINGNUMBER.NOTFOUND: nothing scanned yet
            events = []
            for scan in track.get("scanEvents") or []:
                where = scan.get("scanLocation") or {}
                events.append(CarrierEvent(
                    code=str(scan.get("eventType") or ""),
                    status=_status(str(scan.get("eventType") or ""),
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
        return parse_validation(self._call("POST", "/address/v1/addresses/resolve",
                                           validation_request(address)), address)

    def create_shipment(self, order: LetterOrder) -> Shipment:
        return parse_ship(self._call("POST", "/ship/v1/shipments",
                                     ship_request(order, self._credentials["account_number"])))

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

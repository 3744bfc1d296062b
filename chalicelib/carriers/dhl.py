"""DHL: MyDHL API 3.x (DHL Express: address validation and shipments, HTTP Basic auth;
the ``dpdhl-express-api`` swagger on developer.dhl.com) and the Shipment Tracking – Unified
API 1.x (``DHL-API-Key``), whose Push API posts the same shape.

DHL Express letters are documents: ``isCustomsDeclarable`` false, incoterm DAP (the
swagger requires ``content.incoterm`` on every shipment; its examples use DAP). DHL Express
sells no US domestic product, so a US→US letter is refused before it reaches DHL.
``plannedShippingDateAndTime`` must not lie in the past when DHL reads it: one hour ahead.
A shipment without a pickup request is not tendered until it is handed over, so there is
nothing to cancel at DHL; MyDHL offers no search by our reference, so an interrupted
purchase cannot be looked up. Tracking: the Unified API takes one tracking number a
request, answers 404 until the first scan (new shipments appear 10–30 minutes after
creation), and its starter quota is 250 calls a day at 1 a second (paced by settings).
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from chalicelib.carriers.base import (UNKNOWN, AddressCheck, CarrierError, CarrierEvent,
                                      LetterOrder, LookupUnavailable, PostalAddress, Shipment,
                                      TrackingUpdate, UnreadablePurchase, location,
                                      raw_reference)
from chalicelib.carriers.http import CarrierHttp

NAME = "dhl"
SPEC = "DHL MyDHL API 3.x (Express), Shipment Tracking - Unified API 1.x"
TRACKING_URL = "https://api-eu.dhl.com/track/shipments"
# Our classes → MyDHL global product codes: (domestic outside the US, international docs).
PRODUCTS = {"first_class": ("N", "D"), "standard": ("N", "D"), "priority": ("N", "D"),
            "express": ("I", "K")}
# Unified API ``status.statusCode`` (its published enum) → our statuses; the description
# refines "transit" into out-for-delivery and returns.
STATUS_CODES = {"pre-transit": "submitted", "transit": "in_transit", "delivered": "delivered",
                "failure": "exception", "unknown": UNKNOWN}
INCOTERM = "DAP"
PLANNED_AHEAD = timedelta(hours=1)


def _postal(address: PostalAddress) -> dict[str, Any]:
    out: dict[str, Any] = {"postalCode": address.postal_code or "", "cityName": address.city,
                           "countryCode": address.country, "addressLine1": address.line1}
    if address.line2:
        out["addressLine2"] = address.line2
    if address.state:
        out["provinceCode"] = address.state
    return out


def _details(address: PostalAddress) -> dict[str, Any]:
    """``companyName`` is required even for a person: the person's name stands in."""
    name = address.name or address.company or ""
    contact = {"fullName": name, "companyName": address.company or name,
               "phone": address.phone or "0000000000"}
    return {"postalAddress": _postal(address), "contactInformation": contact}


def validation_params(address: PostalAddress) -> dict[str, str]:
    return {"type": "delivery", "countryCode": address.country,
            "postalCode": address.postal_code or "", "cityName": address.city,
            "strictValidation": "true"}


def parse_validation(body: dict[str, Any], original: PostalAddress) -> AddressCheck:
    found = (body.get("address") or [None])[0]
    if not found:
        return AddressCheck("undeliverable", original, ("DHL does not serve this place",))
    return AddressCheck("deliverable", PostalAddress(
        original.name, original.company, original.line1, original.line2,
        found.get("cityName") or original.city, original.state,
        found.get("postalCode") or original.postal_code, original.country, original.phone))


def shipment_request(order: LetterOrder, account_number: str) -> dict[str, Any]:
    """MyDHL API 3.x ``POST /shipments`` for one document envelope."""
    domestic, international = PRODUCTS[order.mail_class]
    same_country = order.to.country == order.sender.country
    if same_country and order.to.country == "US":
        raise CarrierError(NAME, "DHL Express has no US domestic product", field="carrier")
    planned = order.ship_date + PLANNED_AHEAD
    request: dict[str, Any] = {
        "plannedShippingDateAndTime": planned.strftime("%Y-%m-%dT%H:%M:%S GMT+00:00"),
        "pickup": {"isRequested": False},
        "productCode": domestic if same_country else international,
        "accounts": [{"typeCode": "shipper", "number": account_number}],
        "customerReferences": [{"value": order.reference, "typeCode": "CU"}],
        "customerDetails": {"shipperDetails": _details(order.sender),
                            "receiverDetails": _details(order.to)},
        "content": {"packages": [{"weight": 0.25,
                                  "dimensions": {"length": 32, "width": 24, "height": 1}}],
                    "isCustomsDeclarable": False, "description": "Documents",
                    "incoterm": INCOTERM, "unitOfMeasurement": "metric"},
        "outputImageProperties": {"encodingFormat": "pdf",
                                  "imageOptions": [{"typeCode": "label",
                                                    "templateName": "ECOM26_84_001"}]},
    }
    if order.certified:
        request["valueAddedServices"] = [{"serviceCode": "SF"}]  # direct signature
    return request


def parse_shipment(body: Any) -> Shipment:
    """DHL has created the shipment once it answers 201: what is missing here is an
    ``UnreadablePurchase`` (never a retry)."""
    number = body.get("shipmentTrackingNumber") if isinstance(body, dict) else None
    if not number:
        raise UnreadablePurchase(NAME, "the shipment answer has no tracking number",
                                 raw_reference(body, ("shipmentTrackingNumber",
                                                      "trackingNumber",
                                                      "dispatchConfirmationNumber")))
    label = next((d.get("content") for d in body.get("documents") or []
                  if d.get("typeCode") == "label"), None)
    try:
        pdf = base64.b64decode(label, validate=True) if label else None
    except (binascii.Error, ValueError):
        pdf = None
    return Shipment(tracking_number=str(number), label_pdf=pdf)


def event_status(event: dict[str, Any]) -> str:
    status = STATUS_CODES.get(str(event.get("statusCode") or ""), UNKNOWN)
    if status != "in_transit":
        return status
    text = f"{event.get('status') or ''} {event.get('description') or ''}".lower()
    if "returned to shipper" in text or "return to shipper" in text:
        return "returned_to_sender"
    if "with delivery courier" in text or "out for delivery" in text:
        return "out_for_delivery"
    return status


def parse_tracking(body: dict[str, Any]) -> list[TrackingUpdate]:
    updates = []
    for shipment in body.get("shipments") or []:
        events = []
        for event in shipment.get("events") or []:
            address = (event.get("location") or {}).get("address") or {}
            events.append(CarrierEvent(
                code=str(event.get("statusCode") or ""), status=event_status(event),
                timestamp=str(event.get("timestamp") or ""),
                description=event.get("description") or event.get("status"),
                location=location(address.get("addressLocality"),
                                  address.get("countryCode"))))
        events.sort(key=lambda e: e.timestamp)
        updates.append(TrackingUpdate(str(shipment.get("id") or ""), events))
    return updates


class Dhl:
    name = NAME
    track_batch = 1

    def __init__(self, credentials: dict[str, Any], http: CarrierHttp,
                 tracking_url: str = TRACKING_URL) -> None:
        self._credentials = credentials
        self._http = http
        self._auth = (credentials["username"], credentials["password"])
        self._tracking_url = tracking_url or TRACKING_URL

    def validate_address(self, address: PostalAddress) -> AddressCheck:
        try:
            body = self._http.call("GET", "/address-validate", auth=self._auth,
                                   params=validation_params(address))
        except CarrierError as err:
            if err.status in (400, 404):
                return AddressCheck("undeliverable", address, (err.message,))
            raise
        return parse_validation(body, address)

    def create_shipment(self, order: LetterOrder) -> Shipment:
        return parse_shipment(self._http.call(
            "POST", "/shipments", auth=self._auth,
            json=shipment_request(order, self._credentials["account_number"])))

    def find_shipment(self, order: LetterOrder) -> Shipment | None:
        raise LookupUnavailable(NAME)

    def cancel(self, tracking_number: str) -> None:
        """Nothing was tendered (no pickup was requested): DHL holds nothing to cancel."""

    def track(self, tracking_numbers: list[str]) -> list[TrackingUpdate]:
        updates = []
        for number in tracking_numbers:
            try:
                body = self._http.call("GET", self._tracking_url,
                                       params={"trackingNumber": number, "service": "express"},
                                       headers={"DHL-API-Key": self._credentials["api_key"]})
            except CarrierError as err:
                if err.status == 404:  # not scanned yet
                    continue
                raise
            updates += parse_tracking(body)
        return updates

    def parse_push(self, body: dict[str, Any]) -> list[TrackingUpdate]:
        return parse_tracking(body)

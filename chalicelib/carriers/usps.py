"""USPS v3 REST APIs (apis.usps.com): OAuth 2.0 client credentials, Addresses 3.0,
Payments 3.0 (the label payment token), Labels 3.0 and Tracking 3.0.

Builders and parsers are pure functions of the published JSON shapes; ``Usps`` binds them to
HTTP. USPS takes only what it needs: names, the two address lines, city, state, ZIP.
"""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.carriers.base import (AddressCheck, CarrierError, CarrierEvent, LetterOrder,
                                      PostalAddress, Shipment, TrackingUpdate, location)
from chalicelib.carriers.http import CarrierHttp, TokenCache, with_token

NAME = "usps"
# Our mail classes → USPS Labels 3.0 mailClass and rateIndicator (flat-rate envelope).
MAIL_CLASSES = {"first_class": ("USPS_GROUND_ADVANTAGE", "SP"),
                "standard": ("USPS_GROUND_ADVANTAGE", "SP"),
                "priority": ("PRIORITY_MAIL", "FE"),
                "express": ("PRIORITY_MAIL_EXPRESS", "FE")}
CERTIFIED_MAIL = 910  # Labels 3.0 extraServices code
# USPS tracking event codes → our statuses (the raw code is always kept on the event).
EVENT_CODES = {
    "MA": "submitted", "GX": "cancelled",
    "03": "in_transit", "OA": "in_transit", "10": "in_transit", "07": "in_transit",
    "SF": "in_transit", "T1": "in_transit", "A1": "in_transit", "L1": "in_transit",
    "U1": "in_transit", "PC": "in_transit", "NT": "in_transit", "08": "in_transit",
    "OF": "out_for_delivery",
    "01": "delivered", "17": "delivered", "I0": "delivered",
    "09": "returned_to_sender", "RS": "returned_to_sender",
    "02": "exception", "04": "exception", "05": "exception", "11": "exception",
    "21": "exception", "22": "exception", "23": "exception", "53": "exception",
}


def _split_name(address: PostalAddress) -> tuple[str, str]:
    first, _, last = (address.name or "").partition(" ")
    return first, last


def _zip(address: PostalAddress) -> tuple[str, str | None]:
    code = (address.postal_code or "").replace(" ", "")
    five, _, four = code.partition("-")
    return five, four or None


def address_params(address: PostalAddress) -> dict[str, str]:
    """Addresses 3.0 ``GET /address`` query."""
    five, four = _zip(address)
    params = {"streetAddress": address.line1, "city": address.city,
              "state": address.state or "", "ZIPCode": five}
    if address.line2:
        params["secondaryAddress"] = address.line2
    if four:
        params["ZIPPlus4"] = four
    return params


def parse_address(body: dict[str, Any], original: PostalAddress) -> AddressCheck:
    found = body.get("address") or {}
    dpv = (body.get("additionalInfo") or {}).get("DPVConfirmation")
    verdict = {"Y": "deliverable", "D": "deliverable_missing_unit",
               "S": "deliverable_missing_unit"}.get(dpv or "", "undeliverable")
    zip4 = found.get("ZIPPlus4")
    normalized = PostalAddress(
        original.name, original.company or body.get("firm") or None,
        found.get("streetAddress") or original.line1,
        found.get("secondaryAddress") or original.line2, found.get("city") or original.city,
        found.get("state") or original.state,
        f"{found['ZIPCode']}-{zip4}" if found.get("ZIPCode") and zip4
        else found.get("ZIPCode") or original.postal_code, "US", original.phone)
    messages = tuple(c["text"] for c in body.get("corrections") or [] if c.get("text"))
    return AddressCheck(verdict, normalized, messages)


def _label_address(address: PostalAddress) -> dict[str, Any]:
    first, last = _split_name(address)
    five, four = _zip(address)
    out: dict[str, Any] = {"streetAddress": address.line1, "city": address.city,
                           "state": address.state, "ZIPCode": five}
    if first:
        out.update(firstName=first, lastName=last)
    if address.company:
        out["firm"] = address.company
    if address.line2:
        out["secondaryAddress"] = address.line2
    if four:
        out["ZIPPlus4"] = four
    return out


def label_request(order: LetterOrder) -> dict[str, Any]:
    """Labels 3.0 ``POST /label`` body for one letter-size flat."""
    mail_class, rate = MAIL_CLASSES[order.mail_class]
    return {
        "imageInfo": {"imageType": "PDF", "labelType": "4X6LABEL", "receiptOption": "NONE"},
        "toAddress": _label_address(order.to),
        "fromAddress": _label_address(order.sender),
        "packageDescription": {
            "mailClass": mail_class, "rateIndicator": rate, "processingCategory": "FLATS",
            "weightUOM": "lb", "weight": round(0.0625 * max(1, order.pages // 4 + 1), 4),
            "dimensionsUOM": "in", "length": 12.5, "width": 9.5, "height": 0.25,
            "mailingDate": order.ship_date.strftime("%Y-%m-%d"),
            "destinationEntryFacilityType": "NONE",
            "customerReference": [{"referenceNumber": order.reference,
                                   "printReferenceNumber": False}],
            "extraServices": [CERTIFIED_MAIL] if order.certified else [],
        },
    }


def parse_label(body: dict[str, Any]) -> Shipment:
    metadata = body.get("labelMetadata") or {}
    number = metadata.get("trackingNumber")
    if not number:
        raise CarrierError(NAME, "the label response has no tracking number", retryable=True)
    image = body.get("labelImage")
    return Shipment(tracking_number=str(number),
                    label_pdf=base64.b64decode(image) if image else None,
                    cost=str(metadata["postage"]) if "postage" in metadata else None)


def _status(event: dict[str, Any]) -> str:
    code = str(event.get("eventCode") or "")
    if code in EVENT_CODES:
        return EVENT_CODES[code]
    text = str(event.get("eventType") or "").lower()
    for words, status in (("out for delivery", "out_for_delivery"), ("delivered", "delivered"),
                          ("return to sender", "returned_to_sender"), ("alert", "exception"),
                          ("label", "submitted")):
        if words in text:
            return status
    return "in_transit"


def parse_tracking(body: dict[str, Any]) -> TrackingUpdate:
    events = [CarrierEvent(code=str(e.get("eventCode") or e.get("eventType") or ""),
                           status=_status(e), timestamp=str(e.get("eventTimestamp") or ""),
                           description=e.get("eventType"),
                           location=location(e.get("eventCity"), e.get("eventState"),
                                             e.get("eventCountry")))
              for e in body.get("trackingEvents") or []]
    events.sort(key=lambda e: e.timestamp)
    return TrackingUpdate(tracking_number=str(body.get("trackingNumber") or ""), events=events)


class Usps:
    name = NAME
    track_batch = 1

    def __init__(self, credentials: dict[str, Any], http: CarrierHttp) -> None:
        self._credentials = credentials
        self._http = http
        self._tokens = TokenCache(self._fetch_token)
        self._payment = TokenCache(self._fetch_payment_token)

    def _fetch_token(self) -> tuple[str, int]:
        body = self._http.call("POST", "/oauth2/v3/token", json={
            "grant_type": "client_credentials", "client_id": self._credentials["client_id"],
            "client_secret": self._credentials["client_secret"]})
        return body["access_token"], int(body.get("expires_in") or 0)

    def _fetch_payment_token(self) -> tuple[str, int]:
        account = self._credentials.get("payment") or {}
        roles = [{"roleName": role, "CRID": account.get("crid"), "MID": account.get("mid"),
                  "manifestMID": account.get("manifest_mid"),
                  "accountType": account.get("account_type", "EPS"),
                  "accountNumber": account.get("account_number")}
                 for role in ("PAYER", "LABEL_OWNER")]
        body = self._call("POST", "/payments/v3/payment-authorization", json={"roles": roles})
        return body["paymentAuthorizationToken"], 8 * 3600  # USPS: valid for 8 hours

    def _call(self, method: str, path: str, headers: dict[str, str] | None = None,
              **kwargs: Any) -> Any:
        return with_token(self._tokens, lambda token: self._http.call(
            method, path, headers={"Authorization": f"Bearer {token}", **(headers or {})},
            **kwargs))

    def validate_address(self, address: PostalAddress) -> AddressCheck:
        try:
            body = self._call("GET", "/addresses/v3/address", params=address_params(address))
        except CarrierError as err:
            if err.status in (400, 404):  # "Address Not Found" and friends
                return AddressCheck("undeliverable", address, (err.message,))
            raise
        return parse_address(body, address)

    def create_shipment(self, order: LetterOrder) -> Shipment:
        body = self._call("POST", "/labels/v3/label", json=label_request(order), headers={
            "X-Payment-Authorization-Token": self._payment.token(),
            "Accept": "application/vnd.usps.labels+json"})
        return parse_label(body)

    def cancel(self, tracking_number: str) -> None:
        self._call("DELETE", f"/labels/v3/label/{tracking_number}", headers={
            "X-Payment-Authorization-Token": self._payment.token()})

    def track(self, tracking_numbers: list[str]) -> list[TrackingUpdate]:
        return [parse_tracking(self._call("GET", f"/tracking/v3/tracking/{number}",
                                          params={"expand": "DETAIL"}))
                for number in tracking_numbers]

    def parse_push(self, body: dict[str, Any]) -> list[TrackingUpdate]:
        """A Subscriptions-Tracking notification: one tracking document, or a list."""
        documents = body.get("trackingEvents") if "trackingNumber" not in body else None
        if isinstance(documents, list) and documents and "trackingNumber" in documents[0]:
            return [parse_tracking(d) for d in documents]
        return [parse_tracking(body)] if body.get("trackingNumber") else []

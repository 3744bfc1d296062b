"""USPS v3 REST APIs (apis.usps.com): OAuth 2.0 3.x (client credentials), Addresses 3.x,
Payments 3.x (the label payment token), Domestic Labels 3.x and Tracking 3.x, as published
in USPS's OpenAPI documents on developer.usps.com and the examples of the ``USPS/api-examples``
repository (``domesticlabel-v3-request.json`` / ``-response.json``).

Where the documents leave a choice, the examples decide:
- the label answer is read as the flat JSON USPS sends for
  ``Accept: application/vnd.usps.labels+json`` (``trackingNumber``, ``labelImage``,
  ``postage`` at the top level; the multipart default carries the same metadata part);
- ``physicalSignatureRequired`` sits in ``packageDescription`` (the Labels 3.x schema),
  sent whenever an extra service that needs it is asked for.

Builders and parsers are pure functions of the published JSON shapes; ``Usps`` binds them to
HTTP. USPS takes only what it needs: names, the two address lines, city, state, ZIP.
Tracking: one number a request (Tracking 3.x ``GET /tracking/{trackingNumber}``); a 404
means "no scan yet", not an error. USPS offers no search of labels by our reference, so an
interrupted purchase cannot be looked up (``find_shipment`` says so).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.carriers.base import (UNKNOWN, AddressCheck, CarrierError, CarrierEvent,
                                      LetterOrder, LookupUnavailable, PostalAddress, Shipment,
                                      TrackingUpdate, UnreadablePurchase, location,
                                      raw_reference)
from chalicelib.carriers.http import CarrierHttp, TokenCache, with_token

NAME = "usps"
SPEC = "USPS Domestic Labels 3.x, Addresses 3.x, Tracking 3.x, OAuth 3.x"
# Our mail classes → Labels 3.x (mailClass, rateIndicator, processingCategory).
# FLATS belongs to Priority Mail and Priority Mail Express flat-rate envelopes (FE, E4);
# USPS Ground Advantage takes a letter-size envelope as a single-piece machinable parcel.
MAIL_CLASSES = {"first_class": ("USPS_GROUND_ADVANTAGE", "SP", "MACHINABLE"),
                "standard": ("USPS_GROUND_ADVANTAGE", "SP", "MACHINABLE"),
                "priority": ("PRIORITY_MAIL", "FE", "FLATS"),
                "express": ("PRIORITY_MAIL_EXPRESS", "E4", "FLATS")}
CERTIFIED_MAIL = 910  # Labels 3.x extraServices: Certified Mail
SIGNATURE_REQUESTED = 981  # Priority Mail Express only (Certified Mail is not offered with it)
OAUTH_SCOPE = "addresses tracking labels payments"
# Tracking 3.x event codes (USPS's published event code list) → our statuses. Codes not
# listed map to ``unknown``: kept on the timeline, never moving the letter.
EVENT_CODES = {
    # pre-shipment and acceptance
    "MA": "submitted", "GX": "cancelled", "TM": "submitted", "89": "submitted",
    "03": "in_transit", "OA": "in_transit", "80": "in_transit", "81": "in_transit",
    "82": "in_transit", "83": "in_transit", "AD": "in_transit", "UA": "in_transit",
    # in the network
    "06": "in_transit", "07": "in_transit", "08": "in_transit", "10": "in_transit",
    "14": "in_transit", "15": "in_transit", "16": "in_transit", "A1": "in_transit",
    "L1": "in_transit", "T1": "in_transit", "U1": "in_transit", "SF": "in_transit",
    "PC": "in_transit", "NT": "in_transit",
    "OF": "out_for_delivery",
    # delivered, picked up by the addressee or an agent
    "01": "delivered", "17": "delivered", "43": "delivered",
    # on its way back to the sender
    "09": "returned_to_sender", "24": "returned_to_sender", "25": "returned_to_sender",
    "26": "returned_to_sender", "27": "returned_to_sender", "28": "returned_to_sender",
    "29": "returned_to_sender", "31": "returned_to_sender",
    # delivery problems
    "02": "exception", "04": "exception", "05": "exception", "11": "exception",
    "21": "exception", "22": "exception", "23": "exception", "44": "exception",
    "51": "exception", "52": "exception", "53": "exception", "54": "exception",
    "55": "exception", "56": "exception", "57": "exception",
}


def _split_name(address: PostalAddress) -> tuple[str, str]:
    first, _, last = (address.name or "").strip().partition(" ")
    return first, last.strip()


def _zip(address: PostalAddress) -> tuple[str, str | None]:
    code = (address.postal_code or "").replace(" ", "")
    five, _, four = code.partition("-")
    return five, four or None


def address_params(address: PostalAddress) -> dict[str, str]:
    """Addresses 3.x ``GET /address`` query."""
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
    """A one-word name goes as ``firstName`` alone: ``lastName`` has minLength 1."""
    first, last = _split_name(address)
    five, four = _zip(address)
    out: dict[str, Any] = {"streetAddress": address.line1, "city": address.city,
                           "state": address.state, "ZIPCode": five}
    if first:
        out["firstName"] = first
    if last:
        out["lastName"] = last
    if address.company:
        out["firm"] = address.company
    if address.line2:
        out["secondaryAddress"] = address.line2
    if four:
        out["ZIPPlus4"] = four
    return out


def label_request(order: LetterOrder) -> dict[str, Any]:
    """Labels 3.x ``POST /label`` body for one letter-size envelope."""
    mail_class, rate, category = MAIL_CLASSES[order.mail_class]
    description: dict[str, Any] = {
        "mailClass": mail_class, "rateIndicator": rate, "processingCategory": category,
        "weightUOM": "lb", "weight": round(0.0625 * max(1, order.pages // 4 + 1), 4),
        "dimensionsUOM": "in", "length": 12.5, "width": 9.5, "height": 0.25,
        "mailingDate": order.ship_date.strftime("%Y-%m-%d"),
        "destinationEntryFacilityType": "NONE",
        "customerReference": [{"referenceNumber": order.reference,
                               "printReferenceNumber": False}],
        "extraServices": [],
    }
    if order.certified:
        description["extraServices"] = [SIGNATURE_REQUESTED if mail_class ==
                                        "PRIORITY_MAIL_EXPRESS" else CERTIFIED_MAIL]
        # Required with these services; the signature is taken electronically at delivery.
        description["physicalSignatureRequired"] = False
    return {
        # suppressPostage defaults to true in Labels 3.x: a label without postage is not
        # mailable, so it is always sent as false.
        "imageInfo": {"imageType": "PDF", "labelType": "4X6LABEL", "receiptOption": "NONE",
                      "suppressPostage": False},
        "toAddress": _label_address(order.to),
        "fromAddress": _label_address(order.sender),
        "packageDescription": description,
    }


def parse_label(body: Any) -> Shipment:
    """The flat ``application/vnd.usps.labels+json`` answer. USPS has bought the label by
    now: anything missing is an ``UnreadablePurchase``, never a retry."""
    number = body.get("trackingNumber") if isinstance(body, dict) else None
    if not number:
        raise UnreadablePurchase(NAME, "the label answer has no tracking number",
                                 raw_reference(body, ("trackingNumber", "SKU",
                                                      "routingInformation")))
    image = body.get("labelImage")
    try:
        label = base64.b64decode(image, validate=True) if image else None
    except (binascii.Error, ValueError):
        label = None  # the tracking number is what counts; the label can be fetched again
    return Shipment(tracking_number=str(number), label_pdf=label,
                    cost=str(body["postage"]) if body.get("postage") is not None else None)


def _timestamp(event: dict[str, Any]) -> str:
    """UTC: ``GMTTimestamp`` when present; else the local ``eventTimestamp`` shifted by
    ``GMTOffset``; else the local time as given."""
    if event.get("GMTTimestamp"):
        return str(event["GMTTimestamp"])
    local = str(event.get("eventTimestamp") or "")
    offset = str(event.get("GMTOffset") or "")
    try:
        moment = datetime.fromisoformat(local.replace("Z", ""))
        sign = -1 if offset.startswith("-") else 1
        hours, _, minutes = offset.lstrip("+-").partition(":")
        shift = timedelta(hours=int(hours), minutes=int(minutes or 0)) * sign
    except ValueError:
        return local
    return (moment - shift).replace(tzinfo=UTC).isoformat()


def event_status(code: str) -> str:
    return EVENT_CODES.get(code, UNKNOWN)


def parse_tracking(body: dict[str, Any]) -> TrackingUpdate:
    events = [CarrierEvent(code=str(e.get("eventCode") or e.get("eventType") or ""),
                           status=event_status(str(e.get("eventCode") or "")),
                           timestamp=_timestamp(e), description=e.get("eventType"),
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
            "client_secret": self._credentials["client_secret"], "scope": OAUTH_SCOPE})
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

    def _paid_call(self, method: str, path: str, headers: dict[str, str] | None = None,
                   **kwargs: Any) -> Any:
        """A Labels call: a 401 may come from a stale payment token as well as a stale
        OAuth token, so both are fetched again before the one retry (a 401 bought nothing)."""
        def attempt() -> Any:
            return self._http.call(method, path, headers={
                "Authorization": f"Bearer {self._tokens.token()}",
                "X-Payment-Authorization-Token": self._payment.token(), **(headers or {})},
                **kwargs)
        try:
            return attempt()
        except CarrierError as err:
            if err.status != 401:
                raise
            self._tokens.invalidate()
            self._payment.invalidate()
            return attempt()

    def validate_address(self, address: PostalAddress) -> AddressCheck:
        try:
            body = self._call("GET", "/addresses/v3/address", params=address_params(address))
        except CarrierError as err:
            if err.status in (400, 404):  # "Address Not Found" and friends
                return AddressCheck("undeliverable", address, (err.message,))
            raise
        return parse_address(body, address)

    def create_shipment(self, order: LetterOrder) -> Shipment:
        body = self._paid_call("POST", "/labels/v3/label", json=label_request(order),
                               headers={"Accept": "application/vnd.usps.labels+json"})
        return parse_label(body)

    def find_shipment(self, order: LetterOrder) -> Shipment | None:
        raise LookupUnavailable(NAME)

    def cancel(self, tracking_number: str) -> None:
        self._paid_call("DELETE", f"/labels/v3/label/{tracking_number}")

    def track(self, tracking_numbers: list[str]) -> list[TrackingUpdate]:
        updates = []
        for number in tracking_numbers:
            try:
                body = self._call("GET", f"/tracking/v3/tracking/{number}",
                                  params={"expand": "DETAIL"})
            except CarrierError as err:
                if err.status == 404:  # no scan yet: nothing to report, not a failure
                    continue
                raise
            updates.append(parse_tracking(body))
        return updates

    def parse_push(self, body: dict[str, Any]) -> list[TrackingUpdate]:
        """A Subscriptions-Tracking notification: one tracking document, or a list."""
        documents = body.get("trackingEvents") if "trackingNumber" not in body else None
        if isinstance(documents, list) and documents and "trackingNumber" in documents[0]:
            return [parse_tracking(d) for d in documents]
        return [parse_tracking(body)] if body.get("trackingNumber") else []

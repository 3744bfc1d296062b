"""/v1/letters, /v1/addresses/verify and the carriers' tracking pushes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.errors import MalformedRequest, NotFound, Unauthorized
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR, body_text

if TYPE_CHECKING:
    from chalicelib.letter_models import AddressVerification, LetterOut, LetterPage
    from chalicelib.models import WebhookAck


api = blueprint_api(__name__)
TAGS = ("letters",)
PUSHING = ("usps", "fedex", "dhl", "sandbox")


@api.operation("POST", "/v1/letters", summary="Send a letter (PDF or HTML) to a postal address",
               body="letter_models:LetterCreate",
               responses={201: "letter_models:LetterOut", 422: ERROR, 503: ERROR},
               tags=TAGS, idempotent=True)
def create_letter(call: Call) -> LetterOut:
    return wiring.container().letters.create(call.account, call.body, utcnow())


@api.operation("GET", "/v1/letters", summary="List letters, newest first",
               responses={200: "letter_models:LetterPage", 422: ERROR}, tags=TAGS)
def list_letters(call: Call) -> LetterPage:
    return wiring.container().letters.list(call.account, call.query_int("limit", 20, 1, 100),
                                           call.query("cursor"))


@api.operation("GET", "/v1/letters/{letter_id}", summary="A letter: status and tracking",
               responses={200: "letter_models:LetterOut", 404: ERROR}, tags=TAGS)
def get_letter(call: Call, letter_id: str) -> LetterOut:
    return wiring.container().letters.get(call.account, letter_id)


@api.operation("POST", "/v1/letters/{letter_id}/cancel",
               summary="Cancel before the carrier has it (within the cancellation window)",
               responses={200: "letter_models:LetterOut", 404: ERROR, 409: ERROR}, tags=TAGS)
def cancel_letter(call: Call, letter_id: str) -> LetterOut:
    return wiring.container().letters.cancel(call.account, letter_id, utcnow())


@api.operation("POST", "/v1/addresses/verify",
               summary="Normalize a postal address and verify it with a carrier",
               body="letter_models:AddressVerifyRequest",
               responses={200: "letter_models:AddressVerification", 422: ERROR},
               tags=TAGS)
def verify_address(call: Call) -> AddressVerification:
    return wiring.container().addresses.verify(call.body.address, call.body.carrier)


def push_token(carrier: str) -> str:
    """The secret a carrier's push subscription carries in its URL (``?token=``)."""
    return wiring.container().tokens.purpose_token(f"carrier-push:{carrier}")


@api.operation("POST", "/webhooks/carriers/{carrier}",
               summary="Tracking pushed by a carrier (URL from `letterbox carrier-push-url`)",
               responses={200: "models:WebhookAck", 400: ERROR, 401: ERROR, 404: ERROR},
               scope=None,
               tags=("providers",))
def carrier_push(call: Call, carrier: str) -> WebhookAck:
    from chalicelib.models import WebhookAck
    if carrier not in PUSHING or carrier not in wiring.container().carriers.configured():
        raise NotFound(f"no carrier {carrier} in this deployment")
    given = call.query("token") or ""
    if not wiring.container().tokens.accepts_purpose_token(f"carrier-push:{carrier}", given):
        raise Unauthorized("the push token is missing or wrong")
    try:
        body = json.loads(body_text(call.request) or "{}")
    except ValueError as err:
        raise MalformedRequest("the push body is not JSON") from err
    recorded = wiring.container().letter_tracker.push(
        carrier, body if isinstance(body, dict) else {}, utcnow())
    return WebhookAck(recorded=recorded)

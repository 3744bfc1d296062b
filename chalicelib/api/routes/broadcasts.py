"""/v1/broadcasts"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR
from chalicelib.clock import utcnow
from chalicelib.errors import ValidationFailed

if TYPE_CHECKING:
    from chalicelib.marketing_models import BroadcastOut, BroadcastPage, RecipientPage

api = blueprint_api(__name__)
TAGS = ("broadcasts",)
M = "marketing_models:"
RECIPIENT_STATUSES = ("queued", "sent", "delivered", "bounced", "complained", "opened",
                      "clicked", "unsubscribed", "suppressed", "failed", "skipped")


@api.operation("POST", "/v1/broadcasts", summary="Create a broadcast (a draft)",
               body=M + "BroadcastCreate", responses={201: M + "BroadcastOut", 422: ERROR},
               tags=TAGS, idempotent=True)
def create_broadcast(call: Call) -> BroadcastOut:
    return wiring.container().broadcasts.create(call.account.account_id, call.body, utcnow())


@api.operation("GET", "/v1/broadcasts", summary="List broadcasts",
               responses={200: M + "BroadcastPage", 422: ERROR}, tags=TAGS)
def list_broadcasts(call: Call) -> BroadcastPage:
    return wiring.container().broadcasts.list(
        call.account.account_id, call.query_int("limit", 20, 1, 100), call.query("cursor"))


@api.operation("GET", "/v1/broadcasts/{broadcast_id}", summary="A broadcast with its stats",
               responses={200: M + "BroadcastOut", 404: ERROR}, tags=TAGS)
def get_broadcast(call: Call, broadcast_id: str) -> BroadcastOut:
    return wiring.container().broadcasts.get(call.account.account_id, broadcast_id)


@api.operation("PATCH", "/v1/broadcasts/{broadcast_id}", summary="Change a draft or scheduled "
               "broadcast", body=M + "BroadcastUpdate",
               responses={200: M + "BroadcastOut", 404: ERROR, 409: ERROR, 422: ERROR},
               tags=TAGS)
def update_broadcast(call: Call, broadcast_id: str) -> BroadcastOut:
    return wiring.container().broadcasts.update(call.account.account_id, broadcast_id,
                                                call.body, utcnow())


@api.operation("POST", "/v1/broadcasts/{broadcast_id}/send", summary="Send now, or schedule "
               "(scheduled_at)", body=M + "BroadcastSend",
               responses={202: M + "BroadcastOut", 404: ERROR, 409: ERROR, 422: ERROR},
               tags=TAGS, idempotent=True)
def send_broadcast(call: Call, broadcast_id: str) -> BroadcastOut:
    return wiring.container().broadcasts.send(call.account, broadcast_id, call.body, utcnow())


@api.operation("POST", "/v1/broadcasts/{broadcast_id}/cancel", summary="Cancel (emails already "
               "queued still go)", responses={200: M + "BroadcastOut", 404: ERROR, 409: ERROR},
               tags=TAGS)
def cancel_broadcast(call: Call, broadcast_id: str) -> BroadcastOut:
    return wiring.container().broadcasts.cancel(call.account.account_id, broadcast_id, utcnow())


@api.operation("GET", "/v1/broadcasts/{broadcast_id}/recipients",
               summary="Recipients by status (status=sent, delivered, opened…)",
               responses={200: M + "RecipientPage", 404: ERROR, 422: ERROR}, tags=TAGS)
def broadcast_recipients(call: Call, broadcast_id: str) -> RecipientPage:
    status = call.query("status")
    if status is not None and status not in RECIPIENT_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(RECIPIENT_STATUSES)}",
                               details=[{"field": "status"}])
    return wiring.container().broadcasts.recipients(
        call.account.account_id, broadcast_id, call.query_int("limit", 50, 1, 100),
        call.query("cursor"), status)

"""/v1/emails"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR

if TYPE_CHECKING:
    from chalicelib.email_models import BatchAccepted, EmailAccepted, EmailEventPage, EmailOut


api = blueprint_api(__name__)
TAGS = ("emails",)


@api.operation("POST", "/v1/emails", summary="Send an email", scope="sending",
               body="email_models:SendEmailRequest",
               responses={202: "email_models:EmailAccepted", 409: ERROR},
               tags=TAGS, idempotent=True)
def send_email(call: Call) -> EmailAccepted:
    return wiring.container().emails.queue_email(call.account, call.body, utcnow())


@api.operation("POST", "/v1/emails/batch", summary="Send up to 100 emails; results per item",
               scope="sending", body="email_models:BatchRequest",
               responses={200: "email_models:BatchAccepted", 409: ERROR},
               tags=TAGS, idempotent=True)
def send_batch(call: Call) -> BatchAccepted:
    return wiring.container().emails.queue_batch(call.account, call.body.emails, utcnow())


@api.operation("GET", "/v1/emails/{email_id}", summary="An email with its event timeline",
               responses={200: "email_models:EmailOut", 404: ERROR}, tags=TAGS)
def get_email(call: Call, email_id: str) -> EmailOut:
    return wiring.container().emails.get_email(call.account, email_id)


@api.operation("GET", "/v1/emails/{email_id}/events",
               summary="One email's event timeline, oldest first, a page at a time",
               responses={200: "email_models:EmailEventPage", 404: ERROR, 422: ERROR},
               tags=TAGS)
def email_events(call: Call, email_id: str) -> EmailEventPage:
    return wiring.container().emails.email_events(
        call.account, email_id, call.query_int("limit", 100, 1, 500), call.query("cursor"))


@api.operation("PATCH", "/v1/emails/{email_id}", summary="Reschedule a scheduled email",
               body="email_models:Reschedule",
               responses={200: "email_models:EmailOut", 404: ERROR, 409: ERROR},
               tags=TAGS)
def reschedule_email(call: Call, email_id: str) -> EmailOut:
    return wiring.container().emails.reschedule(call.account, email_id, call.body, utcnow())


@api.operation("POST", "/v1/emails/{email_id}/cancel",
               summary="Cancel a scheduled or queued email before it is handed to SES",
               responses={200: "email_models:EmailOut", 404: ERROR, 409: ERROR}, tags=TAGS)
def cancel_email(call: Call, email_id: str) -> EmailOut:
    return wiring.container().emails.cancel(call.account, email_id, utcnow())

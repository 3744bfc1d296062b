"""/v1/emails"""

from __future__ import annotations

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.models import EmailAccepted, EmailOut, ErrorBody, SendEmailRequest
from chalicelib.routes import blueprint_api
from chalicelib.web import Call

api = blueprint_api(__name__)


@api.operation("POST", "/v1/emails", summary="Send an email", scope="sending",
               body=SendEmailRequest, responses={202: EmailAccepted}, tags=("emails",))
def send_email(call: Call) -> EmailAccepted:
    return wiring.container().emails.queue_email(call.account, call.body, utcnow())


@api.operation("GET", "/v1/emails/{email_id}", summary="An email with its event timeline",
               responses={200: EmailOut, 404: ErrorBody}, tags=("emails",))
def get_email(call: Call, email_id: str) -> EmailOut:
    return wiring.container().emails.get_email(call.account, email_id)

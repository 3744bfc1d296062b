"""/webhooks/ses: SES events through SNS (HTTPS subscription)."""

from __future__ import annotations

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.models import ErrorBody, WebhookAck
from chalicelib.routes import blueprint_api
from chalicelib.web import Call, body_text

api = blueprint_api(__name__)


@api.operation("POST", "/webhooks/ses", summary="SES events from SNS (signature-verified)",
               responses={200: WebhookAck, 400: ErrorBody, 403: ErrorBody, 503: ErrorBody},
               scope=None, tags=("providers",), content_types=["text/plain", "application/json"])
def ses_events(call: Call) -> WebhookAck:
    result = wiring.container().provider_events.receive_sns(body_text(call.request), utcnow())
    return WebhookAck.model_validate(result)

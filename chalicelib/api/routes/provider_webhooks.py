"""/webhooks/ses: SES events through SNS (HTTPS subscription)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR, body_text

if TYPE_CHECKING:
    from chalicelib.models import WebhookAck


api = blueprint_api(__name__)


@api.operation("POST", "/webhooks/ses", summary="SES events from SNS (signature-verified)",
               responses={200: "models:WebhookAck", 400: ERROR, 403: ERROR, 503: ERROR},
               scope=None, tags=("providers",), content_types=["text/plain", "application/json"])
def ses_events(call: Call) -> WebhookAck:
    from chalicelib.models import WebhookAck
    result = wiring.container().provider_events.receive_sns(body_text(call.request), utcnow())
    return WebhookAck.model_validate(result)

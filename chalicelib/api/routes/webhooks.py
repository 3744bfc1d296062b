"""/v1/webhooks"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR

if TYPE_CHECKING:
    from chalicelib.models import Deleted
    from chalicelib.webhook_models import (WebhookAttemptList, WebhookList, WebhookOut,
                                           WebhookWithSecret)


api = blueprint_api(__name__)
TAGS = ("webhooks",)


@api.operation("POST", "/v1/webhooks", summary="Add an endpoint (secret shown once)",
               body="webhook_models:WebhookCreate",
               responses={201: "webhook_models:WebhookWithSecret", 409: ERROR},
               tags=TAGS, idempotent=True)
def create_webhook(call: Call) -> WebhookWithSecret:
    return wiring.container().webhooks.create(call.account, call.body, utcnow())


@api.operation("GET", "/v1/webhooks", summary="List endpoints",
               responses={200: "webhook_models:WebhookList"},
               tags=TAGS)
def list_webhooks(call: Call) -> WebhookList:
    return wiring.container().webhooks.list_all(call.account)


@api.operation("GET", "/v1/webhooks/{webhook_id}", summary="An endpoint",
               responses={200: "webhook_models:WebhookOut", 404: ERROR}, tags=TAGS)
def get_webhook(call: Call, webhook_id: str) -> WebhookOut:
    return wiring.container().webhooks.get(call.account, webhook_id)


@api.operation("PATCH", "/v1/webhooks/{webhook_id}",
               summary="Change an endpoint (enabled: true re-enables it)",
               body="webhook_models:WebhookUpdate",
               responses={200: "webhook_models:WebhookOut", 404: ERROR}, tags=TAGS)
def update_webhook(call: Call, webhook_id: str) -> WebhookOut:
    return wiring.container().webhooks.update(call.account, webhook_id, call.body)


@api.operation("DELETE", "/v1/webhooks/{webhook_id}", summary="Remove an endpoint",
               responses={200: "models:Deleted", 404: ERROR}, tags=TAGS)
def delete_webhook(call: Call, webhook_id: str) -> Deleted:
    from chalicelib.models import Deleted
    wiring.container().webhooks.delete(call.account, webhook_id)
    return Deleted(id=webhook_id)


@api.operation("POST", "/v1/webhooks/{webhook_id}/rotate-secret",
               summary="New secret; the old one also signs for 24 hours",
               responses={200: "webhook_models:WebhookWithSecret", 404: ERROR}, tags=TAGS)
def rotate_secret(call: Call, webhook_id: str) -> WebhookWithSecret:
    return wiring.container().webhooks.rotate_secret(call.account, webhook_id, utcnow())


@api.operation("POST", "/v1/webhooks/{webhook_id}/test", summary="Send a webhook.test event",
               responses={202: "webhook_models:WebhookOut", 404: ERROR}, tags=TAGS)
def test_webhook(call: Call, webhook_id: str) -> WebhookOut:
    return wiring.container().webhooks.send_test(call.account, webhook_id, utcnow())


@api.operation("GET", "/v1/webhooks/{webhook_id}/attempts",
               summary="Delivery attempts of the last 30 days",
               responses={200: "webhook_models:WebhookAttemptList", 404: ERROR}, tags=TAGS)
def webhook_attempts(call: Call, webhook_id: str) -> WebhookAttemptList:
    return wiring.container().webhooks.attempts(call.account, webhook_id)

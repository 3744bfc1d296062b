"""Letterbox: routes and event sources only. Each handler parses, calls one service, maps."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Chalice, Rate, Response, SQSEvent

from chalicelib.observability import logger, metrics
from chalicelib.api.routes import (account, broadcasts, contacts, domains, edge, emails, letters,
                                   logs, provider_webhooks, resend, smtp, suppressions, templates,
                                   tracking, webhooks)
from chalicelib.api.web import Api, Call, json_error_middleware
from chalicelib.api.dashboard.pages import blueprint as dashboard

app = Chalice(app_name="letterbox")
app.debug = False
# The open pixel is binary; mail clients ask for images with Accept: image/* (or */*).
app.api.binary_types.append("image/*")
app.register_middleware(json_error_middleware, "http")
api = Api(app, edge)
APIS = (api, emails.api, domains.api, smtp.api, templates.api, suppressions.api,
        provider_webhooks.api, tracking.api, logs.api, webhooks.api, account.api, letters.api,
        resend.api, contacts.api, broadcasts.api)
for module_api in APIS[1:]:
    assert isinstance(module_api.app, Blueprint)
    app.register_blueprint(module_api.app)
app.register_blueprint(dashboard)  # the customer portal, /dashboard (server-rendered HTML)

# Queue names are placeholders: infra/ points each event source at the real queue's ARN.
SEND_QUEUE = "letterbox-send"
SEND_DEAD_LETTERS = "letterbox-send-dlq"
WEBHOOK_QUEUE = "letterbox-webhooks"
LETTER_QUEUE = "letterbox-letters"
SES_EVENTS_QUEUE = "letterbox-ses-events"
LETTER_DEAD_LETTERS = "letterbox-letters-dlq"
MARKETING_QUEUE = "letterbox-marketing"
WEBHOOK_DEAD_LETTERS = "letterbox-webhooks-dlq"
SES_EVENTS_DEAD_LETTERS = "letterbox-ses-events-dlq"
MARKETING_DEAD_LETTERS = "letterbox-marketing-dlq"
PRIVACY_QUEUE = "letterbox-privacy"
PRIVACY_DEAD_LETTERS = "letterbox-privacy-dlq"


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    """Request id on every log line; metrics flushed once per invocation."""
    context = getattr(event, "context", None) or getattr(app, "lambda_context", None)
    logger.append_keys(request_id=getattr(context, "aws_request_id", None))
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()


@api.operation("GET", "/v1/openapi.json", summary="This API's OpenAPI 3.1 document",
               responses={200: None}, scope=None, tags=("meta",))
def openapi_document(call: Call) -> Response:
    from chalicelib.api.openapi import build_document
    operations = [op for module_api in APIS for op in module_api.operations
                  if not op.path.startswith("/resend/")]  # its own document, /resend/openapi.json
    return Response(body=build_document(operations, version="1"), status_code=200,
                    headers={"Content-Type": "application/json"})


def _consume(batch: str, event: SQSEvent) -> dict[str, Any]:
    """Queue glue, imported on first use: a cold API call never pays for it."""
    from chalicelib.consumers import SQS_BATCHES
    return SQS_BATCHES[batch](event.to_dict(), event.context)


@app.on_sqs_message(queue=SEND_QUEUE, batch_size=10, maximum_batching_window_in_seconds=1)
def send_worker(event: SQSEvent) -> dict[str, Any]:
    return _consume("send", event)


@app.on_sqs_message(queue=SEND_DEAD_LETTERS, batch_size=10)
def send_dead_letters(event: SQSEvent) -> dict[str, Any]:
    return _consume("send_dead_letters", event)


@app.on_sqs_message(queue=WEBHOOK_QUEUE, batch_size=10)
def deliver_webhooks(event: SQSEvent) -> dict[str, Any]:
    return _consume("webhooks", event)


@app.on_sqs_message(queue=WEBHOOK_DEAD_LETTERS, batch_size=10)
def webhook_dead_letters(event: SQSEvent) -> dict[str, Any]:
    return _consume("webhook_dead_letters", event)


@app.on_sqs_message(queue=SES_EVENTS_DEAD_LETTERS, batch_size=10)
def ses_event_dead_letters(event: SQSEvent) -> dict[str, Any]:
    return _consume("ses_event_dead_letters", event)


@app.on_sqs_message(queue=SES_EVENTS_QUEUE, batch_size=10, maximum_batching_window_in_seconds=5)
def ingest_ses_events(event: SQSEvent) -> dict[str, Any]:
    return _consume("ses_events", event)


# One letter an invocation, within a timeout (60 s, .chalice/config.json) well inside the
# claim's lease (120 s): a slow print never lets another worker buy the next label again.
@app.on_sqs_message(queue=LETTER_QUEUE, batch_size=1)
def submit_letters(event: SQSEvent) -> dict[str, Any]:
    return _consume("letters", event)


@app.on_sqs_message(queue=LETTER_DEAD_LETTERS, batch_size=10)
def letter_dead_letters(event: SQSEvent) -> dict[str, Any]:
    return _consume("letter_dead_letters", event)


@app.on_sqs_message(queue=MARKETING_QUEUE, batch_size=1)
def run_marketing(event: SQSEvent) -> dict[str, Any]:
    return _consume("marketing", event)


@app.on_sqs_message(queue=MARKETING_DEAD_LETTERS, batch_size=10)
def marketing_dead_letters(event: SQSEvent) -> dict[str, Any]:
    return _consume("marketing_dead_letters", event)


@app.on_sqs_message(queue=PRIVACY_QUEUE, batch_size=1)
def run_privacy_jobs(event: SQSEvent) -> dict[str, Any]:
    return _consume("privacy", event)


@app.on_sqs_message(queue=PRIVACY_DEAD_LETTERS, batch_size=10)
def privacy_dead_letters(event: SQSEvent) -> dict[str, Any]:
    return _consume("privacy_dead_letters", event)


@app.schedule(Rate(15, unit=Rate.MINUTES))
def poll_letter_tracking(event: Any) -> dict[str, Any]:
    from chalicelib.consumers import poll_tracking
    return poll_tracking()


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_scheduled(event: Any) -> dict[str, Any]:
    from chalicelib.consumers import sweep_scheduled as sweep
    return sweep()


@app.schedule(Rate(1, unit=Rate.HOURS))
def purge_expired(event: Any) -> dict[str, Any]:
    from chalicelib.consumers import run_purge
    return run_purge(getattr(event, "context", None))

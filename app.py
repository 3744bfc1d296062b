"""Letterbox: routes and event sources only. Each handler parses, calls one service, maps."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Rate, Response
from chalice.app import SQSEvent

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.models import EmailAccepted, EmailOut, ErrorBody, SendEmailRequest
from chalicelib.observability import logger, metrics
from chalicelib.web import Api, Call, json_error_middleware

app = Chalice(app_name="letterbox")
app.debug = False
api = Api(app, authenticate=lambda header: wiring.container().accounts.authenticate(header))
app.register_middleware(json_error_middleware, "http")

# The queue name is a placeholder: infra/ points the event source at the real queue's ARN.
SEND_QUEUE = "letterbox-send"


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
def openapi_document(call: Call) -> Any:
    from chalicelib.openapi import build_document
    return Response(body=build_document(api.operations, version="1"), status_code=200,
                    headers={"Content-Type": "application/json"})


@api.operation("POST", "/v1/emails", summary="Send an email", scope="sending",
               body=SendEmailRequest, responses={202: EmailAccepted},
               tags=("emails",))
def send_email(call: Call) -> EmailAccepted:
    return wiring.container().emails.queue_email(call.account, call.body, utcnow())


@api.operation("GET", "/v1/emails/{email_id}", summary="An email with its event timeline",
               responses={200: EmailOut, 404: ErrorBody}, tags=("emails",))
def get_email(call: Call, email_id: str) -> EmailOut:
    return wiring.container().emails.get_email(call.account, email_id)


@app.on_sqs_message(queue=SEND_QUEUE, batch_size=10, maximum_batching_window_in_seconds=1)
def send_worker(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.worker import process_send_batch
    return process_send_batch(event.to_dict(), event.context)


@app.schedule(Rate(1, unit=Rate.HOURS))
def purge_expired(event: Any) -> dict[str, Any]:
    from chalicelib.worker import run_purge
    return run_purge()

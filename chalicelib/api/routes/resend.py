"""/resend/…: Resend's REST API over the same services, so the official Resend SDKs work
with ``RESEND_API_URL=<api_url>/resend`` and a Letterbox key. Shapes only: every rule lives
in the services (see ``chalicelib/resend_mapping.py`` and docs/resend.md).

This module holds the surface's Api, its error shape and paging, and the email routes;
the other resources' routes join the Api from ``resend_setup``, ``resend_contacts``,
``resend_marketing`` and ``resend_content``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import resend_mapping as shapes
from chalicelib import wiring
from chalicelib.api.routes import edge
from chalicelib.api.web import JSON, Api, Call
from chalicelib.clock import utcnow
from chalicelib.errors import LetterboxError, MalformedRequest, ValidationFailed

ERR = "resend_models:ResendError"
TAGS = ("resend",)


def render_error(error: LetterboxError, headers: dict[str, str]) -> Response:
    """Resend's error body: ``{"statusCode", "name", "message"}``."""
    status, name = shapes.error_name(error.code, error.status, error.message)
    return Response(body={"statusCode": status, "name": name, "message": error.message},
                    status_code=status,
                    headers={"Content-Type": JSON, **error.headers, **headers})


api = Api(Blueprint(__name__), edge, render_error=render_error)


def ok(body: dict[str, Any], status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": JSON})


def listing(data: list[dict[str, Any]], has_more: bool = False,
            next_cursor: str | None = None) -> Response:
    body: dict[str, Any] = {"object": "list", "has_more": has_more, "data": data}
    if next_cursor:
        body["next_cursor"] = next_cursor  # pass it back as ?after=
    return ok(body)


def body_of(call: Call) -> Any:
    raw = call.request.raw_body
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedRequest(f"the request body is not valid JSON ({err})") from err


def object_body(call: Call) -> dict[str, Any]:
    data = body_of(call)
    if not isinstance(data, dict):
        raise ValidationFailed("the request body must be a JSON object")
    return data


def validate(ref: str, data: Any) -> Any:
    """The service's own model validates Resend's fields, with our 422 on failure."""
    from pydantic import ValidationError

    from chalicelib.api.web import resolve
    from chalicelib.validation import error_fields
    try:
        return resolve(ref).model_validate(data)
    except ValidationError as err:
        details = error_fields(err.errors())
        raise ValidationFailed(f"{details[0]['field']}: {details[0]['message']}",
                               details) from err


def dumped(model: Any) -> dict[str, Any]:
    result: dict[str, Any] = model.model_dump(mode="json", by_alias=True)
    return result


Fetch = Callable[[int, str | None], tuple[list[dict[str, Any]], str | None]]
# An ``after``/``before`` id is found by walking the listing: at most this many pages of 100.
MAX_WALK_PAGES = 50


# Paging: Resend pages by object id (``after``: the last id seen; ``before``: the first).

def paged(call: Call, fetch: Fetch) -> Response:
    """One page of a listing in Resend's envelope. ``after``/``before`` take an object id of
    this listing (``after`` also takes a ``next_cursor`` this surface returned)."""
    limit = call.query_int("limit", 20, 1, 100)
    after, before = call.query("after"), call.query("before")
    if after and before:
        raise ValidationFailed("after and before cannot be used together",
                               details=[{"field": "before", "message": "conflicts with after"}])
    if not after and not before:
        items, cursor = fetch(limit, None)
        return listing(items, cursor is not None, cursor)
    if after and after.startswith("eyJ"):  # one of our opaque cursors (base64 JSON)
        items, cursor = fetch(limit, after)
        return listing(items, cursor is not None, cursor)
    anchor = after or before
    window: list[dict[str, Any]] = []
    found, cursor = False, None
    for _ in range(MAX_WALK_PAGES):
        items, cursor = fetch(100, cursor)
        for item in items:
            if item.get("id") == anchor:
                found = True
                if before:
                    break
            elif after and found:
                window.append(item)
            elif before:
                window = [*window[-limit:], item]
        if cursor is None or (before and found) or (after and found and len(window) > limit):
            break
    else:
        raise ValidationFailed(f"{'after' if after else 'before'}: {anchor} is too far into "
                               "this list; page with next_cursor instead")
    if not found:
        raise ValidationFailed(f"{'after' if after else 'before'}: no {anchor} in this list",
                               details=[{"field": "after" if after else "before"}])
    if after:
        return listing(window[:limit], len(window) > limit or cursor is not None)
    return listing(window[-limit:], len(window) > limit)


def page_of(page: Any, shape: Callable[[dict[str, Any]], dict[str, Any]]
            ) -> tuple[list[dict[str, Any]], str | None]:
    return [shape(dumped(item)) for item in page.data], page.next_cursor



# Emails

@api.operation("POST", "/resend/emails", summary="Resend: send an email", scope="sending",
               responses={200: "resend_models:ResendId", 409: ERR, 422: ERR}, tags=TAGS,
               idempotent=True)
def send_email(call: Call) -> Response:
    request = validate("email_models:SendEmailRequest", shapes.send_fields(object_body(call)))
    accepted = wiring.container().emails.queue_email(call.account, request, utcnow())
    return ok({"id": accepted.id})


@api.operation("POST", "/resend/emails/batch",
               summary="Resend: send up to 100 emails (x-batch-validation: strict|permissive)",
               scope="sending", responses={200: "resend_models:ResendBatch", 409: ERR, 422: ERR},
               tags=TAGS, idempotent=True)
def send_batch(call: Call) -> Response:
    items = body_of(call)
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        raise ValidationFailed("the request body must be an array of 1 to 100 emails")
    mode = (call.request.headers.get("x-batch-validation") or "strict").lower()
    if mode not in ("strict", "permissive"):
        raise ValidationFailed("x-batch-validation must be strict or permissive")
    fields = [shapes.send_fields(item) for item in items]
    if mode == "strict":  # the whole batch fails on the first invalid email, nothing is sent
        for index, item in enumerate(fields):
            try:
                validate("email_models:SendEmailRequest", item)
            except ValidationFailed as err:
                raise ValidationFailed(f"emails[{index}]: {err.message}", err.details) from err
    result = wiring.container().emails.queue_batch(call.account, fields, utcnow())
    body: dict[str, Any] = {"data": [{"id": r.id} for r in result.data if r.id]}
    errors = [{"index": r.index, "message": (r.error or {}).get("message", "refused")}
              for r in result.data if not r.id]
    # Permissive always lists them; strict only when a service rule (an unverified domain, a
    # key's domain limit) refused an email that passed validation.
    if mode == "permissive" or errors:
        body["errors"] = errors
    return ok(body)


@api.operation("GET", "/resend/emails", summary="Resend: list sent emails (limit, after, before)",
               responses={200: "resend_models:ResendList", 422: ERR}, tags=TAGS)
def list_emails(call: Call) -> Response:
    logs, account = wiring.container().logs, call.account
    return paged(call, lambda n, c: page_of(
        logs.emails(account, n, c, {}),
        lambda e: shapes.email_object({**e, "cc": [], "bcc": [], "reply_to": []})))


@api.operation("GET", "/resend/emails/{email_id}", summary="Resend: retrieve an email",
               responses={200: "resend_models:ResendObject", 404: ERR}, tags=TAGS)
def get_email(call: Call, email_id: str) -> Response:
    email = wiring.container().emails.get_email(call.account, email_id)
    return ok(shapes.email_object(dumped(email)))


@api.operation("PATCH", "/resend/emails/{email_id}", summary="Resend: reschedule an email",
               responses={200: "resend_models:ResendObject", 404: ERR, 409: ERR, 422: ERR},
               tags=TAGS)
def update_email(call: Call, email_id: str) -> Response:
    data = object_body(call)
    request = validate("email_models:Reschedule", {"scheduled_at": data.get("scheduled_at")})
    wiring.container().emails.reschedule(call.account, email_id, request, utcnow())
    return ok({"object": "email", "id": email_id})


@api.operation("POST", "/resend/emails/{email_id}/cancel",
               summary="Resend: cancel a scheduled email",
               responses={200: "resend_models:ResendObject", 404: ERR, 409: ERR}, tags=TAGS)
def cancel_email(call: Call, email_id: str) -> Response:
    wiring.container().emails.cancel(call.account, email_id, utcnow())
    return ok({"object": "email", "id": email_id})


@api.operation("GET", "/resend/openapi.json",
               summary="The OpenAPI 3.1 document of the Resend-compatible surface",
               responses={200: None}, scope=None, tags=("meta",))
def resend_openapi_document(call: Call) -> Response:
    from chalicelib.api.openapi import build_document
    document = build_document(
        api.operations, version="1", title="Letterbox: Resend-compatible API",
        description="Resend's REST API over Letterbox (RESEND_API_URL=<api_url>/resend); "
                    "errors are {statusCode, name, message}. See docs/resend.md.")
    document["servers"] = [{"url": "/"}]
    return ok(document)


# Domains, API keys, webhooks, contacts, segments, topics, broadcasts, templates and
# suppressions join this Api.
from chalicelib.api.routes import (resend_contacts, resend_content,  # noqa: E402,F401
                                    resend_marketing, resend_setup)

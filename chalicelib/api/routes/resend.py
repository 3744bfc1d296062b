"""/resend/…: Resend's REST API over the same services, so the official Resend SDKs work
with ``RESEND_API_URL=<api_url>/resend`` and a Letterbox key. Shapes only: every rule lives
in the services (see ``chalicelib/resend_mapping.py`` and docs/resend.md)."""

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
from chalicelib.errors import LetterboxError, MalformedRequest, NotFound, ValidationFailed

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


# Domains

def _region() -> str:
    return wiring.container().settings.region


@api.operation("POST", "/resend/domains", summary="Resend: add a domain",
               responses={201: "resend_models:ResendObject", 409: ERR, 422: ERR}, tags=TAGS)
def create_domain(call: Call) -> Response:
    data = object_body(call)
    fields = {"name": data.get("name")}
    if data.get("custom_return_path"):
        fields["mail_from_subdomain"] = data["custom_return_path"]
    domains = wiring.container().domains
    created = domains.create_domain(call.account, validate("models:DomainCreate", fields),
                                    utcnow())
    tracking = {k: data[r] for k, r in (("track_opens", "open_tracking"),
                                        ("track_clicks", "click_tracking")) if r in data}
    if tracking:
        created = domains.update_domain(call.account, created.id,
                                        validate("models:DomainUpdate", tracking))
    body = shapes.domain_object(dumped(created), _region())
    body.pop("object")
    return ok(body, 201)


@api.operation("GET", "/resend/domains", summary="Resend: list domains (limit, after, before)",
               responses={200: "resend_models:ResendList", 422: ERR}, tags=TAGS)
def list_domains(call: Call) -> Response:
    domains, account = wiring.container().domains, call.account
    return paged(call, lambda n, c: page_of(domains.list_domains(account, n, c),
                                            lambda d: shapes.domain_object(d, _region())))


@api.operation("GET", "/resend/domains/{domain_id}", summary="Resend: retrieve a domain",
               responses={200: "resend_models:ResendObject", 404: ERR}, tags=TAGS)
def get_domain(call: Call, domain_id: str) -> Response:
    domain = wiring.container().domains.get_domain(call.account, domain_id)
    return ok(shapes.domain_object(dumped(domain), _region()))


@api.operation("PATCH", "/resend/domains/{domain_id}",
               summary="Resend: update a domain (open_tracking, click_tracking)",
               responses={200: "resend_models:ResendObject", 404: ERR, 422: ERR}, tags=TAGS)
def update_domain(call: Call, domain_id: str) -> Response:
    data = object_body(call)
    if data.get("tls") not in (None, "opportunistic"):
        raise ValidationFailed("tls: only 'opportunistic' is supported (SES's default)")
    tracking = {k: data[r] for k, r in (("track_opens", "open_tracking"),
                                        ("track_clicks", "click_tracking")) if r in data}
    wiring.container().domains.update_domain(call.account, domain_id,
                                             validate("models:DomainUpdate", tracking))
    return ok({"object": "domain", "id": domain_id})


@api.operation("POST", "/resend/domains/{domain_id}/verify",
               summary="Resend: check a domain's DNS records",
               responses={200: "resend_models:ResendObject", 404: ERR}, tags=TAGS)
def verify_domain(call: Call, domain_id: str) -> Response:
    wiring.container().domains.verify_domain(call.account, domain_id, utcnow())
    return ok({"object": "domain", "id": domain_id})


@api.operation("DELETE", "/resend/domains/{domain_id}", summary="Resend: remove a domain",
               responses={200: "resend_models:ResendObject", 404: ERR}, tags=TAGS)
def remove_domain(call: Call, domain_id: str) -> Response:
    wiring.container().domains.delete_domain(call.account, domain_id)
    return ok({"object": "domain", "id": domain_id, "deleted": True})


# API keys

_PERMISSIONS = {"full_access": "full", "sending_access": "sending"}


@api.operation("POST", "/resend/api-keys",
               summary="Resend: create an API key (permission, domain_id)",
               responses={201: "resend_models:ResendObject", 404: ERR, 422: ERR}, tags=TAGS)
def create_api_key(call: Call) -> Response:
    data = object_body(call)
    permission = data.get("permission", "full_access")
    if permission not in _PERMISSIONS:
        raise ValidationFailed("permission must be full_access or sending_access",
                               details=[{"field": "permission", "message": "unknown value"}])
    domains: list[str] = []
    if data.get("domain_id"):
        if permission != "sending_access":
            raise ValidationFailed("domain_id needs permission sending_access",
                                   details=[{"field": "domain_id", "message": "not allowed"}])
        domains = [wiring.container().domains.get_domain(call.account, data["domain_id"]).name]
    issued = wiring.container().accounts.create_key(
        call.account.account_id, _PERMISSIONS[permission], utcnow(),  # type: ignore[arg-type]
        domains, _key_name(data.get("name")))
    return ok({"id": issued.key_id, "token": issued.token}, 201)


def _key_name(name: Any) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 50:
        raise ValidationFailed("name must be 1 to 50 characters",
                               details=[{"field": "name", "message": "1 to 50 characters"}])
    return name.strip()


def _live_keys(account_id: str) -> list[dict[str, Any]]:
    return [k for k in wiring.container().accounts.list_keys(account_id)
            if not k.get("revoked_at")]


@api.operation("GET", "/resend/api-keys", summary="Resend: list API keys",
               responses={200: "resend_models:ResendList"}, tags=TAGS)
def list_api_keys(call: Call) -> Response:
    return listing([{"id": k["key_id"], "name": k.get("name") or k.get("hint"),
                     "created_at": k["created_at"],
                     "last_used_at": None} for k in _live_keys(call.account.account_id)])


@api.operation("PATCH", "/resend/api-keys/{api_key_id}", summary="Resend: rename an API key",
               responses={200: "resend_models:ResendObject", 404: ERR, 422: ERR}, tags=TAGS)
def update_api_key(call: Call, api_key_id: str) -> Response:
    name = _key_name(object_body(call).get("name"))
    if name is None:
        raise ValidationFailed("name is required", details=[{"field": "name"}])
    wiring.container().accounts.rename_key(call.account.account_id, api_key_id, name)
    return ok({"object": "api_key", "id": api_key_id})


@api.operation("DELETE", "/resend/api-keys/{api_key_id}", summary="Resend: remove an API key",
               responses={200: "resend_models:ResendObject", 404: ERR}, tags=TAGS)
def remove_api_key(call: Call, api_key_id: str) -> Response:
    if api_key_id not in {k["key_id"] for k in _live_keys(call.account.account_id)}:
        raise NotFound(f"no API key {api_key_id}")  # one already removed is gone (Resend)
    # The service itself refuses another account's key (404).
    wiring.container().accounts.revoke_key(call.account.account_id, api_key_id, utcnow())
    return ok({"object": "api_key", "id": api_key_id, "deleted": True})


# Webhooks (Resend's payloads, signed the Svix way)

def _hook_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "endpoint" in data:
        fields["url"] = data["endpoint"]
    if "events" in data:
        events = data["events"]
        fields["event_types"] = (shapes.events_to_ours(events) if isinstance(events, list)
                                 else events)
    if "status" in data:
        if data["status"] not in ("enabled", "disabled"):
            raise ValidationFailed("status must be enabled or disabled")
        fields["enabled"] = data["status"] == "enabled"
    return fields


@api.operation("POST", "/resend/webhooks", summary="Resend: add a webhook endpoint",
               responses={201: "resend_models:ResendObject", 422: ERR}, tags=TAGS,
               idempotent=True)
def create_webhook(call: Call) -> Response:
    fields = _hook_fields(object_body(call))
    fields.pop("enabled", None)
    created = wiring.container().webhooks.create(
        call.account, validate("models:WebhookCreate", fields), utcnow(), scheme="svix")
    return ok({"object": "webhook", "id": created.id, "signing_secret": created.secret}, 201)


@api.operation("GET", "/resend/webhooks", summary="Resend: list webhook endpoints",
               responses={200: "resend_models:ResendList"}, tags=TAGS)
def list_webhooks(call: Call) -> Response:
    hooks = wiring.container().webhooks.list_all(call.account)
    return listing([shapes.webhook_object(dumped(h)) for h in hooks.data])


@api.operation("GET", "/resend/webhooks/{webhook_id}", summary="Resend: retrieve a webhook",
               responses={200: "resend_models:ResendObject", 404: ERR}, tags=TAGS)
def get_webhook(call: Call, webhook_id: str) -> Response:
    hook = wiring.container().webhooks.get(call.account, webhook_id)
    return ok(shapes.webhook_object(dumped(hook)))


@api.operation("PATCH", "/resend/webhooks/{webhook_id}", summary="Resend: update a webhook",
               responses={200: "resend_models:ResendObject", 404: ERR, 422: ERR}, tags=TAGS)
def update_webhook(call: Call, webhook_id: str) -> Response:
    data = object_body(call)
    wiring.container().webhooks.update(call.account, webhook_id,
                                       validate("models:WebhookUpdate", _hook_fields(data)))
    return ok({"object": "webhook", "id": webhook_id})


@api.operation("DELETE", "/resend/webhooks/{webhook_id}", summary="Resend: remove a webhook",
               responses={200: "resend_models:ResendObject", 404: ERR}, tags=TAGS)
def remove_webhook(call: Call, webhook_id: str) -> Response:
    wiring.container().webhooks.delete(call.account, webhook_id)
    return ok({"object": "webhook", "id": webhook_id, "deleted": True})


@api.operation("POST", "/resend/webhooks/{webhook_id}/signing-secret/rotate",
               summary="Resend: rotate a webhook's signing secret (the old one signs 24 h)",
               responses={200: "resend_models:ResendObject", 404: ERR}, tags=TAGS)
def rotate_webhook_secret(call: Call, webhook_id: str) -> Response:
    rotated = wiring.container().webhooks.rotate_secret(call.account, webhook_id, utcnow())
    return ok({"object": "webhook", "id": webhook_id, "signing_secret": rotated.secret})


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


# Contacts, segments, topics, broadcasts, templates and suppressions join this Api.
from chalicelib.api.routes import (resend_contacts, resend_content,  # noqa: E402,F401
                                    resend_marketing)

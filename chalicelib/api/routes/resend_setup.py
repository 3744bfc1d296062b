"""/resend/…: Resend's domains, API keys and webhook endpoints over ours: what an account
sets up before it sends. Shapes only, as in ``resend.py`` (whose Api these join)."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib import resend_mapping as shapes
from chalicelib import wiring
from chalicelib.api.routes.resend import (ERR, TAGS, api, dumped, listing, object_body, ok,
                                          page_of, paged, validate)
from chalicelib.api.web import Call
from chalicelib.clock import utcnow
from chalicelib.errors import NotFound, ValidationFailed


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
        call.account, validate("webhook_models:WebhookCreate", fields), utcnow(), scheme="svix")
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
    wiring.container().webhooks.update(
        call.account, webhook_id, validate("webhook_models:WebhookUpdate", _hook_fields(data)))
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

"""/resend/…: Resend's templates and suppressions over ours, and an endpoint's delivery
attempts."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib import resend_mapping as shapes
from chalicelib import wiring
from chalicelib.api.routes.resend import (ERR, TAGS, api, dumped, object_body, ok,
                                          page_of, paged, validate)
from chalicelib.api.web import Call
from chalicelib.clock import utcnow
from chalicelib.errors import NotFound
from chalicelib.api.routes.resend_marketing import (LIST, OBJ, invalid, jinja_text, ref,
                                                    slice_page)


# Templates (Resend's ``{{{NAME|fallback}}}`` ↔ our Jinja2; used by Emails.send's template)

_TEMPLATE_FIELDS = ("name", "subject", "html", "text")
_NO_TEMPLATE_FIELD = {"alias": "Letterbox templates are found by id only",
                      "from": "Letterbox templates carry no sender: give from when sending",
                      "reply_to": "Letterbox templates carry no reply-to: give it when sending"}


def _template_fields(data: dict[str, Any]) -> dict[str, Any]:
    for field, why in _NO_TEMPLATE_FIELD.items():
        if data.get(field) is not None:
            raise invalid(field, why)
    unknown = sorted(set(data) - {*_TEMPLATE_FIELDS, *_NO_TEMPLATE_FIELD, "variables", "id"})
    if unknown:
        raise invalid(unknown[0], "unknown field")
    variables = data.get("variables") or []
    if not isinstance(variables, list) or not all(
            isinstance(v, dict) and isinstance(v.get("key"), str) for v in variables):
        raise invalid("variables", "must be a list of {key, type, fallback_value}")
    if variables and "html" not in data and "text" not in data:
        raise invalid("variables", "fallbacks apply to the html or text sent with them")
    fallbacks = {v["key"]: v.get("fallback_value") for v in variables}
    fields = {k: data[k] for k in _TEMPLATE_FIELDS if k in data}
    for part in ("subject", "html", "text"):
        if part in fields:
            fields[part] = jinja_text(fields[part], False, part, fallbacks)
    return fields


@api.operation("POST", "/resend/templates", summary="Resend: create a template",
               responses={201: OBJ, 409: ERR, 422: ERR}, tags=TAGS, idempotent=True)
def create_template(call: Call) -> Response:
    fields = _template_fields(object_body(call))
    created = wiring.container().templates.create(
        call.account.account_id, validate("models:TemplateCreate", fields), utcnow())
    return ok({"object": "template", "id": created.id}, 201)


@api.operation("GET", "/resend/templates", summary="Resend: list templates (limit, after, "
               "before)", responses={200: LIST, 422: ERR}, tags=TAGS)
def list_templates(call: Call) -> Response:
    templates, account_id = wiring.container().templates, call.account.account_id
    return paged(call, lambda n, c: page_of(templates.list(account_id, n, c),
                                            shapes.template_list_item))


@api.operation("GET", "/resend/templates/{template_id}", summary="Resend: retrieve a template",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def get_template(call: Call, template_id: str) -> Response:
    found = wiring.container().templates.get(call.account.account_id, template_id)
    return ok(shapes.template_object(dumped(found)))


@api.operation("PATCH", "/resend/templates/{template_id}", summary="Resend: update a template",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def update_template(call: Call, template_id: str) -> Response:
    fields = _template_fields(object_body(call))
    wiring.container().templates.update(call.account.account_id, template_id,
                                        validate("models:TemplateUpdate", fields), utcnow())
    return ok({"object": "template", "id": template_id})


@api.operation("POST", "/resend/templates/{template_id}/publish",
               summary="Resend: publish a template (Letterbox templates are live once saved)",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def publish_template(call: Call, template_id: str) -> Response:
    wiring.container().templates.get(call.account.account_id, template_id)
    return ok({"object": "template", "id": template_id})


@api.operation("POST", "/resend/templates/{template_id}/duplicate",
               summary="Resend: copy a template (named '<name> (copy)')",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def duplicate_template(call: Call, template_id: str) -> Response:
    templates, account_id = wiring.container().templates, call.account.account_id
    original = dumped(templates.get(account_id, template_id))
    fields = {k: original[k] for k in ("subject", "html", "text") if original.get(k) is not None}
    fields["name"] = f"{original['name']} (copy)"[:200]
    copy = templates.create(account_id, validate("models:TemplateCreate", fields), utcnow())
    return ok({"object": "template", "id": copy.id})


@api.operation("DELETE", "/resend/templates/{template_id}", summary="Resend: remove a template",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def remove_template(call: Call, template_id: str) -> Response:
    wiring.container().templates.delete(call.account.account_id, template_id)
    return ok({"object": "template", "id": template_id, "deleted": True})


# Suppressions (an entry's id is its keyed address hash)

def _suppress(account_id: str, address: Any) -> dict[str, Any]:
    request = validate("models:SuppressionCreate", {"email": address})
    added = wiring.container().suppressions.add(account_id, request.email, "manual", "all",
                                                utcnow())
    return {"object": "suppression", "id": added.address_hash}


@api.operation("POST", "/resend/suppressions", summary="Resend: suppress an address",
               responses={201: OBJ, 422: ERR}, tags=TAGS)
def add_suppression(call: Call) -> Response:
    return ok(_suppress(call.account.account_id, object_body(call).get("email")), 201)


@api.operation("GET", "/resend/suppressions", summary="Resend: list suppressions (origin, "
               "limit, after, before)", responses={200: LIST, 422: ERR}, tags=TAGS)
def list_suppressions(call: Call) -> Response:
    origin = call.query("origin")
    if origin not in (None, "bounce", "complaint", "manual"):
        raise invalid("origin", "one of bounce, complaint, manual")
    suppressions, account_id = wiring.container().suppressions, call.account.account_id

    def fetch(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        items, next_cursor = page_of(suppressions.list(account_id, limit, cursor),
                                     shapes.suppression_object)
        return [i for i in items if origin is None or i["origin"] == origin], next_cursor
    return paged(call, fetch)


@api.operation("GET", "/resend/suppressions/{entry}",
               summary="Resend: retrieve a suppression by id or address",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def get_suppression(call: Call, entry: str) -> Response:
    found = wiring.container().suppressions.entry(call.account.account_id, ref(entry))
    return ok(shapes.suppression_object(dumped(found)))


def _unsuppress(account_id: str, entry: str) -> dict[str, Any]:
    suppressions = wiring.container().suppressions
    found = suppressions.entry(account_id, entry)
    address = found.email or (entry if "@" in entry else None)
    if address is None:  # only the hash is stored (erased, or unsubscribed by hash)
        raise invalid("id", "this entry keeps no address: lift it by the address it "
                             "suppresses")
    suppressions.remove(account_id, address)
    return {"object": "suppression", "id": found.address_hash, "deleted": True}


@api.operation("DELETE", "/resend/suppressions/{entry}",
               summary="Resend: lift a suppression, by id or address",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def remove_suppression(call: Call, entry: str) -> Response:
    return ok(_unsuppress(call.account.account_id, ref(entry)))


def _batch(data: dict[str, Any], field: str) -> list[str]:
    items = data.get(field)
    if not isinstance(items, list) or not 1 <= len(items) <= 100 or not all(
            isinstance(i, str) for i in items):
        raise invalid(field, "a list of 1 to 100 strings")
    return items


@api.operation("POST", "/resend/suppressions/batch/add",
               summary="Resend: suppress up to 100 addresses",
               responses={200: OBJ, 422: ERR}, tags=TAGS)
def add_suppressions(call: Call) -> Response:
    emails = _batch(object_body(call), "emails")
    for address in emails:  # all valid, or none added
        validate("models:SuppressionCreate", {"email": address})
    return ok({"data": [_suppress(call.account.account_id, a) for a in emails]})


@api.operation("POST", "/resend/suppressions/batch/remove",
               summary="Resend: lift up to 100 suppressions (emails or ids)",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def remove_suppressions(call: Call) -> Response:
    data = object_body(call)
    if ("emails" in data) == ("ids" in data):
        raise invalid("emails", "give emails or ids, not both")
    entries = _batch(data, "emails" if "emails" in data else "ids")
    suppressions, account_id = wiring.container().suppressions, call.account.account_id
    for entry in entries:  # all found, or none lifted
        suppressions.entry(account_id, entry)
    return ok({"data": [_unsuppress(account_id, e) for e in entries]})


# Webhook delivery attempts (the log keeps an endpoint's last 100 attempts, 30 days)

@api.operation("GET", "/resend/webhooks/{webhook_id}/events/{event_id}/attempts",
               summary="Resend: an event's delivery attempts to an endpoint",
               responses={200: LIST, 404: ERR, 422: ERR}, tags=TAGS)
def list_webhook_event_attempts(call: Call, webhook_id: str, event_id: str) -> Response:
    attempts = wiring.container().webhooks.attempts(call.account, webhook_id).data
    items = [{"id": a.id, "http_status_code": a.status_code or 0, "response": a.error or "",
              "sent_at": a.timestamp} for a in attempts if a.event_id == event_id]
    if not items:
        raise NotFound(f"no delivery attempts of {event_id} to this endpoint")
    return paged(call, lambda n, c: slice_page(items, n, c))

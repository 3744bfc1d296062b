"""/resend/…: Resend's segments (and the older audiences), topics and broadcasts over the
marketing services, and the helpers the other Resend marketing routes share
(``resend_contacts``, ``resend_content``). Shapes only, as in ``resend.py`` (whose Api these
routes join): every rule lives in the services."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice.app import Response

from chalicelib import resend_mapping as shapes
from chalicelib import wiring
from chalicelib.api.routes.resend import (ERR, TAGS, api, dumped, object_body, ok,
                                          page_of, paged, validate)
from chalicelib.api.web import Call
from chalicelib.clock import utcnow
from chalicelib.errors import ValidationFailed


OBJ = "resend_models:ResendObject"
LIST = "resend_models:ResendList"
def ref(value: str) -> str:
    return unquote(value)


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


def jinja_text(text: Any, broadcast: bool, field: str,
           fallbacks: dict[str, Any] | None = None) -> Any:
    if not isinstance(text, str):
        return text  # the service's model reports the type
    try:
        return shapes.to_jinja(text, broadcast, fallbacks)
    except ValueError as err:
        raise invalid(field, str(err)) from err


def slice_page(items: list[dict[str, Any]], limit: int, cursor: str | None
               ) -> tuple[list[dict[str, Any]], str | None]:
    """Pages of a list that is read whole (a contact's topics or segments)."""
    start = int(cursor[3:]) if cursor and cursor[3:].isascii() and cursor[3:].isdigit() else 0
    end = start + limit
    return items[start:end], None if end >= len(items) else f"eyJ{end}"


# Segments (Audiences.* call the same paths)

@api.operation("POST", "/resend/segments", summary="Resend: create a segment (or audience)",
               responses={201: OBJ, 422: ERR}, tags=TAGS, idempotent=True)
def create_segment(call: Call) -> Response:
    data = object_body(call)
    created = wiring.container().audiences.create_segment(
        call.account.account_id, validate("marketing_models:SegmentCreate",
                                          {"name": data.get("name")}), utcnow())
    return ok({"object": "segment", "id": created.id, "name": created.name}, 201)


@api.operation("GET", "/resend/segments", summary="Resend: list segments (limit, after, before)",
               responses={200: LIST, 422: ERR}, tags=TAGS)
def list_segments(call: Call) -> Response:
    audiences, account_id = wiring.container().audiences, call.account.account_id
    return paged(call, lambda n, c: page_of(audiences.segments(account_id, n, c),
                                            shapes.segment_object))


@api.operation("GET", "/resend/segments/{segment_id}", summary="Resend: retrieve a segment",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def get_segment(call: Call, segment_id: str) -> Response:
    found = wiring.container().audiences.segment(call.account.account_id, segment_id)
    return ok(shapes.segment_object(dumped(found)))


@api.operation("PATCH", "/resend/segments/{segment_id}", summary="Resend: rename a segment",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def update_segment(call: Call, segment_id: str) -> Response:
    request = validate("marketing_models:SegmentCreate", {"name": object_body(call).get("name")})
    wiring.container().audiences.rename_segment(call.account.account_id, segment_id,
                                                request.name)
    return ok({"object": "segment", "id": segment_id})


@api.operation("DELETE", "/resend/segments/{segment_id}",
               summary="Resend: remove a segment (its contacts stay)",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def remove_segment(call: Call, segment_id: str) -> Response:
    wiring.container().audiences.delete_segment(call.account.account_id, segment_id, utcnow())
    return ok({"object": "segment", "id": segment_id, "deleted": True})


# Topics

@api.operation("POST", "/resend/topics", summary="Resend: create a topic",
               responses={201: OBJ, 422: ERR}, tags=TAGS, idempotent=True)
def create_topic(call: Call) -> Response:
    data = object_body(call)
    fields: dict[str, Any] = {k: data[k] for k in ("name", "description") if k in data}
    if "default_subscription" in data:
        fields["default"] = data["default_subscription"]
    created = wiring.container().audiences.create_topic(
        call.account.account_id, validate("marketing_models:TopicCreate", fields), utcnow())
    return ok({"object": "topic", "id": created.id}, 201)


@api.operation("GET", "/resend/topics", summary="Resend: list topics (limit, after, before)",
               responses={200: LIST, 422: ERR}, tags=TAGS)
def list_topics(call: Call) -> Response:
    audiences, account_id = wiring.container().audiences, call.account.account_id
    return paged(call, lambda n, c: page_of(audiences.topics(account_id, n, c),
                                            shapes.topic_object))


@api.operation("GET", "/resend/topics/{topic_id}", summary="Resend: retrieve a topic",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def get_topic(call: Call, topic_id: str) -> Response:
    found = wiring.container().audiences.topic(call.account.account_id, topic_id)
    return ok(shapes.topic_object(dumped(found)))


@api.operation("PATCH", "/resend/topics/{topic_id}", summary="Resend: update a topic",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def update_topic(call: Call, topic_id: str) -> Response:
    data = object_body(call)
    fields = {k: data[k] for k in ("name", "description") if k in data}
    wiring.container().audiences.update_topic(
        call.account.account_id, topic_id, validate("marketing_models:TopicUpdate", fields))
    return ok({"object": "topic", "id": topic_id})


@api.operation("DELETE", "/resend/topics/{topic_id}", summary="Resend: remove a topic",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def remove_topic(call: Call, topic_id: str) -> Response:
    wiring.container().audiences.delete_topic(call.account.account_id, topic_id)
    return ok({"object": "topic", "id": topic_id, "deleted": True})


# Broadcasts

_BROADCAST_FIELDS = ("from", "subject", "reply_to", "html", "text", "name", "preview_text",
                     "topic_id", "segment_id")


def _broadcast_fields(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    unknown = sorted(set(data) - {*_BROADCAST_FIELDS, "audience_id", "send", "scheduled_at",
                                  "broadcast_id", "id"})
    if unknown:
        raise invalid(unknown[0], "unknown field")
    fields = {k: data[k] for k in _BROADCAST_FIELDS if k in data}
    if "audience_id" in data and "segment_id" not in data:
        fields["segment_id"] = data["audience_id"]
    reply_to = fields.get("reply_to")
    if isinstance(reply_to, list):
        if len(reply_to) > 1:
            raise invalid("reply_to", "Letterbox broadcasts take one reply-to address")
        fields["reply_to"] = reply_to[0] if reply_to else None
    for part in ("subject", "html", "text"):
        if part in fields:
            fields[part] = jinja_text(fields[part], True, part)
    if not partial and "segment_id" not in fields:
        raise invalid("segment_id", "required (or audience_id)")
    return fields


def _send(call: Call, broadcast_id: str, scheduled_at: Any) -> None:
    request = validate("marketing_models:BroadcastSend",
                       {} if scheduled_at is None else {"scheduled_at": scheduled_at})
    wiring.container().broadcasts.send(call.account, broadcast_id, request, utcnow())


@api.operation("POST", "/resend/broadcasts",
               summary="Resend: create a broadcast (send: true sends it, scheduled_at schedules)",
               responses={201: OBJ, 404: ERR, 409: ERR, 422: ERR}, tags=TAGS, idempotent=True)
def create_broadcast(call: Call) -> Response:
    data = object_body(call)
    request = validate("marketing_models:BroadcastCreate", _broadcast_fields(data, False))
    if data.get("scheduled_at") is not None and not data.get("send"):
        raise invalid("scheduled_at", "only with send: true (or use broadcasts.send)")
    if data.get("send"):  # checked before anything is stored
        validate("marketing_models:BroadcastSend", {"scheduled_at": data.get("scheduled_at")})
    created = wiring.container().broadcasts.create(call.account.account_id, request, utcnow())
    if data.get("send"):
        _send(call, created.id, data.get("scheduled_at"))
    return ok({"object": "broadcast", "id": created.id}, 201)


@api.operation("GET", "/resend/broadcasts", summary="Resend: list broadcasts (limit, after, "
               "before)", responses={200: LIST, 422: ERR}, tags=TAGS)
def list_broadcasts(call: Call) -> Response:
    broadcasts, account_id = wiring.container().broadcasts, call.account.account_id
    return paged(call, lambda n, c: page_of(broadcasts.list(account_id, n, c),
                                            shapes.broadcast_object))


@api.operation("GET", "/resend/broadcasts/{broadcast_id}", summary="Resend: retrieve a "
               "broadcast", responses={200: OBJ, 404: ERR}, tags=TAGS)
def get_broadcast(call: Call, broadcast_id: str) -> Response:
    found = wiring.container().broadcasts.get(call.account.account_id, broadcast_id)
    return ok(shapes.broadcast_object(dumped(found)))


@api.operation("PATCH", "/resend/broadcasts/{broadcast_id}", summary="Resend: update a draft "
               "broadcast", responses={200: OBJ, 404: ERR, 409: ERR, 422: ERR}, tags=TAGS)
def update_broadcast(call: Call, broadcast_id: str) -> Response:
    fields = _broadcast_fields(object_body(call), True)
    wiring.container().broadcasts.update(
        call.account.account_id, broadcast_id,
        validate("marketing_models:BroadcastUpdate", fields), utcnow())
    return ok({"object": "broadcast", "id": broadcast_id})


@api.operation("POST", "/resend/broadcasts/{broadcast_id}/send",
               summary="Resend: send a broadcast now, or at scheduled_at",
               responses={200: OBJ, 404: ERR, 409: ERR, 422: ERR}, tags=TAGS, idempotent=True)
def send_broadcast(call: Call, broadcast_id: str) -> Response:
    _send(call, broadcast_id, object_body(call).get("scheduled_at"))
    return ok({"object": "broadcast", "id": broadcast_id})


@api.operation("POST", "/resend/broadcasts/{broadcast_id}/cancel",
               summary="Resend: cancel a scheduled or sending broadcast",
               responses={200: OBJ, 404: ERR, 409: ERR}, tags=TAGS)
def cancel_broadcast(call: Call, broadcast_id: str) -> Response:
    wiring.container().broadcasts.cancel(call.account.account_id, broadcast_id, utcnow())
    return ok({"object": "broadcast", "id": broadcast_id})


@api.operation("DELETE", "/resend/broadcasts/{broadcast_id}",
               summary="Resend: remove a draft or scheduled broadcast",
               responses={200: OBJ, 404: ERR, 409: ERR}, tags=TAGS)
def remove_broadcast(call: Call, broadcast_id: str) -> Response:
    wiring.container().broadcasts.delete(call.account.account_id, broadcast_id, utcnow())
    return ok({"object": "broadcast", "id": broadcast_id, "deleted": True})


@api.operation("POST", "/resend/broadcasts/{broadcast_id}/duplicate",
               summary="Resend: a new draft with a broadcast's content and audience",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def duplicate_broadcast(call: Call, broadcast_id: str) -> Response:
    broadcasts, account_id = wiring.container().broadcasts, call.account.account_id
    original = dumped(broadcasts.get(account_id, broadcast_id))
    fields = {k: original[k] for k in ("name", "from", "reply_to", "subject", "preview_text",
                                       "html", "text", "template_id", "segment_id", "topic_id",
                                       "rate_per_minute") if original.get(k) is not None}
    copy = broadcasts.create(account_id, validate("marketing_models:BroadcastCreate", fields),
                             utcnow())
    return ok({"object": "broadcast", "id": copy.id})


@api.operation("GET", "/resend/broadcasts/{broadcast_id}/recipients",
               summary="Resend: a broadcast's recipients of one event type",
               responses={200: LIST, 404: ERR, 422: ERR}, tags=TAGS)
def broadcast_recipients(call: Call, broadcast_id: str) -> Response:
    from chalicelib.api.routes.broadcasts import RECIPIENT_STATUSES
    kind = call.query("type")
    if kind not in RECIPIENT_STATUSES:
        raise invalid("type", "one of " + ", ".join(RECIPIENT_STATUSES))
    email = (call.query("email") or "").lower()
    broadcasts, account_id = wiring.container().broadcasts, call.account.account_id

    def fetch(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        page = broadcasts.recipients(account_id, broadcast_id, limit, cursor, kind)
        return ([shapes.recipient_object(dumped(r)) for r in page.data
                 if not email or (r.email or "").lower() == email], page.next_cursor)
    return paged(call, fetch)


@api.operation("GET", "/resend/broadcasts/{broadcast_id}/clicked-links",
               summary="Resend: a broadcast's links with the recipients who clicked each",
               responses={200: LIST, 404: ERR, 422: ERR}, tags=TAGS)
def broadcast_clicked_links(call: Call, broadcast_id: str) -> Response:
    found = wiring.container().broadcasts.get(call.account.account_id, broadcast_id)
    items = [shapes.clicked_link(url, count) for url, count in sorted(found.clicks.items())]
    return paged(call, lambda n, c: slice_page(items, n, c))

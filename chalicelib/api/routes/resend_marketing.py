"""/resend/…: Resend's contacts, segments (and the older audiences), topics, broadcasts,
templates and suppressions over the marketing, template and suppression services. Shapes
only, as in ``resend.py`` (whose Api these routes join): every rule lives in the services."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice.app import Response

from chalicelib import resend_mapping as shapes
from chalicelib import wiring
from chalicelib.api.routes.resend import (ERR, TAGS, api, body_of, dumped, object_body, ok,
                                          page_of, paged, validate)
from chalicelib.api.web import Call
from chalicelib.clock import utcnow
from chalicelib.errors import NotFound, ValidationFailed

OBJ = "resend_models:ResendObject"
LIST = "resend_models:ResendList"
def _ref(value: str) -> str:
    return unquote(value)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


def _jinja(text: Any, broadcast: bool, field: str,
           fallbacks: dict[str, Any] | None = None) -> Any:
    if not isinstance(text, str):
        return text  # the service's model reports the type
    try:
        return shapes.to_jinja(text, broadcast, fallbacks)
    except ValueError as err:
        raise _invalid(field, str(err)) from err


# Contacts

_CONTACT_FIELDS = ("email", "first_name", "last_name", "unsubscribed", "properties")


def _contact_create(data: dict[str, Any], audience_id: str | None) -> dict[str, Any]:
    unknown = sorted(set(data) - {*_CONTACT_FIELDS, "segments", "topics", "audience_id"})
    if unknown:
        raise _invalid(unknown[0], "unknown field")
    fields = {k: data[k] for k in _CONTACT_FIELDS if k in data}
    segments = data.get("segments") or []
    if not isinstance(segments, list) or not all(isinstance(s, dict) for s in segments):
        raise _invalid("segments", "must be a list of {id}")
    fields["segment_ids"] = [s.get("id") for s in segments]
    if audience_id:
        fields["segment_ids"].append(audience_id)
    return fields


def _topic_choices(topics: Any) -> dict[str, Any]:
    if not isinstance(topics, list) or not all(isinstance(t, dict) for t in topics):
        raise _invalid("topics", "must be a list of {id, subscription}")
    return {str(t.get("id")): t.get("subscription") for t in topics}


def _create_contact(call: Call, audience_id: str | None) -> Response:
    data = object_body(call)
    audience_id = audience_id or data.get("audience_id")
    container = wiring.container()
    request = validate("marketing_models:ContactCreate", _contact_create(data, audience_id))
    choices = None
    if data.get("topics"):
        choices = validate("marketing_models:SubscriptionChange",
                           {"topics": _topic_choices(data["topics"])})
    created = container.contacts.create(call.account, request, utcnow())
    if choices is not None:
        container.contacts.change_subscriptions(call.account.account_id, created.id, choices,
                                                utcnow())
    return ok({"object": "contact", "id": created.id}, 201)


def _contact(call: Call, contact: str, audience_id: str | None) -> dict[str, Any]:
    """The contact, by id or address; under an audience, only one of its members."""
    found = dumped(wiring.container().contacts.get(call.account.account_id, _ref(contact)))
    if audience_id and audience_id not in found["segment_ids"]:
        raise NotFound("that contact is not in this audience")
    return found


def _update_contact(call: Call, contact: str, audience_id: str | None) -> Response:
    data = object_body(call)
    found = _contact(call, contact, audience_id)
    fields = {k: data[k] for k in ("first_name", "last_name", "unsubscribed", "properties")
              if k in data}
    wiring.container().contacts.update(call.account.account_id, found["id"],
                                       validate("marketing_models:ContactUpdate", fields),
                                       utcnow())
    return ok({"object": "contact", "id": found["id"]})


def _remove_contact(call: Call, contact: str, audience_id: str | None) -> Response:
    found = _contact(call, contact, audience_id)
    container = wiring.container()
    if audience_id:  # out of the audience; the contact stays in its other segments
        container.audiences.remove_member(call.account.account_id, audience_id, found["id"],
                                          utcnow())
    else:
        container.contacts.delete(call.account.account_id, found["id"], utcnow())
    return ok({"object": "contact", "id": found["id"], "contact": found["id"], "deleted": True})


def _list_contacts(call: Call, segment_id: str | None) -> Response:
    container = wiring.container()
    account_id = call.account.account_id
    if segment_id:
        return paged(call, lambda n, c: page_of(
            container.audiences.members(account_id, segment_id, n, c), shapes.contact_object))
    return paged(call, lambda n, c: page_of(container.contacts.list(account_id, n, c),
                                            shapes.contact_object))


@api.operation("POST", "/resend/contacts", summary="Resend: create a contact",
               responses={201: OBJ, 404: ERR, 409: ERR, 422: ERR}, tags=TAGS, idempotent=True)
def create_contact(call: Call) -> Response:
    return _create_contact(call, None)


@api.operation("GET", "/resend/contacts", summary="Resend: list contacts (limit, after, before)",
               responses={200: LIST, 422: ERR}, tags=TAGS)
def list_contacts(call: Call) -> Response:
    return _list_contacts(call, None)


@api.operation("GET", "/resend/contacts/{contact}",
               summary="Resend: retrieve a contact by id or address",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def get_contact(call: Call, contact: str) -> Response:
    return ok(shapes.contact_object(_contact(call, contact, None)))


@api.operation("PATCH", "/resend/contacts/{contact}", summary="Resend: update a contact",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def update_contact(call: Call, contact: str) -> Response:
    return _update_contact(call, contact, None)


@api.operation("DELETE", "/resend/contacts/{contact}", summary="Resend: remove a contact",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def remove_contact(call: Call, contact: str) -> Response:
    return _remove_contact(call, contact, None)


@api.operation("POST", "/resend/audiences/{audience_id}/contacts",
               summary="Resend: create a contact in an audience (a segment)",
               responses={201: OBJ, 404: ERR, 409: ERR, 422: ERR}, tags=TAGS, idempotent=True)
def create_audience_contact(call: Call, audience_id: str) -> Response:
    return _create_contact(call, audience_id)


@api.operation("GET", "/resend/audiences/{audience_id}/contacts",
               summary="Resend: list an audience's contacts",
               responses={200: LIST, 404: ERR, 422: ERR}, tags=TAGS)
def list_audience_contacts(call: Call, audience_id: str) -> Response:
    return _list_contacts(call, audience_id)


@api.operation("GET", "/resend/audiences/{audience_id}/contacts/{contact}",
               summary="Resend: retrieve a contact of an audience",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def get_audience_contact(call: Call, audience_id: str, contact: str) -> Response:
    return ok(shapes.contact_object(_contact(call, contact, audience_id)))


@api.operation("PATCH", "/resend/audiences/{audience_id}/contacts/{contact}",
               summary="Resend: update a contact of an audience",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def update_audience_contact(call: Call, audience_id: str, contact: str) -> Response:
    return _update_contact(call, contact, audience_id)


@api.operation("DELETE", "/resend/audiences/{audience_id}/contacts/{contact}",
               summary="Resend: remove a contact from an audience (it stays a contact)",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def remove_audience_contact(call: Call, audience_id: str, contact: str) -> Response:
    return _remove_contact(call, contact, audience_id)


@api.operation("GET", "/resend/segments/{segment_id}/contacts",
               summary="Resend: list a segment's contacts",
               responses={200: LIST, 404: ERR, 422: ERR}, tags=TAGS)
def list_segment_contacts(call: Call, segment_id: str) -> Response:
    return _list_contacts(call, segment_id)


# Contact imports (Resend's multipart upload → our CSV import)

_IMPORT_STATUS = {"queued": "queued", "processing": "in_progress", "completed": "completed",
                  "failed": "failed"}
_MAPPED_COLUMNS = ("email", "first_name", "last_name", "unsubscribed")


def _form(call: Call) -> dict[str, Any]:
    """A multipart/form-data body: name → text (the file: its content, as UTF-8 text)."""
    from email import policy
    from email.parser import BytesParser
    content_type = call.request.headers.get("content-type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise _invalid("file", "send the CSV as multipart/form-data (the SDK does)")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    raw: Any = call.request.raw_body or b""
    body = raw if isinstance(raw, bytes) else str(raw).encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        try:
            fields[str(name)] = payload.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise _invalid(str(name), "must be UTF-8 text") from err
    return fields


def _json_field(form: dict[str, Any], name: str) -> Any:
    import json
    if name not in form:
        return None
    try:
        return json.loads(form[name])
    except json.JSONDecodeError as err:
        raise _invalid(name, "must be JSON") from err


def _mapped_csv(text: str, column_map: Any) -> str:
    """The CSV with Resend's ``column_map`` applied to its header (the rows stay as sent)."""
    import csv
    import io
    if not column_map:
        return text
    if not isinstance(column_map, dict) or set(column_map) - {*_MAPPED_COLUMNS}:
        raise _invalid("column_map", "maps email, first_name, last_name and unsubscribed to "
                                     "CSV columns (name property columns after the property)")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise _invalid("file", f"not readable as CSV ({err})") from err
    if not rows:
        return text
    renames = {str(column).strip().lower(): field for field, column in column_map.items()}
    rows[0] = [renames.get(h.strip().lower(), h) for h in rows[0]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def import_object(found: dict[str, Any]) -> dict[str, Any]:
    # Rows left as they were are Resend's "skipped"; rows that could not be imported "failed".
    failed = sum(1 for e in found["errors"]
                 if e.get("reason") not in ("unchanged", "already a contact"))
    counts = {"created": found["created"], "updated": found["updated"],
              "skipped": found["skipped"] - failed, "failed": failed}
    return {"object": "contact_import", "id": found["id"],
            "status": _IMPORT_STATUS.get(found["status"], found["status"]),
            "created_at": found["created_at"], "completed_at": found.get("completed_at"),
            "counts": {"total": sum(counts.values()), **counts}}


@api.operation("POST", "/resend/contacts/imports",
               summary="Resend: import contacts from a CSV file (multipart; processed later)",
               responses={201: OBJ, 404: ERR, 422: ERR}, tags=TAGS,
               content_types=["multipart/form-data"])
def create_contact_import(call: Call) -> Response:
    form = _form(call)
    if not form.get("file"):
        raise _invalid("file", "required: the CSV file")
    segments = _json_field(form, "segments") or []
    if not isinstance(segments, list) or len(segments) > 1 or not all(
            isinstance(s, dict) for s in segments):
        raise _invalid("segments", "at most one segment, as [{id}]")
    if _json_field(form, "topics"):
        raise _invalid("topics", "not supported on imports: set subscriptions per contact")
    request = validate("marketing_models:ImportCreate", {
        "csv": _mapped_csv(form["file"], _json_field(form, "column_map")),
        "segment_id": segments[0].get("id") if segments else None,
        "on_conflict": form.get("on_conflict", "skip")})  # Resend's default
    started = wiring.container().audiences.start_import(call.account, request, utcnow())
    return ok({"object": "contact_import", "id": started.id}, 201)


@api.operation("GET", "/resend/contacts/imports", summary="Resend: list contact imports",
               responses={200: LIST, 422: ERR}, tags=TAGS)
def list_contact_imports(call: Call) -> Response:
    status = call.query("status")
    if status not in (None, *_IMPORT_STATUS.values()):
        raise _invalid("status", "one of " + ", ".join(_IMPORT_STATUS.values()))
    audiences, account_id = wiring.container().audiences, call.account.account_id

    def fetch(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        items, next_cursor = audiences.imports(account_id, limit, cursor)
        shaped = [import_object(dumped(i)) for i in items]
        return [i for i in shaped if status is None or i["status"] == status], next_cursor
    return paged(call, fetch)


@api.operation("GET", "/resend/contacts/imports/{import_id}",
               summary="Resend: a contact import and its counts",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def get_contact_import(call: Call, import_id: str) -> Response:
    found = wiring.container().audiences.get_import(call.account.account_id, import_id)
    return ok(import_object(dumped(found)))


# A contact's topics and segments

def _all_topics(account_id: str) -> list[dict[str, Any]]:
    audiences = wiring.container().audiences
    topics: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = audiences.topics(account_id, 100, cursor)
        topics += [dumped(t) for t in page.data]
        cursor = page.next_cursor
        if cursor is None:
            return topics


@api.operation("GET", "/resend/contacts/{contact}/topics",
               summary="Resend: a contact's topic subscriptions",
               responses={200: LIST, 404: ERR, 422: ERR}, tags=TAGS)
def list_contact_topics(call: Call, contact: str) -> Response:
    account_id = call.account.account_id
    subscriptions = wiring.container().contacts.subscriptions(account_id, _ref(contact))
    described = {t["id"]: t.get("description") for t in _all_topics(account_id)}
    items = [{"id": s.topic_id, "name": s.name, "description": described.get(s.topic_id),
              "subscription": "opt_in" if s.subscribed else "opt_out"}
             for s in subscriptions.data]
    return paged(call, lambda n, c: _slice(items, n, c))


def _slice(items: list[dict[str, Any]], limit: int, cursor: str | None
           ) -> tuple[list[dict[str, Any]], str | None]:
    """Pages of a list that is read whole (a contact's topics or segments)."""
    start = int(cursor[3:]) if cursor and cursor[3:].isdigit() else 0
    end = start + limit
    return items[start:end], None if end >= len(items) else f"eyJ{end}"


@api.operation("PATCH", "/resend/contacts/{contact}/topics",
               summary="Resend: change a contact's topic subscriptions",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def update_contact_topics(call: Call, contact: str) -> Response:
    data = body_of(call)
    topics = data.get("topics") if isinstance(data, dict) else data  # the SDK sends the list
    account_id = call.account.account_id
    request = validate("marketing_models:SubscriptionChange", {"topics": _topic_choices(topics)})
    contacts = wiring.container().contacts
    found = contacts.get(account_id, _ref(contact))
    contacts.change_subscriptions(account_id, found.id, request, utcnow())
    return ok({"object": "contact", "id": found.id})


@api.operation("GET", "/resend/contacts/{contact}/segments",
               summary="Resend: the segments a contact is in",
               responses={200: LIST, 404: ERR, 422: ERR}, tags=TAGS)
def list_contact_segments(call: Call, contact: str) -> Response:
    account_id = call.account.account_id
    audiences = wiring.container().audiences
    found = _contact(call, contact, None)
    items = [shapes.segment_object(dumped(audiences.segment(account_id, s)))
             for s in found["segment_ids"]]
    return paged(call, lambda n, c: _slice(items, n, c))


@api.operation("POST", "/resend/contacts/{contact}/segments/{segment_id}",
               summary="Resend: add a contact to a segment",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def add_contact_segment(call: Call, contact: str, segment_id: str) -> Response:
    wiring.container().audiences.add_member(call.account.account_id, segment_id, _ref(contact),
                                            utcnow())
    return ok({"id": segment_id})


@api.operation("DELETE", "/resend/contacts/{contact}/segments/{segment_id}",
               summary="Resend: remove a contact from a segment",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def remove_contact_segment(call: Call, contact: str, segment_id: str) -> Response:
    wiring.container().audiences.remove_member(call.account.account_id, segment_id,
                                               _ref(contact), utcnow())
    return ok({"id": segment_id, "deleted": True})


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
        raise _invalid(unknown[0], "unknown field")
    fields = {k: data[k] for k in _BROADCAST_FIELDS if k in data}
    if "audience_id" in data and "segment_id" not in data:
        fields["segment_id"] = data["audience_id"]
    reply_to = fields.get("reply_to")
    if isinstance(reply_to, list):
        if len(reply_to) > 1:
            raise _invalid("reply_to", "Letterbox broadcasts take one reply-to address")
        fields["reply_to"] = reply_to[0] if reply_to else None
    for part in ("subject", "html", "text"):
        if part in fields:
            fields[part] = _jinja(fields[part], True, part)
    if not partial and "segment_id" not in fields:
        raise _invalid("segment_id", "required (or audience_id)")
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
        raise _invalid("scheduled_at", "only with send: true (or use broadcasts.send)")
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
        raise _invalid("type", "one of " + ", ".join(RECIPIENT_STATUSES))
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
    return paged(call, lambda n, c: _slice(items, n, c))


# Templates (Resend's ``{{{NAME|fallback}}}`` ↔ our Jinja2; used by Emails.send's template)

_TEMPLATE_FIELDS = ("name", "subject", "html", "text")
_NO_TEMPLATE_FIELD = {"alias": "Letterbox templates are found by id only",
                      "from": "Letterbox templates carry no sender: give from when sending",
                      "reply_to": "Letterbox templates carry no reply-to: give it when sending"}


def _template_fields(data: dict[str, Any]) -> dict[str, Any]:
    for field, why in _NO_TEMPLATE_FIELD.items():
        if data.get(field) is not None:
            raise _invalid(field, why)
    unknown = sorted(set(data) - {*_TEMPLATE_FIELDS, *_NO_TEMPLATE_FIELD, "variables", "id"})
    if unknown:
        raise _invalid(unknown[0], "unknown field")
    variables = data.get("variables") or []
    if not isinstance(variables, list) or not all(
            isinstance(v, dict) and isinstance(v.get("key"), str) for v in variables):
        raise _invalid("variables", "must be a list of {key, type, fallback_value}")
    if variables and "html" not in data and "text" not in data:
        raise _invalid("variables", "fallbacks apply to the html or text sent with them")
    fallbacks = {v["key"]: v.get("fallback_value") for v in variables}
    fields = {k: data[k] for k in _TEMPLATE_FIELDS if k in data}
    for part in ("subject", "html", "text"):
        if part in fields:
            fields[part] = _jinja(fields[part], False, part, fallbacks)
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
        raise _invalid("origin", "one of bounce, complaint, manual")
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
    found = wiring.container().suppressions.entry(call.account.account_id, _ref(entry))
    return ok(shapes.suppression_object(dumped(found)))


def _unsuppress(account_id: str, entry: str) -> dict[str, Any]:
    suppressions = wiring.container().suppressions
    found = suppressions.entry(account_id, entry)
    address = found.email or (entry if "@" in entry else None)
    if address is None:  # only the hash is stored (erased, or unsubscribed by hash)
        raise _invalid("id", "this entry keeps no address: lift it by the address it "
                             "suppresses")
    suppressions.remove(account_id, address)
    return {"object": "suppression", "id": found.address_hash, "deleted": True}


@api.operation("DELETE", "/resend/suppressions/{entry}",
               summary="Resend: lift a suppression, by id or address",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def remove_suppression(call: Call, entry: str) -> Response:
    return ok(_unsuppress(call.account.account_id, _ref(entry)))


def _batch(data: dict[str, Any], field: str) -> list[str]:
    items = data.get(field)
    if not isinstance(items, list) or not 1 <= len(items) <= 100 or not all(
            isinstance(i, str) for i in items):
        raise _invalid(field, "a list of 1 to 100 strings")
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
        raise _invalid("emails", "give emails or ids, not both")
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
    return paged(call, lambda n, c: _slice(items, n, c))

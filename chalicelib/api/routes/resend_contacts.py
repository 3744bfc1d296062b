"""/resend/…: Resend's contacts, their imports (the SDK's multipart upload → our CSV
import), and a contact's topics and segments, over the contact and audience services."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib import resend_mapping as shapes
from chalicelib import wiring
from chalicelib.api.routes.resend import (ERR, TAGS, api, body_of, dumped, object_body, ok,
                                          page_of, paged, validate)
from chalicelib.api.web import Call
from chalicelib.clock import utcnow
from chalicelib.errors import NotFound
from chalicelib.api.routes.resend_marketing import LIST, OBJ, invalid, ref, slice_page


# Contacts

_CONTACT_FIELDS = ("email", "first_name", "last_name", "unsubscribed", "properties")


def _contact_create(data: dict[str, Any], audience_id: str | None) -> dict[str, Any]:
    unknown = sorted(set(data) - {*_CONTACT_FIELDS, "segments", "topics", "audience_id"})
    if unknown:
        raise invalid(unknown[0], "unknown field")
    fields = {k: data[k] for k in _CONTACT_FIELDS if k in data}
    segments = data.get("segments") or []
    if not isinstance(segments, list) or not all(isinstance(s, dict) for s in segments):
        raise invalid("segments", "must be a list of {id}")
    fields["segment_ids"] = [s.get("id") for s in segments]
    if audience_id:
        fields["segment_ids"].append(audience_id)
    return fields


def _topic_choices(topics: Any) -> dict[str, Any]:
    if not isinstance(topics, list) or not all(isinstance(t, dict) for t in topics):
        raise invalid("topics", "must be a list of {id, subscription}")
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


def _contact_out(call: Call, contact: str, audience_id: str | None) -> Any:
    """The contact, by id or address; under an audience, only one of its members."""
    found = wiring.container().contacts.get(call.account.account_id, ref(contact))
    if audience_id and audience_id not in found.segment_ids:
        raise NotFound("that contact is not in this audience")
    return found


def _contact(call: Call, contact: str, audience_id: str | None) -> dict[str, Any]:
    return dumped(_contact_out(call, contact, audience_id))


def _shown(call: Call, contact: str, audience_id: str | None) -> dict[str, Any]:
    """The contact as Resend's SDK shows it, with its effective state (suppressed or not)."""
    found = _contact_out(call, contact, audience_id)
    stated = wiring.container().contact_states(call.account.account_id, [found])
    return shapes.contact_object(dumped(stated[0]))


def _stated_page(account_id: str, page: Any) -> tuple[list[dict[str, Any]], str | None]:
    """A page in Resend's shape: one batched suppression lookup for it, never one a row."""
    stated = wiring.container().contact_states(account_id, page.data)
    return page_of(page.model_copy(update={"data": stated}), shapes.contact_object)


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
        return paged(call, lambda n, c: _stated_page(
            account_id, container.audiences.members(account_id, segment_id, n, c)))
    return paged(call, lambda n, c: _stated_page(account_id,
                                                 container.contacts.list(account_id, n, c)))


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
    return ok(_shown(call, contact, None))


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
    return ok(_shown(call, contact, audience_id))


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
        raise invalid("file", "send the CSV as multipart/form-data (the SDK does)")
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
            raise invalid(str(name), "must be UTF-8 text") from err
    return fields


def _json_field(form: dict[str, Any], name: str) -> Any:
    import json
    if name not in form:
        return None
    try:
        return json.loads(form[name])
    except json.JSONDecodeError as err:
        raise invalid(name, "must be JSON") from err


def _mapped_csv(text: str, column_map: Any) -> str:
    """The CSV with Resend's ``column_map`` applied to its header (the rows stay as sent)."""
    import csv
    import io
    if not column_map:
        return text
    if not isinstance(column_map, dict) or set(column_map) - {*_MAPPED_COLUMNS}:
        raise invalid("column_map", "maps email, first_name, last_name and unsubscribed to "
                                     "CSV columns (name property columns after the property)")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise invalid("file", f"not readable as CSV ({err})") from err
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
        raise invalid("file", "required: the CSV file")
    segments = _json_field(form, "segments") or []
    if not isinstance(segments, list) or len(segments) > 1 or not all(
            isinstance(s, dict) for s in segments):
        raise invalid("segments", "at most one segment, as [{id}]")
    if _json_field(form, "topics"):
        raise invalid("topics", "not supported on imports: set subscriptions per contact")
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
        raise invalid("status", "one of " + ", ".join(_IMPORT_STATUS.values()))
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
    subscriptions = wiring.container().contacts.subscriptions(account_id, ref(contact))
    described = {t["id"]: t.get("description") for t in _all_topics(account_id)}
    items = [{"id": s.topic_id, "name": s.name, "description": described.get(s.topic_id),
              "subscription": "opt_in" if s.subscribed else "opt_out"}
             for s in subscriptions.data]
    return paged(call, lambda n, c: slice_page(items, n, c))


@api.operation("PATCH", "/resend/contacts/{contact}/topics",
               summary="Resend: change a contact's topic subscriptions",
               responses={200: OBJ, 404: ERR, 422: ERR}, tags=TAGS)
def update_contact_topics(call: Call, contact: str) -> Response:
    data = body_of(call)
    topics = data.get("topics") if isinstance(data, dict) else data  # the SDK sends the list
    account_id = call.account.account_id
    request = validate("marketing_models:SubscriptionChange", {"topics": _topic_choices(topics)})
    contacts = wiring.container().contacts
    found = contacts.get(account_id, ref(contact))
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
    return paged(call, lambda n, c: slice_page(items, n, c))


@api.operation("POST", "/resend/contacts/{contact}/segments/{segment_id}",
               summary="Resend: add a contact to a segment",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def add_contact_segment(call: Call, contact: str, segment_id: str) -> Response:
    wiring.container().audiences.add_member(call.account.account_id, segment_id, ref(contact),
                                            utcnow())
    return ok({"id": segment_id})


@api.operation("DELETE", "/resend/contacts/{contact}/segments/{segment_id}",
               summary="Resend: remove a contact from a segment",
               responses={200: OBJ, 404: ERR}, tags=TAGS)
def remove_contact_segment(call: Call, contact: str, segment_id: str) -> Response:
    wiring.container().audiences.remove_member(call.account.account_id, segment_id,
                                               ref(contact), utcnow())
    return ok({"id": segment_id, "deleted": True})

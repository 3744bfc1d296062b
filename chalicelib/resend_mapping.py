"""Resend's wire shapes, mapped onto ours. Pure translation: every rule (validation, domains,
scopes, quotas, idempotency) stays in the services; this module only renames fields, status
values, event types and error names, so ``/resend/…`` and ``/v1/…`` cannot disagree."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from typing import Any

# Resend's error names, as its SDKs map them to exception classes (statusCode + name).
_ERROR_NAMES = {
    "validation_error": "validation_error",
    "domain_not_verified": "validation_error",
    "unauthorized": "missing_api_key",
    "forbidden": "restricted_api_key",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "conflict": "invalid_idempotent_request",
    "rate_limited": "rate_limit_exceeded",
    "quota_exceeded": "daily_quota_exceeded",
    "internal_error": "application_error",
    "service_unavailable": "application_error",
}


def error_name(code: str, status: int, message: str) -> tuple[int, str]:
    """(status, Resend name) for one of our errors. An API key that is present but wrong is
    Resend's ``403 invalid_api_key``; a missing one ``401 missing_api_key``."""
    if code == "unauthorized" and "missing" not in message.lower():
        return 403, "invalid_api_key"
    if code == "conflict" and "in progress" in message:
        return status, "concurrent_idempotent_requests"
    if code == "rate_limited" and "quota" in message.lower():
        return status, "daily_quota_exceeded"
    return status, _ERROR_NAMES.get(code, code)


# Our email statuses → Resend's ``last_event`` values.
LAST_EVENT = {"queued": "queued", "scheduled": "scheduled", "sent": "sent",
              "delivered": "delivered", "deferred": "delivery_delayed", "bounced": "bounced",
              "complained": "complained", "failed": "failed", "rejected": "failed",
              "suppressed": "suppressed", "cancelled": "canceled", "opened": "opened",
              "clicked": "clicked"}

# Resend's webhook event types ↔ ours (the ones with no counterpart are refused, not ignored).
EVENT_TO_OURS = {"email.sent": "email.sent", "email.delivered": "email.delivered",
                 "email.delivery_delayed": "email.deferred", "email.bounced": "email.bounced",
                 "email.complained": "email.complained", "email.opened": "email.opened",
                 "email.clicked": "email.clicked", "email.failed": "email.failed",
                 "email.scheduled": "email.scheduled", "email.suppressed": "email.suppressed"}
EVENT_FROM_OURS = {ours: theirs for theirs, ours in EVENT_TO_OURS.items()}
EVENT_FROM_OURS["email.rejected"] = "email.failed"
# Contacts: Resend has created/updated/deleted and topics.updated; our confirmed and
# unsubscribed are its "updated".
CONTACT_EVENTS = {"contact.created": ("contact.created",),
                  "contact.deleted": ("contact.deleted",),
                  "contact.updated": ("contact.updated", "contact.confirmed",
                                      "contact.unsubscribed"),
                  "contact.topics.updated": ("contact.topics_changed",)}
for _theirs, _ours in CONTACT_EVENTS.items():
    EVENT_FROM_OURS.update(dict.fromkeys(_ours, _theirs))


def events_to_ours(events: list[str]) -> list[str]:
    """Resend event names → ours; an unknown one passes through so the service refuses it."""
    ours: set[str] = set()
    for event in events:
        ours.update(CONTACT_EVENTS.get(event) or (EVENT_TO_OURS.get(event, event),))
    return sorted(ours)


def events_from_ours(events: list[str]) -> list[str]:
    if "*" in events:
        return sorted({*EVENT_TO_OURS, *CONTACT_EVENTS})
    return sorted({EVENT_FROM_OURS[e] for e in events if e in EVENT_FROM_OURS})


def _attachment(item: Any) -> Any:
    if not isinstance(item, dict):
        return item  # the service's validation reports it
    content = item.get("content")
    if isinstance(content, list):  # the SDKs also send bytes as a list of ints
        with contextlib.suppress(TypeError, ValueError):  # else the model refuses it
            content = base64.b64encode(bytes(content)).decode()
    out = {"filename": item.get("filename"), "content": content,
           "content_type": item.get("content_type")}
    if item.get("inline_content_id") or item.get("content_id"):
        out["content_id"] = item.get("inline_content_id") or item.get("content_id")
    return {k: v for k, v in out.items() if v is not None}


def send_fields(params: Any) -> Any:
    """Resend's send parameters → ``SendEmailRequest`` input (validated by the service's model).
    Unknown fields are kept, so the model refuses them instead of dropping them silently."""
    if not isinstance(params, dict):
        return params
    fields = dict(params)
    if "attachments" in fields and isinstance(fields["attachments"], list):
        fields["attachments"] = [_attachment(a) for a in fields["attachments"]]
    template = fields.pop("template", None)
    if isinstance(template, dict):
        fields["template_id"] = template.get("id")
        fields["variables"] = template.get("variables") or {}
    elif template is not None:
        fields["template"] = template
    return fields


def email_object(email: dict[str, Any]) -> dict[str, Any]:
    """Our ``EmailOut`` → Resend's email object. Bodies are never stored, so html/text are null."""
    return {"object": "email", "id": email["id"], "to": email["to"], "from": email["from"],
            "created_at": email["created_at"], "subject": email.get("subject"),
            "html": None, "text": None, "bcc": email.get("bcc") or None,
            "cc": email.get("cc") or None, "reply_to": email.get("reply_to") or None,
            "last_event": LAST_EVENT.get(email["status"], email["status"]),
            "scheduled_at": email.get("scheduled_at"), "tags": email.get("tags") or []}


def domain_object(domain: dict[str, Any], region: str) -> dict[str, Any]:
    """Our ``DomainOut`` → Resend's domain object, records in its ``record`` vocabulary."""
    kinds = {"dkim": "DKIM", "mail_from_mx": "SPF", "spf": "SPF", "dmarc": "DMARC"}
    records = []
    for record in domain["records"]:
        value, priority = record["value"], None
        if record["type"] == "MX":
            head, _, rest = value.partition(" ")
            priority, value = (int(head), rest) if head.isdigit() else (None, value)
        records.append({"record": kinds[record["purpose"]], "name": record["name"],
                        "type": record["type"], "ttl": "Auto", "value": value,
                        "priority": priority,
                        "status": "verified" if domain["status"] == "verified" else "pending"})
    return {"object": "domain", "id": domain["id"], "name": domain["name"],
            "status": "verified" if domain["status"] == "verified" else "not_started",
            "created_at": domain["created_at"], "region": region, "records": records,
            "open_tracking": domain.get("track_opens", False),
            "click_tracking": domain.get("track_clicks", False)}


def webhook_object(hook: dict[str, Any]) -> dict[str, Any]:
    return {"object": "webhook", "id": hook["id"], "endpoint": hook["url"],
            "events": events_from_ours(hook["event_types"]), "status": hook["status"],
            "created_at": hook["created_at"], "signing_secret": None}


def webhook_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """One of our webhook payloads → Resend's (``type``, ``created_at``, ``data``)."""
    inner = payload.get("data") or {}
    details = inner.get("data") or {}
    if payload["type"].startswith("contact."):
        changed = (contact_payload(inner, details) if payload["type"] != "contact.topics_changed"
                   else {"email": inner.get("recipient"),
                         "topics": [{"id": topic, "subscription": choice}
                                    for topic, choice in (details.get("topics") or {}).items()]})
        return {"type": EVENT_FROM_OURS.get(payload["type"], payload["type"]),
                "created_at": payload["timestamp"], "data": changed}
    data: dict[str, Any] = {"email_id": inner.get("email_id"), "created_at": payload["timestamp"],
                            "to": [inner["recipient"]] if inner.get("recipient") else [],
                            "tags": {t["name"]: t["value"] for t in inner.get("tags") or []
                                     if isinstance(t, dict) and "name" in t},
                            "metadata": inner.get("metadata") or {}}
    if "bounce_type" in details:
        data["bounce"] = {"type": details.get("bounce_type"),
                          "subType": details.get("bounce_subtype"),
                          "message": details.get("reason") or ""}
    if "url" in details:
        data["click"] = {"link": details["url"], "timestamp": payload["timestamp"]}
    kind = EVENT_FROM_OURS.get(payload["type"], payload["type"])
    return {"type": kind, "created_at": payload["timestamp"], "data": data}


# Resend's ``{{{name|fallback}}}`` variables ↔ our sandboxed Jinja2. One translation, used by
# broadcasts and templates alike. Literal text never becomes template code: a ``{`` that would
# open a Jinja2 tag is emitted as the expression ``{{ "{" }}``; a fallback becomes a Jinja2
# string literal (JSON's escaping is valid Jinja2), so values stay autoescaped in HTML.
_RESEND_VAR = re.compile(r"\{\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:\|([^}]*))?\}\}\}")
_OPEN = '{{ "{" }}'
_OURS = re.compile(r'\{\{ "\{" \}\}|\{\{ ([A-Za-z_][A-Za-z0-9_.]*)'
                   r'(?: \| default\(("(?:[^"\\]|\\.)*")\))? \}\}')
# Resend's broadcast names → what our broadcast renderer hands the template.
_CONTACT_FIELDS = {"FIRST_NAME": "contact.first_name", "LAST_NAME": "contact.last_name",
                   "EMAIL": "contact.email", "contact.first_name": "contact.first_name",
                   "contact.last_name": "contact.last_name", "contact.email": "contact.email",
                   "RESEND_UNSUBSCRIBE_URL": "unsubscribe_url",
                   "UNSUBSCRIBE_URL": "unsubscribe_url"}
_PROPERTY = re.compile(r"contact\.([A-Za-z0-9_]{1,40})")


def _literal(text: str) -> str:
    # A "{" before "{", "%" or "#" would open a tag; one at the end would, with the "{{" of the
    # variable that follows it.
    return re.sub(r"\{(?=[{%#]|\Z)", lambda _: _OPEN, text)


def _jinja_name(name: str, broadcast: bool) -> str:
    if broadcast:
        if name in _CONTACT_FIELDS:
            return _CONTACT_FIELDS[name]
        match = _PROPERTY.fullmatch(name)
        if match:  # custom contact properties
            return f"contact.properties.{match.group(1)}"
        raise ValueError(f"unknown broadcast variable {{{{{{{name}}}}}}}: use contact.<field>, "
                         "FIRST_NAME, LAST_NAME, EMAIL or RESEND_UNSUBSCRIBE_URL")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,49}", name):
        raise ValueError(f"template variable {name!r} must be letters, digits or _ "
                         "(at most 50)")
    return name


def to_jinja(text: str | None, broadcast: bool,
             fallbacks: dict[str, Any] | None = None) -> str | None:
    """Resend's syntax → ours. Broadcasts: a missing contact field without a fallback renders
    empty, as Resend's does; templates: it stays required (the send is refused without it).
    Raises ValueError naming an unknown variable."""
    if text is None:
        return None
    out, last = [], 0
    for match in _RESEND_VAR.finditer(text):
        out.append(_literal(text[last:match.start()]))
        name, fallback = match.group(1), match.group(2)
        target = _jinja_name(name, broadcast)
        if fallback is None and fallbacks and fallbacks.get(name) is not None:
            fallback = str(fallbacks[name])
        if fallback is None and broadcast and target != "unsubscribe_url":
            fallback = ""
        out.append(f"{{{{ {target} }}}}" if fallback is None else
                   f"{{{{ {target} | default({json.dumps(fallback, ensure_ascii=False)}) }}}}")
        last = match.end()
    out.append(_literal(text[last:]))
    return "".join(out)


_BACK = {v: k for k, v in _CONTACT_FIELDS.items() if k.startswith(("contact.", "RESEND_"))}


def from_jinja(text: str | None, broadcast: bool) -> str | None:
    """Ours → Resend's, for what ``to_jinja`` produced (a round trip gives the text back, with
    ``FIRST_NAME``-style names in their ``contact.*`` form)."""
    if text is None:
        return None

    def back(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "{"
        name = match.group(1)
        if broadcast:
            name = _BACK.get(name) or name.replace("contact.properties.", "contact.", 1)
        fallback = json.loads(match.group(2)) if match.group(2) else None
        return f"{{{{{{{name}}}}}}}" if not fallback else f"{{{{{{{name}|{fallback}}}}}}}"
    return _OURS.sub(back, text)


# Marketing objects: ours (``ContactOut``, ``SegmentOut``, …) → Resend's.

def _property_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "string"


def contact_object(contact: dict[str, Any]) -> dict[str, Any]:
    # Resend's contact has one delivery flag, ``unsubscribed`` (its SDK knows no other): a
    # suppressed address gets no broadcast, so it reads as unsubscribed there.
    return {"object": "contact", "id": contact["id"], "email": contact["email"],
            "first_name": contact.get("first_name"), "last_name": contact.get("last_name"),
            "created_at": contact["created_at"],
            "unsubscribed": contact["unsubscribed"] or contact.get("state") == "suppressed",
            "properties": {k: {"value": v, "type": _property_type(v)}
                           for k, v in (contact.get("properties") or {}).items()}}


def segment_object(segment: dict[str, Any]) -> dict[str, Any]:
    return {"object": "segment", "id": segment["id"], "name": segment["name"],
            "created_at": segment["created_at"]}


def topic_object(topic: dict[str, Any]) -> dict[str, Any]:
    return {"object": "topic", "id": topic["id"], "name": topic["name"],
            "description": topic.get("description") or "",
            "default_subscription": topic["default"], "created_at": topic["created_at"]}


BROADCAST_STATUS = {"draft": "draft", "scheduled": "scheduled", "sending": "queued",
                    "sent": "sent", "cancelled": "canceled", "failed": "failed"}


def broadcast_object(broadcast: dict[str, Any]) -> dict[str, Any]:
    return {"object": "broadcast", "id": broadcast["id"], "name": broadcast.get("name"),
            "segment_id": broadcast["segment_id"], "audience_id": broadcast["segment_id"],
            "from": broadcast["from"], "subject": from_jinja(broadcast.get("subject"), True),
            "reply_to": [broadcast["reply_to"]] if broadcast.get("reply_to") else None,
            "preview_text": broadcast.get("preview_text"),
            "status": BROADCAST_STATUS.get(broadcast["status"], broadcast["status"]),
            "created_at": broadcast["created_at"], "scheduled_at": broadcast.get("scheduled_at"),
            "sent_at": broadcast.get("sent_at"),
            "html": from_jinja(broadcast.get("html"), True),
            "text": from_jinja(broadcast.get("text"), True),
            "topic_id": broadcast.get("topic_id")}


def recipient_object(recipient: dict[str, Any]) -> dict[str, Any]:
    return {"id": recipient.get("email_id") or recipient["contact_id"],
            "contact_id": recipient["contact_id"], "email": recipient.get("email")}


def clicked_link(url: str, recipients: int) -> dict[str, Any]:
    """Letterbox counts the recipients who clicked a link (not every click)."""
    return {"id": hashlib.sha256(url.encode()).hexdigest()[:24], "url": url,
            "clicks": recipients, "unique_clicks": recipients}


def contact_payload(inner: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    """A ``contact.*`` event's data in Resend's shape (its audience_id: the first segment)."""
    segments = details.get("segment_ids") or []
    return {"id": details.get("contact_id"), "audience_id": segments[0] if segments else None,
            "segment_ids": segments, "created_at": details.get("created_at"),
            "updated_at": details.get("updated_at"), "email": inner.get("recipient"),
            "first_name": details.get("first_name"), "last_name": details.get("last_name"),
            "unsubscribed": bool(details.get("unsubscribed"))}


def template_variables(source: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """Resend's ``variables`` of a template: the names it uses, with the fallback each has."""
    fallbacks: dict[str, Any] = {}
    for part in ("subject", "html", "text"):
        for match in _OURS.finditer(source.get(part) or ""):
            if match.group(1) and match.group(2):
                fallbacks.setdefault(match.group(1), json.loads(match.group(2)))
    return [{"key": name, "type": "string", "fallback_value": fallbacks.get(name)}
            for name in names]


def template_object(template: dict[str, Any]) -> dict[str, Any]:
    """Our ``TemplateOut`` → Resend's template. A Letterbox template is live once saved, so
    it is always ``published`` (as of its last change); it has no alias, sender or reply-to."""
    return {"object": "template", "id": template["id"], "name": template["name"],
            "alias": None, "status": "published", "from": None, "reply_to": None,
            "subject": from_jinja(template["subject"], False),
            "html": from_jinja(template.get("html"), False),
            "text": from_jinja(template.get("text"), False),
            "variables": template_variables(template, template.get("variables") or []),
            "created_at": template["created_at"], "updated_at": template["updated_at"],
            "published_at": template["updated_at"]}


def template_list_item(template: dict[str, Any]) -> dict[str, Any]:
    full = template_object(template)
    return {k: full[k] for k in ("id", "name", "status", "published_at", "created_at",
                                 "updated_at", "alias")}


# Our suppression reasons → Resend's ``origin`` (unsubscribe and erasure have no Resend
# counterpart and pass through under their own names).
ORIGIN = {"bounce": "bounce", "complaint": "complaint", "manual": "manual"}


def suppression_object(entry: dict[str, Any]) -> dict[str, Any]:
    """Our ``SuppressionOut`` → Resend's; its id is the entry's keyed address hash."""
    return {"object": "suppression", "id": entry["address_hash"], "email": entry.get("email"),
            "origin": ORIGIN.get(entry["reason"], entry["reason"]),
            "source_id": entry.get("message_id"), "created_at": entry["created_at"]}

"""Resend's wire shapes, mapped onto ours. Pure translation: every rule (validation, domains,
scopes, quotas, idempotency) stays in the services; this module only renames fields, status
values, event types and error names, so ``/resend/…`` and ``/v1/…`` cannot disagree."""

from __future__ import annotations

import base64
import contextlib
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


def events_to_ours(events: list[str]) -> list[str]:
    """Resend event names → ours; an unknown one passes through so the service refuses it."""
    return sorted({EVENT_TO_OURS.get(e, e) for e in events})


def events_from_ours(events: list[str]) -> list[str]:
    if "*" in events:
        return sorted(EVENT_TO_OURS)
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

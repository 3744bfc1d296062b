"""SES's events mapped into the event vocabulary (``chalicelib/vocabulary.py``) by lookup tables.

Both SES shapes are read: event publishing (``eventType``) and feedback notifications
(``notificationType``). An unknown type maps to ``unknown``, never to an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.vocabulary import BounceType, EmailEventType

E = EmailEventType

# SES type → (our type, the key holding its details, the key listing its recipients).
SES_TYPES: dict[str, tuple[EmailEventType, str, str | None]] = {
    "Send": (E.SENT, "send", None),
    "Delivery": (E.DELIVERED, "delivery", "recipients"),
    "Bounce": (E.BOUNCED, "bounce", "bouncedRecipients"),
    "Complaint": (E.COMPLAINED, "complaint", "complainedRecipients"),
    "Reject": (E.REJECTED, "reject", None),
    "Open": (E.OPENED, "open", None),
    "Click": (E.CLICKED, "click", None),
    "Rendering Failure": (E.FAILED, "failure", None),
    "DeliveryDelay": (E.DEFERRED, "deliveryDelay", "delayedRecipients"),
    "Subscription": (E.UNSUBSCRIBED, "subscription", None),
}
BOUNCE_TYPES = {"Permanent": BounceType.PERMANENT, "Transient": BounceType.TRANSIENT,
                "Undetermined": BounceType.UNDETERMINED}
# Detail fields worth keeping on our event (the raw event is kept too, for its retention).
_DETAIL_KEYS = ("smtpResponse", "processingTimeMillis", "reportingMTA", "feedbackId",
                "complaintFeedbackType", "complaintSubType", "reason", "link", "userAgent",
                "errorMessage", "delayType", "expirationTime", "status", "diagnosticCode",
                "action")


@dataclass(frozen=True)
class ProviderEvent:
    """One normalized event for one recipient (or for the whole message)."""

    type: EmailEventType
    letterbox_id: str | None
    account_id: str | None
    ses_message_id: str | None
    recipient: str | None
    timestamp: str
    bounce_type: BounceType | None = None
    bounce_subtype: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)  # the message's own, from SES
    # Mail sent over SMTP carries no letterbox_* tags: SES's own say who sent it, from where.
    caller_identity: str | None = None
    from_domain: str | None = None
    destinations: int = 0  # the mail's recipient count (a Send event counts them all)

    @property
    def suppresses(self) -> bool:
        """Permanent bounces and complaints put the address on the suppression list."""
        return self.type is E.COMPLAINED or (self.type is E.BOUNCED
                                            and self.bounce_type is BounceType.PERMANENT)


def _tag(mail: dict[str, Any], name: str) -> str | None:
    values = (mail.get("tags") or {}).get(name) or []
    return str(values[0]) if values else None


def _customer_tags(mail: dict[str, Any]) -> list[dict[str, str]]:
    """The tags the sender gave the message: SES carries them back on every event (with
    its own ``ses:*`` ones and ours, which are left out)."""
    return [{"name": name, "value": str(values[0])}
            for name, values in sorted((mail.get("tags") or {}).items())
            if values and not name.startswith(("ses:", "letterbox_"))]


def _header(mail: dict[str, Any], name: str) -> str | None:
    for header in mail.get("headers") or []:
        if str(header.get("name", "")).lower() == name.lower():
            return str(header.get("value"))
    return None


def normalize_ses(event: dict[str, Any]) -> list[ProviderEvent]:
    """An SES event (or feedback notification) as our events, one per affected recipient."""
    ses_type = str(event.get("eventType") or event.get("notificationType") or "")
    kind, detail_key, recipients_key = SES_TYPES.get(ses_type, (E.UNKNOWN, "", None))
    mail = event.get("mail") or {}
    detail = event.get(detail_key) or {} if detail_key else {}
    timestamp = str(detail.get("timestamp") or mail.get("timestamp") or "")
    base: dict[str, Any] = {
        "type": kind,
        "letterbox_id": _tag(mail, "letterbox_id") or _header(mail, "X-Letterbox-Id"),
        "account_id": _tag(mail, "letterbox_account"),
        "ses_message_id": mail.get("messageId"),
        "timestamp": timestamp,
        "raw": event,
        "tags": _customer_tags(mail),
        "caller_identity": _tag(mail, "ses:caller-identity"),
        "from_domain": (_tag(mail, "ses:from-domain")
                        or str(mail.get("source") or "").rpartition("@")[2] or None),
        "destinations": len(mail.get("destination") or []),
    }
    if kind is E.BOUNCED:
        base["bounce_type"] = BOUNCE_TYPES.get(str(detail.get("bounceType")),
                                               BounceType.UNDETERMINED)
        base["bounce_subtype"] = str(detail.get("bounceSubType") or "Undetermined")
    shared = {k: detail[k] for k in _DETAIL_KEYS if detail.get(k) is not None}
    if kind is E.UNKNOWN:
        shared["ses_type"] = ses_type
    if recipients_key is None:
        destination = mail.get("destination") or []
        recipient = destination[0] if len(destination) == 1 else None
        return [ProviderEvent(recipient=recipient, **base, details=shared)]
    listed = detail.get(recipients_key) or []
    return [ProviderEvent(
        recipient=entry if isinstance(entry, str) else entry.get("emailAddress"), **base,
        details={**shared, **({k: entry[k] for k in _DETAIL_KEYS if k in entry}
                              if isinstance(entry, dict) else {})})
        for entry in listed] or [ProviderEvent(recipient=None, **base, details=shared)]

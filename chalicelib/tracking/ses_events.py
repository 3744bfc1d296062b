"""SES events arriving through SNS: verified, normalized, recorded exactly once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from chalicelib.tracking.ses_mapping import ProviderEvent, normalize_ses
from chalicelib.vocabulary import ENGAGEMENT, BounceType, EmailEventType, Event
from chalicelib.observability import logger
from chalicelib.tracking.sns import SnsMessage, SnsVerifier
from chalicelib.suppressions import SuppressionService


class Messages(Protocol):
    def apply_event(self, account_id: str, message_id: str, event: dict[str, Any],
                    status: str | None, now: datetime) -> bool: ...
    def count_once(self, account_id: str, marker: str, counts: dict[str, int],
                   now: datetime) -> bool: ...


class DomainOwners(Protocol):
    def verified_owner(self, name: str) -> str | None: ...


# The IAM users behind SMTP credentials (smtp.py names them ``lbx-<credential id>``).
SMTP_USER_PREFIX = "lbx-smtp_"


class Subscriptions(Protocol):
    def confirm(self, topic_arn: str, token: str) -> None: ...


class AfterEvent(Protocol):
    def __call__(self, account_id: str, event: dict[str, Any], now: datetime) -> None: ...


def _millis(timestamp: str, fallback: datetime) -> int:
    try:
        return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return int(fallback.timestamp() * 1000)


class ProviderEventService:
    def __init__(self, verifier: SnsVerifier, messages: Messages,
                 suppressions: SuppressionService, subscriptions: Subscriptions,
                 after_event: list[AfterEvent] | None = None,
                 domain_owners: DomainOwners | None = None) -> None:
        self._owners = domain_owners
        self._verifier = verifier
        self._messages = messages
        self._suppressions = suppressions
        self._subscriptions = subscriptions
        self._after = after_event or []

    def receive_sns(self, body: bytes | str, now: datetime) -> dict[str, Any]:
        message = self._verifier.verify(body)  # raises before anything is trusted
        if message.type == "SubscriptionConfirmation":
            assert message.token is not None
            self._subscriptions.confirm(message.topic_arn, message.token)
            return {"subscription": "confirmed"}
        if message.type == "UnsubscribeConfirmation":
            return {"subscription": "ignored"}
        return {"recorded": self._record_notification(message, now)}

    def receive_queued(self, body: str, now: datetime) -> int:
        """A notification from the SES events queue (the SNS topic's SQS subscription)."""
        message = self._verifier.from_queue(body)
        if message.type != "Notification":
            return 0
        return self._record_notification(message, now)

    def _record_notification(self, message: SnsMessage, now: datetime) -> int:
        try:
            ses_event = json.loads(message.message)
        except ValueError:
            logger.warning("SNS notification without a JSON SES event")
            return 0
        recorded = 0
        for index, event in enumerate(normalize_ses(ses_event if isinstance(ses_event, dict)
                                                    else {})):
            recorded += self.record(event, f"{message.message_id}/{index}", now)
        return recorded

    def record(self, provider: ProviderEvent, seed: str, now: datetime) -> int:
        if not (provider.account_id and provider.letterbox_id):
            return self._record_smtp(provider, seed, now)  # not sent by the worker
        # No read of the message: tags come back from SES, metadata is joined on read (event
        # listings, webhooks), and the write itself is conditional on the message existing
        # (expired or erased: nothing to attach the event to).
        # The normalized details only: SES's raw event repeats addresses and headers, and
        # would triple the item (and its write cost) for nothing the API shows.
        data: dict[str, Any] = {**provider.details, "provider": "ses",
                                "ses_message_id": provider.ses_message_id}
        if provider.bounce_type:
            data.update(bounce_type=provider.bounce_type, bounce_subtype=provider.bounce_subtype)
        event = Event.from_provider(
            provider.letterbox_id, provider.type, provider.timestamp or now.isoformat(),
            _millis(provider.timestamp, now), seed, recipient=provider.recipient,
            tags=provider.tags, data=data).item()
        status = None if provider.type in ENGAGEMENT else provider.type
        # Suppress before recording: the record is what makes a retry stop, so a failure
        # between the two must leave the suppression done (adding one again is harmless).
        self._suppress(provider, now)
        if not self._messages.apply_event(provider.account_id, provider.letterbox_id, event,
                                          status, now):
            return 0  # seen before (SNS delivers at least once), or no such message
        for hook in self._after:
            hook(provider.account_id, event, now)
        return 1

    def _suppress(self, provider: ProviderEvent, now: datetime) -> None:
        if provider.suppresses and provider.recipient and provider.account_id:
            self._suppressions.add(provider.account_id, provider.recipient,
                                   "complaint" if provider.type is EmailEventType.COMPLAINED
                                   else "bounce", "all", now, provider.letterbox_id)

    def _smtp_account(self, provider: ProviderEvent) -> str | None:
        """SMTP mail's account: sent by one of our SMTP users, whose policy allows only its
        own account's verified domains, so the sending domain's owner is the account."""
        if (self._owners is None or not provider.from_domain
                or not (provider.caller_identity or "").startswith(SMTP_USER_PREFIX)):
            return None
        return self._owners.verified_owner(provider.from_domain.lower())

    def _record_smtp(self, provider: ProviderEvent, seed: str, now: datetime) -> int:
        """SMTP mail has no message here: its bounces and complaints still suppress, and its
        sends, bounces and complaints count toward the account's protection."""
        account_id = self._smtp_account(provider)
        if account_id is None:
            logger.info("event for a message Letterbox did not send", extra={"type": provider.type})
            return 0
        provider = replace(provider, account_id=account_id)
        self._suppress(provider, now)
        counts: dict[str, int] = {}
        if provider.type is EmailEventType.SENT:
            counts = {"sent": 1, "recipients_sent": max(provider.destinations, 1)}
        elif provider.type in (EmailEventType.BOUNCED, EmailEventType.COMPLAINED):
            counts = {str(provider.type): 1}
            if provider.bounce_type is BounceType.PERMANENT:
                counts["bounced_permanent"] = 1
        if not counts or not self._messages.count_once(account_id, f"SES#{seed}", counts, now):
            return 0
        event = {"type": str(provider.type), "data": {"bounce_type": provider.bounce_type,
                                                      "smtp": True}}
        for hook in self._after:
            hook(account_id, event, now)
        return 1

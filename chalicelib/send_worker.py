"""Email sending, worker side: one queue record in, at most one SES call out.

The worker claims a message with a conditional write before calling SES and moves it to its
final status in one transaction with its event, so a redelivered record never sends twice.
Suppressed recipients are dropped (event ``suppressed``); templates are rendered in the
sandbox; marketing mail gets RFC 8058 unsubscribe headers; everything is DKIM-signed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from chalicelib.dkim_signing import SigningKey, sign_message
from chalicelib.email_models import OffloadPointer, SendCommand
from chalicelib.errors import OutcomeUnknown, PermanentFailure, RateLimited, RetryableFailure
from chalicelib.mime import Content, build_message
from chalicelib.models import address_of, domain_of
from chalicelib.observability import logger
from chalicelib.ports import Claim, EmailSender
from chalicelib.templates import TemplateError, render
from chalicelib.vocabulary import EMAIL_WAITING, EmailEventType, Event, FailureReason

# Longer than the queue's visibility timeout, so a retry never races a live attempt.
CLAIM_LEASE_SECONDS = 900


class ClaimLapsed(RetryableFailure):
    """This attempt's claim expired before it could call SES."""


class WorkerMessages(Protocol):
    def claim(self, account_id: str, message_id: str, now: int, lease_seconds: int,
              schedule_version: int = 0) -> Claim: ...
    def release(self, account_id: str, message_id: str) -> None: ...
    def mark_sending(self, account_id: str, message_id: str, lease_until: int,
                     now: int) -> bool: ...
    def transition(self, account_id: str, message_id: str, status: str, event: dict[str, Any],
                   now: datetime, fields: dict[str, Any] | None = None,
                   from_status: tuple[str, ...] = ("queued",)) -> bool: ...
    def record_events(self, account_id: str, events: list[dict[str, Any]],
                      now: datetime) -> None: ...


class Keyring(Protocol):
    def signing_keys(self, account_id: str, domain: str) -> list[SigningKey]: ...
    def tracking_defaults(self, account_id: str, domain: str) -> tuple[bool, bool]: ...


class Instrumenter(Protocol):
    def instrument(self, markup: str, account_id: str, message_id: str, recipients: list[str],
                   opens: bool, clicks: bool) -> str: ...


class ContentReader(Protocol):
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


class SuppressionCheck(Protocol):
    def suppressed(self, account_id: str, addresses: list[str], stream: str) -> set[str]: ...


class LinkSigner(Protocol):
    def seal(self, purpose: str, payload: dict[str, Any]) -> str: ...
    def address_hash(self, account_id: str, address: str) -> str: ...


class Gate(Protocol):
    def refusal(self, account_id: str) -> str | None: ...


class SendQuota(Protocol):
    def take_quota(self, account_id: str, count: int, now: datetime,
                   counts: dict[str, int] | None = None) -> Any: ...
    def refund(self, charge: Any, count: int | None = None, counts: bool = True) -> None: ...


@dataclass(frozen=True)
class SendOutcome:
    message_id: str
    result: str  # sent, suppressed, failed, skipped, sent_unrecorded


class SendWorker:
    def __init__(self, messages: WorkerMessages, sender: EmailSender, keyring: Keyring,
                 content: ContentReader, suppressions: SuppressionCheck, links: LinkSigner,
                 public_base_url: str, tracking: Instrumenter, gate: Gate | None = None,
                 quota: SendQuota | None = None) -> None:
        self._messages = messages
        self._gate = gate
        self._quota = quota
        self._sender = sender
        self._keyring = keyring
        self._content = content
        self._suppressions = suppressions
        self._links = links
        self._base_url = public_base_url.rstrip("/")
        self._tracking = tracking

    def using(self, suppressions: SuppressionCheck) -> SendWorker:
        """This worker with another suppression check (a batch's snapshot)."""
        clone = copy.copy(self)
        clone._suppressions = suppressions
        return clone

    def process(self, item: SendCommand | OffloadPointer, now: datetime) -> SendOutcome:
        account_id, message_id = item.account_id, item.message_id
        version = item.schedule_version
        claim = self._messages.claim(account_id, message_id, int(now.timestamp()),
                                     CLAIM_LEASE_SECONDS, version)
        if claim is Claim.BUSY:
            raise RetryableFailure("not due yet, or another attempt holds this message")
        if claim is Claim.UNKNOWN:
            return self._unknown_outcome(item, now)
        if claim is not Claim.CLAIMED:
            return SendOutcome(message_id, "skipped")
        offload = item.offload_key if isinstance(item, OffloadPointer) else None
        refusal, charge = self._admit(account_id, offload, now)
        if refusal is not None:
            self._finish(account_id, message_id, EmailEventType.FAILED, now, reason=refusal)
            if offload:
                self._content.delete(offload)
            return SendOutcome(message_id, "failed")
        try:
            command = (SendCommand.model_validate_json(self._content.get(offload))
                       if offload else item)
            assert isinstance(command, SendCommand)
            outcome = self._deliver(command, now)
        except ClaimLapsed:
            raise  # the claim is no longer ours to release
        except RetryableFailure:
            self._messages.release(account_id, message_id)
            if charge is not None and self._quota is not None:
                self._quota.refund(charge)  # the retry takes it again
            raise
        except OutcomeUnknown:
            return self._unknown_outcome(item, now)
        except (PermanentFailure, TemplateError, ValueError) as err:
            logger.warning("send refused", extra={"message_id": message_id,
                                                  "error": type(err).__name__})
            self._finish(account_id, message_id, EmailEventType.FAILED, now, reason=str(err))
            outcome = SendOutcome(message_id, "failed")
        if offload:
            self._content.delete(offload)
        return outcome

    def _admit(self, account_id: str, offload: str | None,
               now: datetime) -> tuple[str | None, Any]:
        """Checked at send time, not only at acceptance: pause and closure (cached briefly),
        and for scheduled mail the quota of the day it goes out (charged now)."""
        refusal = self._gate.refusal(account_id) if self._gate is not None else None
        if refusal is not None:
            return FailureReason(refusal).value, None
        if self._quota is None or not (offload or "").startswith("scheduled/"):
            return None, None  # immediate mail took its quota when it was accepted
        try:
            return None, self._quota.take_quota(account_id, 1, now)
        except RateLimited:
            return FailureReason.QUOTA_EXCEEDED.value, None

    def _unknown_outcome(self, item: SendCommand | OffloadPointer, now: datetime) -> SendOutcome:
        """SES may or may not have the message: surface it as ``failed`` and never resend."""
        logger.error("send outcome unknown", extra={"message_id": item.message_id})
        self._finish(item.account_id, item.message_id, EmailEventType.FAILED, now,
                     reason=FailureReason.UNKNOWN_OUTCOME)
        if isinstance(item, OffloadPointer):
            self._content.delete(item.offload_key)
        return SendOutcome(item.message_id, "failed")

    def _finish(self, account_id: str, message_id: str, status: EmailEventType, now: datetime,
                fields: dict[str, Any] | None = None, command: SendCommand | None = None,
                **data: Any) -> None:
        event = Event.email(message_id, status, now,
                            tags=[t.model_dump() for t in command.tags] if command else None,
                            metadata=command.metadata if command else None, **data).item()
        self._messages.transition(account_id, message_id, status, event, now, fields,
                                  from_status=EMAIL_WAITING)

    def _deliver(self, command: SendCommand, now: datetime) -> SendOutcome:
        account_id, message_id = command.account_id, command.message_id
        recipients = [address_of(m) for m in [*command.to, *command.cc, *command.bcc]]
        blocked = self._suppressions.suppressed(account_id, recipients, command.stream)
        if blocked:
            tags = [t.model_dump() for t in command.tags]
            self._messages.record_events(account_id, [
                Event.email(message_id, EmailEventType.SUPPRESSED, now, recipient=r, tags=tags,
                            metadata=command.metadata, stream=command.stream).item()
                for r in recipients if r in blocked], now)
        deliver_to = [r for r in recipients if r not in blocked]
        if not deliver_to:
            self._finish(account_id, message_id, EmailEventType.SUPPRESSED, now, command=command)
            return SendOutcome(message_id, "suppressed")
        content = (render(command.template, command.variables) if command.template
                   else Content(command.subject or "", command.html, command.text))
        domain = domain_of(command.from_)
        keys = self._keyring.signing_keys(account_id, domain)
        if not keys:
            raise PermanentFailure(f"domain_not_verified: {domain} is not verified")
        default_opens, default_clicks = self._keyring.tracking_defaults(account_id, domain)
        opens = default_opens if command.track_opens is None else command.track_opens
        clicks = default_clicks if command.track_clicks is None else command.track_clicks
        if content.html is not None and (opens or clicks):  # before signing, always
            content = Content(content.subject, self._tracking.instrument(
                content.html, account_id, message_id, deliver_to, opens, clicks), content.text)
        raw = sign_message(build_message(command, content, self._unsubscribe(command)),
                           domain, keys)
        # SES events carry these tags back: they find the message again (events.py).
        tags = [{"name": "letterbox_account", "value": account_id},
                *(t.model_dump() for t in command.tags)]
        lease_until = int(now.timestamp()) + CLAIM_LEASE_SECONDS
        if not self._messages.mark_sending(account_id, message_id, lease_until,
                                           int(now.timestamp())):
            raise ClaimLapsed("another attempt owns this message now")
        ses_id = self._sender.send_raw(message_id, raw, address_of(command.from_), deliver_to,
                                       tags)
        try:
            self._finish(account_id, message_id, EmailEventType.SENT, now, command=command,
                         fields={"ses_message_id": ses_id, "subject": content.subject},
                         ses_message_id=ses_id, recipients=len(deliver_to))
        except RetryableFailure:
            # SES has it: a retry would send it twice. Keep the record acked, say so loudly.
            logger.error("sent but not recorded", extra={"message_id": message_id})
            return SendOutcome(message_id, "sent_unrecorded")
        return SendOutcome(message_id, "sent")

    def _unsubscribe(self, command: SendCommand) -> tuple[str, str] | None:
        """Marketing mail: a one-click URL and a mailto, both personal to the one recipient."""
        if command.stream != "marketing":
            return None
        recipient = address_of(command.to[0])
        token = self._links.seal("unsubscribe", {
            "a": command.account_id, "m": command.message_id,
            "h": self._links.address_hash(command.account_id, recipient)})
        mailto = (f"mailto:unsubscribe@{domain_of(command.from_)}"
                  f"?subject={quote('unsubscribe ' + token)}")
        return f"{self._base_url}/u/{token}", mailto

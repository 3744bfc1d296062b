"""Email sending: accept and queue (API side), build and hand to SES (worker side).

Bodies travel only through the queue; the store keeps metadata. The worker claims a message
before calling SES and moves it ``queued`` → ``sent`` in one transaction with its event, so a
redelivered queue record never sends a message twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from chalicelib.accounts import Principal
from chalicelib.adapters.message_store import Claim
from chalicelib.adapters.ses import EmailSender
from chalicelib.clock import iso
from chalicelib.dkim_signing import SigningKey, sign_message
from chalicelib.errors import (DomainNotVerified, Forbidden, NotFound, PermanentFailure,
                               TransientFailure)
from chalicelib.ids import has_prefix, new_id
from chalicelib.mime import build_message
from chalicelib.observability import logger
from chalicelib.models import EmailAccepted, EmailOut, EventOut, SendCommand, SendEmailRequest
from chalicelib.models import address_of, domain_of

# Longer than the queue's visibility timeout, so a retry never races a live attempt.
CLAIM_LEASE_SECONDS = 900


class MessageStore(Protocol):
    def create(self, message: dict[str, Any], event: dict[str, Any], now: datetime) -> None: ...
    def get_with_events(self, account_id: str,
                        message_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None: ...
    def claim(self, account_id: str, message_id: str, now: int, lease_seconds: int) -> Claim: ...
    def release(self, account_id: str, message_id: str) -> None: ...
    def transition(self, account_id: str, message_id: str, status: str, event: dict[str, Any],
                   now: datetime, fields: dict[str, Any] | None = None,
                   from_status: str = "queued") -> bool: ...


class DomainDirectory(Protocol):
    def get_by_name(self, account_id: str, name: str) -> dict[str, Any] | None: ...


class Keyring(Protocol):
    def signing_keys(self, account_id: str, domain: str) -> list[SigningKey]: ...


class CommandQueue(Protocol):
    def enqueue(self, command: BaseModel, delay_seconds: int = 0) -> str: ...


def _event(message_id: str, kind: str, now: datetime, **data: Any) -> dict[str, Any]:
    return {"event_id": new_id("evt"), "message_id": message_id, "type": kind,
            "timestamp": iso(now), "recipient": data.pop("recipient", None), "data": data}


class EmailService:
    """The API side: validate ownership, record metadata, queue the content."""

    def __init__(self, messages: MessageStore, domains: DomainDirectory,
                 queue: CommandQueue) -> None:
        self._messages = messages
        self._domains = domains
        self._queue = queue

    def queue_email(self, principal: Principal, request: SendEmailRequest,
                    now: datetime) -> EmailAccepted:
        domain = domain_of(request.from_)
        if not principal.may_send_from(domain):
            raise Forbidden(f"this API key may not send from {domain}")
        record = self._domains.get_by_name(principal.account_id, domain)
        if record is None or record.get("status") != "verified":
            raise DomainNotVerified(
                f"'from' must be on a verified domain of this account; {domain} is not",
                details=[{"field": "from", "domain": domain}])
        message_id = new_id("em")
        self._messages.create(
            {"message_id": message_id, "account_id": principal.account_id,
             "from": request.from_, "to": request.to, "cc": request.cc, "bcc": request.bcc,
             "reply_to": request.reply_to, "subject": request.subject, "status": "queued",
             "created_at": iso(now), "updated_at": iso(now)},
            _event(message_id, "queued", now), now)
        command = SendCommand(account_id=principal.account_id, message_id=message_id,
                              **request.model_dump(by_alias=True))
        try:
            self._queue.enqueue(command)
        except TransientFailure:
            self._messages.transition(principal.account_id, message_id, "failed",
                                      _event(message_id, "failed", now, reason="queue_unavailable"),
                                      now)
            raise
        return EmailAccepted(id=message_id, status="queued", created_at=iso(now))

    def get_email(self, principal: Principal, message_id: str) -> EmailOut:
        found = (self._messages.get_with_events(principal.account_id, message_id)
                 if has_prefix(message_id, "em") else None)
        if found is None:  # another account's id looks exactly like a missing one
            raise NotFound(f"no email {message_id}")
        message, events = found
        return EmailOut.model_validate({
            **{k: message.get(k, []) for k in ("from", "to", "cc", "bcc", "reply_to")},
            **{k: message[k] for k in ("subject", "status", "created_at", "updated_at")},
            "id": message["message_id"],
            "events": [EventOut(id=e["event_id"], type=e["type"], timestamp=e["timestamp"],
                                recipient=e.get("recipient"), data=e.get("data", {}))
                       for e in events],
        })


@dataclass(frozen=True)
class SendOutcome:
    message_id: str
    result: str  # sent, skipped, failed


class SendWorker:
    """The queue side: one command in, at most one SES call out."""

    def __init__(self, messages: MessageStore, sender: EmailSender, keyring: Keyring) -> None:
        self._messages = messages
        self._sender = sender
        self._keyring = keyring

    def process(self, command: SendCommand, now: datetime) -> SendOutcome:
        account_id, message_id = command.account_id, command.message_id
        claim = self._messages.claim(account_id, message_id, int(now.timestamp()),
                                     CLAIM_LEASE_SECONDS)
        if claim is Claim.BUSY:
            raise TransientFailure("another attempt holds this message")
        if claim is not Claim.CLAIMED:
            return SendOutcome(message_id, "skipped")
        try:
            domain = domain_of(command.from_)
            keys = self._keyring.signing_keys(account_id, domain)
            if not keys:
                raise PermanentFailure(f"domain_not_verified: {domain} is not verified")
            raw = sign_message(build_message(command), domain, keys)
            recipients = [address_of(m) for m in [*command.to, *command.cc, *command.bcc]]
            ses_id = self._sender.send_raw(message_id, raw, address_of(command.from_),
                                           recipients)
        except TransientFailure:
            self._messages.release(account_id, message_id)
            raise
        except (PermanentFailure, ValueError) as err:
            logger.warning("send refused", extra={"message_id": message_id,
                                                  "error": type(err).__name__})
            self._messages.transition(account_id, message_id, "failed",
                                      _event(message_id, "failed", now, reason=str(err)), now)
            return SendOutcome(message_id, "failed")
        try:
            self._messages.transition(account_id, message_id, "sent",
                                      _event(message_id, "sent", now, ses_message_id=ses_id),
                                      now, fields={"ses_message_id": ses_id})
        except TransientFailure:
            # SES has it: a retry would send it twice. Keep the record acked, say so loudly.
            logger.error("sent but not recorded", extra={"message_id": message_id})
            return SendOutcome(message_id, "sent_unrecorded")
        return SendOutcome(message_id, "sent")

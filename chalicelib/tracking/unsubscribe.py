"""One-click unsubscribe (RFC 8058): a signed token in, a marketing suppression out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.suppressions import SuppressionService
from chalicelib.vocabulary import EmailEventType, Event


class Tokens(Protocol):
    def open(self, purpose: str, token: str) -> dict[str, Any] | None: ...
    def recipient_with_hash(self, account_id: str, mailboxes: list[str],
                            address_hash: str | None) -> str | None: ...


class Messages(Protocol):
    def get(self, account_id: str, message_id: str) -> dict[str, Any] | None: ...
    def record_events(self, account_id: str, events: list[dict[str, Any]],
                      now: datetime) -> None: ...


@dataclass(frozen=True)
class Unsubscribed:
    already: bool


class UnsubscribeService:
    def __init__(self, tokens: Tokens, messages: Messages,
                 suppressions: SuppressionService) -> None:
        self._tokens = tokens
        self._messages = messages
        self._suppressions = suppressions

    def valid(self, token: str) -> bool:
        return self._tokens.open("unsubscribe", token) is not None

    def unsubscribe(self, token: str, now: datetime) -> Unsubscribed | None:
        """None for a forged token; otherwise the recipient no longer gets marketing mail."""
        payload = self._tokens.open("unsubscribe", token)
        if payload is None:
            return None
        account_id, message_id, address_hash = payload["a"], payload["m"], payload["h"]
        message = self._messages.get(account_id, message_id)
        # The address comes from the message log while it lasts; after that the hash suffices.
        address = self._tokens.recipient_with_hash(account_id, (message or {}).get("to", []),
                                                   address_hash)
        already = self._suppressions.is_suppressed_hash(account_id, address_hash, "marketing")
        self._suppressions.add_hash(account_id, address_hash, address, "unsubscribe",
                                    "marketing", now, message_id)
        if message is not None and not already:
            self._messages.record_events(account_id, [Event.email(
                message_id, EmailEventType.UNSUBSCRIBED, now, recipient=address,
                tags=message.get("tags"), metadata=message.get("metadata"),
                method="one-click").item()], now)
        return Unsubscribed(already=already)

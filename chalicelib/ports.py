"""Ports more than one capability needs: what services ask of the outside world.

Adapters (``chalicelib/adapters/``, ``chalicelib/carriers/``) implement these; services
import them from here, never an adapter (``tests/unit/test_layout.py`` keeps it so).
A port one service alone needs lives in that service's module.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from chalicelib.carriers.base import Carrier


class Claim(StrEnum):
    """What a conditional claim on an email or a letter found."""

    CLAIMED = "claimed"
    DONE = "done"  # already sent, failed, cancelled, or superseded by a reschedule
    BUSY = "busy"  # another attempt holds the claim, or it is not due yet
    MISSING = "missing"
    UNKNOWN = "unknown"  # an earlier attempt began sending and never said how it ended


class EmailSender(Protocol):
    """Hands a signed message to the provider (SES); returns the provider's message id."""

    def send_raw(self, message_id: str, raw: bytes, sender: str, destinations: list[str],
                 tags: list[dict[str, str]] | None = None) -> str: ...


class CarrierDirectory(Protocol):
    """The carriers this deployment can use (``carriers/registry.py``)."""

    def configured(self) -> list[str]: ...
    def get(self, name: str) -> Carrier: ...
    def choose(self, requested: str, to_country: str, from_country: str) -> str: ...


class LetterStore(Protocol):
    """Letters, their addresses and their timelines (``adapters/letter_store.py``)."""

    def create(self, letter: dict[str, Any], addresses: dict[str, Any], event: dict[str, Any],
               now: datetime, due_keys: dict[str, str] | None) -> None: ...
    def get(self, account_id: str, letter_id: str
            ) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]] | None: ...
    def page(self, account_id: str, limit: int, cursor: str | None
             ) -> tuple[list[dict[str, Any]], str | None]: ...
    def addresses_of(self, account_id: str,
                     letter_ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def claim(self, account_id: str, letter_id: str, now: int, lease_seconds: int) -> Claim: ...
    def release(self, account_id: str, letter_id: str) -> None: ...
    def submitted(self, account_id: str, letter_id: str, carrier: str, tracking_number: str,
                  event: dict[str, Any], now: datetime) -> bool: ...
    def set_fields(self, account_id: str, letter_id: str, fields: dict[str, Any]) -> None: ...
    def finish(self, account_id: str, letter_id: str, status: str, event: dict[str, Any],
               now: datetime, from_status: tuple[str, ...], extra_condition: str = "",
               values: dict[str, Any] | None = None) -> bool: ...
    def tracked(self, carrier: str,
                tracking_number: str | None = None) -> list[dict[str, Any]]: ...
    def record_tracking(self, account_id: str, letter_id: str, events: list[dict[str, Any]],
                        status: str | None, now: datetime,
                        terminal_at: datetime | None = None) -> list[dict[str, Any]]: ...
    def due(self, shard: int, until_iso: str) -> list[dict[str, Any]]: ...
    def enqueued(self, account_id: str, letter_id: str) -> None: ...

"""The recipient's preference page (``/u/{token}``): the account's topics with the
recipient's subscription to each, changed by the recipient; or everything stopped.

The token is the one in every marketing email's List-Unsubscribe link (account, message,
keyed hash of the address), so the page needs no sign-in and reveals no address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.clock import iso
from chalicelib.contacts import ContactService, subscribed_to
from chalicelib.vocabulary import ContactEventType


class Topics(Protocol):
    def all_objects(self, account_id: str, kind: str) -> list[dict[str, Any]]: ...
    def put_contact(self, account_id: str, record: dict[str, Any]) -> None: ...


class Tokens(Protocol):
    def open(self, purpose: str, token: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class TopicChoice:
    topic_id: str
    name: str
    description: str | None
    subscribed: bool


@dataclass(frozen=True)
class Preferences:
    account_id: str
    contact: dict[str, Any]
    topics: list[TopicChoice]


class PreferenceService:
    def __init__(self, tokens: Tokens, contacts: ContactService, store: Topics) -> None:
        self._tokens = tokens
        self._contacts = contacts
        self._store = store

    def view(self, token: str) -> Preferences | None:
        """The recipient's contact and topics, or None (no such contact: plain unsubscribe)."""
        payload = self._tokens.open("unsubscribe", token)
        if payload is None or not payload.get("h"):
            return None
        contact = self._contacts.by_hash(payload["a"], payload["h"])
        if contact is None:
            return None
        topics = sorted(self._store.all_objects(payload["a"], "TOPIC"),
                        key=lambda t: str(t["topic_id"]))
        return Preferences(payload["a"], contact, [
            TopicChoice(t["topic_id"], t["name"], t.get("description"), subscribed_to(contact, t))
            for t in topics])

    def save(self, token: str, chosen: set[str], now: datetime) -> Preferences | None:
        """Subscribed to exactly the ``chosen`` topics (of those the page offered)."""
        found = self.view(token)
        if found is None:
            return None
        choices = {t.topic_id: "opt_in" if t.topic_id in chosen else "opt_out"
                   for t in found.topics if (t.topic_id in chosen) != t.subscribed}
        if choices:
            self._contacts.set_topics(found.account_id, found.contact, choices, now, "form")
        return self.view(token)

    def unsubscribe_all(self, token: str, now: datetime) -> None:
        """The contact (if any) is unsubscribed from everything, with its event."""
        found = self.view(token)
        if found is None or found.contact.get("unsubscribed"):
            return
        record = {**found.contact, "unsubscribed": True, "updated_at": iso(now)}
        self._store.put_contact(found.account_id, record)
        self._contacts.event(found.account_id, ContactEventType.UNSUBSCRIBED, record, now,
                             source="form")

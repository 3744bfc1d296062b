"""Contacts: the people a marketing account writes to, their segments, topic subscriptions
and double opt-in.

A contact is found by id or by address (through a keyed hash of it, so no key carries an
address). Double opt-in keeps a contact ``pending`` until the signed, single-use, expiring
link in its confirmation email is used; the proof (when, how, which key) stays with it.
Every change is a ``contact.*`` event for the account's webhooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from chalicelib.accounts import Principal
from chalicelib.clock import iso
from chalicelib.email_models import SendEmailRequest
from chalicelib.errors import (Conflict, LetterboxError, NotFound, RetryableFailure,
                               ValidationFailed)
from chalicelib.ids import has_prefix, new_id
from chalicelib.marketing_models import (ContactCreate, ContactOut, ContactPage,
                                         ContactSuppression, ContactUpdate, DoubleOptIn,
                                         OptInProof, SubscriptionChange, SubscriptionList,
                                         SubscriptionOut)
from chalicelib.models import SuppressionOut, address_of
from chalicelib.templates import render
from chalicelib.vocabulary import ContactEventType, Event

CONFIRM_DAYS = 7  # a confirmation link works this long, once


class MarketingStore(Protocol):
    def create_contact(self, account_id: str, record: dict[str, Any]) -> bool: ...
    def put_contact(self, account_id: str, record: dict[str, Any]) -> None: ...
    def get_contact(self, account_id: str, contact_id: str) -> dict[str, Any] | None: ...
    def contact_id_for(self, account_id: str, address_hash: str) -> str | None: ...
    def get_contacts(self, account_id: str, contact_ids: list[str]) -> list[dict[str, Any]]: ...
    def contacts_page(self, account_id: str, limit: int, cursor: str | None
                      ) -> tuple[list[dict[str, Any]], str | None]: ...
    def delete_contact(self, account_id: str, record: dict[str, Any]) -> int: ...
    def confirm(self, account_id: str, contact_id: str, nonce: str,
                fields: dict[str, Any]) -> bool: ...
    def get_object(self, account_id: str, kind: str,
                   object_id: str) -> dict[str, Any] | None: ...
    def all_objects(self, account_id: str, kind: str) -> list[dict[str, Any]]: ...
    def add_member(self, account_id: str, segment_id: str, contact_id: str) -> None: ...
    def remove_member(self, account_id: str, segment_id: str, contact_id: str) -> None: ...


class SuppressionLookup(Protocol):
    def entries(self, account_id: str, addresses: list[str]) -> dict[str, SuppressionOut]: ...


class LinkSigner(Protocol):
    def seal(self, purpose: str, payload: dict[str, Any]) -> str: ...
    def open(self, purpose: str, token: str) -> dict[str, Any] | None: ...
    def address_hash(self, account_id: str, address: str) -> str: ...


class EmailQueue(Protocol):
    def queue_email(self, principal: Principal, request: SendEmailRequest,
                    now: datetime) -> BaseModel: ...


class TemplateSource(Protocol):
    def source(self, account_id: str, template_id: str) -> dict[str, Any]: ...


Publish = Callable[[str, list[dict[str, Any]]], None]


def template_contact(record: dict[str, Any]) -> dict[str, Any]:
    """What ``{{ contact.* }}`` sees: absent fields stay undefined, so ``default()`` works."""
    fields = {k: record[k] for k in ("email", "first_name", "last_name")
              if record.get(k) not in (None, "")}
    return {**fields, "id": record["contact_id"],
            "properties": {k: v for k, v in (record.get("properties") or {}).items()
                           if v is not None}}


def subscribed_to(record: dict[str, Any], topic: dict[str, Any]) -> bool:
    choice = (record.get("topics") or {}).get(topic["topic_id"])
    return bool((choice or topic["default"]) == "opt_in")


def contact_out(record: dict[str, Any]) -> ContactOut:
    proof = record.get("opt_in")
    return ContactOut(id=record["contact_id"], email=record["email"],
                      first_name=record.get("first_name"), last_name=record.get("last_name"),
                      properties=record.get("properties") or {},
                      unsubscribed=bool(record.get("unsubscribed")), status=record["status"],
                      state=("unsubscribed" if record.get("unsubscribed")
                             else "pending" if record["status"] == "pending" else "subscribed"),
                      segment_ids=record.get("segment_ids") or [],
                      topics=record.get("topics") or {},
                      opt_in=OptInProof.model_validate(proof) if proof else None,
                      created_at=record["created_at"], updated_at=record["updated_at"])


def with_states(suppressions: SuppressionLookup, account_id: str,
                contacts: list[ContactOut]) -> list[ContactOut]:
    """The contacts with their effective state: ``suppressed`` (and the entry) when the
    address is on the account's suppression list, whatever the subscription says. One
    batched lookup by keyed hash for the lot, never one read per contact."""
    if not contacts:
        return []
    entries = suppressions.entries(account_id, [c.email for c in contacts])
    stated = []
    for contact in contacts:
        entry = entries.get(contact.email)
        # A link-unsubscribe suppresses the address too: for an unsubscribed contact that is
        # the same fact, shown once as "unsubscribed" (as on the dashboard).
        if entry is None or (contact.unsubscribed and entry.reason == "unsubscribe"):
            stated.append(contact)
            continue
        stated.append(contact.model_copy(update={
            "state": "suppressed", "suppressed": ContactSuppression(
                reason=entry.reason, scope=entry.scope, since=entry.created_at)}))
    return stated


class ContactService:
    def __init__(self, store: MarketingStore, links: LinkSigner, emails: EmailQueue,
                 templates: TemplateSource, publish: Publish, base_url: str) -> None:
        self._store = store
        self._links = links
        self._emails = emails
        self._templates = templates
        self._publish = publish
        self._base_url = base_url

    # Contacts

    def create(self, principal: Principal, request: ContactCreate, now: datetime,
               source: str = "api") -> ContactOut:
        record, _ = self.upsert(principal, request, now, source, update_existing=False)
        return contact_out(record)

    def upsert(self, principal: Principal, request: ContactCreate, now: datetime,
               source: str, update_existing: bool = True) -> tuple[dict[str, Any], str]:
        """Create the contact, or (imports) bring an existing one up to date; returns the
        record and ``created``, ``updated`` or ``unchanged``."""
        account_id = principal.account_id
        address = address_of(request.email).lower()
        address_hash = self._links.address_hash(account_id, address)
        segments = [self._segment(account_id, s) for s in request.segment_ids]
        existing_id = self._store.contact_id_for(account_id, address_hash)
        if existing_id is not None:
            if not update_existing:
                raise Conflict(f"a contact with this address exists: {existing_id}",
                               details=[{"field": "email", "contact_id": existing_id}])
            return self._refresh(principal, existing_id, request, segments, now)
        opt_in = request.double_opt_in or next(
            (DoubleOptIn.model_validate(s["double_opt_in"]) for s in segments
             if s.get("double_opt_in")), None)
        record: dict[str, Any] = {
            "contact_id": new_id("ct"), "email": address, "address_hash": address_hash,
            "first_name": request.first_name, "last_name": request.last_name,
            "properties": request.properties, "unsubscribed": request.unsubscribed,
            "status": "pending" if opt_in else "subscribed",
            "segment_ids": [s["segment_id"] for s in segments], "topics": {},
            "opt_in": {"requested_at": iso(now), "source": source, "key_id": principal.key_id,
                       "confirmed_at": None if opt_in else iso(now)},
            "created_at": iso(now), "updated_at": iso(now)}
        if opt_in:
            record["confirm_nonce"] = new_id("cn")
        if not self._store.create_contact(account_id, record):
            raise Conflict("a contact with this address was just created; retry")
        for segment in segments:
            self._store.add_member(account_id, segment["segment_id"], record["contact_id"])
        if opt_in:
            try:
                self._send_confirmation(principal, record, opt_in, now)
            except (LetterboxError, RetryableFailure):
                # No confirmation email, no pending contact: the caller can simply retry.
                self._store.delete_contact(account_id, record)
                raise
        self.event(account_id, ContactEventType.CREATED, record, now, source=source)
        return record, "created"

    def _refresh(self, principal: Principal, contact_id: str, request: ContactCreate,
                 segments: list[dict[str, Any]], now: datetime) -> tuple[dict[str, Any], str]:
        record = self._record(principal.account_id, contact_id)
        changed: dict[str, Any] = {k: v for k, v in (("first_name", request.first_name),
                                     ("last_name", request.last_name)) if v is not None}
        if request.properties:
            changed["properties"] = {**(record.get("properties") or {}), **request.properties}
        if request.unsubscribed:
            changed["unsubscribed"] = True
        new_segments = [s["segment_id"] for s in segments
                        if s["segment_id"] not in record.get("segment_ids", [])]
        if new_segments:
            changed["segment_ids"] = [*record.get("segment_ids", []), *new_segments]
        changed = {k: v for k, v in changed.items() if record.get(k) != v}
        if not changed:
            return record, "unchanged"
        record = {**record, **changed, "updated_at": iso(now)}
        self._store.put_contact(principal.account_id, record)
        for segment_id in new_segments:
            self._store.add_member(principal.account_id, segment_id, contact_id)
        self.event(principal.account_id, ContactEventType.UPDATED, record, now,
                    fields=sorted(changed))
        return record, "updated"

    def get(self, account_id: str, id_or_email: str) -> ContactOut:
        return contact_out(self._find(account_id, id_or_email))

    def update(self, account_id: str, id_or_email: str, request: ContactUpdate,
               now: datetime) -> ContactOut:
        record = self._find(account_id, id_or_email)
        changes = request.model_dump(exclude_unset=True)
        if "properties" in changes:
            merged = {**(record.get("properties") or {}), **(changes["properties"] or {})}
            changes["properties"] = {k: v for k, v in merged.items() if v is not None}
        record = {**record, **changes, "updated_at": iso(now)}
        self._store.put_contact(account_id, record)
        kind = (ContactEventType.UNSUBSCRIBED if changes.get("unsubscribed")
                else ContactEventType.UPDATED)
        self.event(account_id, kind, record, now, fields=sorted(changes), source="api")
        return contact_out(record)

    def delete(self, account_id: str, id_or_email: str, now: datetime) -> str:
        record = self._find(account_id, id_or_email)
        self._store.delete_contact(account_id, record)
        self.event(account_id, ContactEventType.DELETED, record, now)
        return str(record["contact_id"])

    def list(self, account_id: str, limit: int, cursor: str | None,
             segment_id: str | None = None, unsubscribed: bool | None = None,
             status: str | None = None) -> ContactPage:
        """A page of contacts; filters apply within the page (a page may come back short)."""
        records, next_cursor = self._store.contacts_page(account_id, limit, cursor)
        kept = [r for r in records
                if (segment_id is None or segment_id in (r.get("segment_ids") or []))
                and (unsubscribed is None or bool(r.get("unsubscribed")) == unsubscribed)
                and (status is None or r["status"] == status)]
        return ContactPage(data=[contact_out(r) for r in kept],
                           has_more=next_cursor is not None, next_cursor=next_cursor)

    # Topic subscriptions

    def subscriptions(self, account_id: str, id_or_email: str) -> SubscriptionList:
        return self._subscriptions(account_id, self._find(account_id, id_or_email))

    def change_subscriptions(self, account_id: str, id_or_email: str,
                             request: SubscriptionChange, now: datetime,
                             source: str = "api") -> SubscriptionList:
        record = self._find(account_id, id_or_email)
        known = {t["topic_id"] for t in self._store.all_objects(account_id, "TOPIC")}
        unknown = sorted(set(request.topics) - known)
        if unknown:
            raise ValidationFailed(f"no topic {unknown[0]}", details=[{"field": "topics"}])
        record = self.set_topics(account_id, record, request.topics, now, source)
        return self._subscriptions(account_id, record)

    def set_topics(self, account_id: str, record: dict[str, Any], choices: Mapping[str, str],
                   now: datetime, source: str) -> dict[str, Any]:
        topics = {**(record.get("topics") or {}), **choices}
        if topics == (record.get("topics") or {}):
            return record
        record = {**record, "topics": topics, "updated_at": iso(now)}
        self._store.put_contact(account_id, record)
        self.event(account_id, ContactEventType.TOPICS_CHANGED, record, now, topics=choices,
                    source=source)
        return record

    def _subscriptions(self, account_id: str, record: dict[str, Any]) -> SubscriptionList:
        choices = record.get("topics") or {}
        return SubscriptionList(data=[
            SubscriptionOut(topic_id=t["topic_id"], name=t["name"],
                            subscribed=subscribed_to(record, t),
                            explicit=t["topic_id"] in choices)
            for t in sorted(self._store.all_objects(account_id, "TOPIC"),
                            key=lambda t: str(t["topic_id"]))])

    # Double opt-in

    def _send_confirmation(self, principal: Principal, record: dict[str, Any],
                           opt_in: DoubleOptIn, now: datetime) -> None:
        token = self._links.seal("confirm", {
            "a": principal.account_id, "c": record["contact_id"], "n": record["confirm_nonce"],
            "e": int((now + timedelta(days=CONFIRM_DAYS)).timestamp())})
        url = f"{self._base_url}/c/{token}"
        variables = {"contact": template_contact(record), "confirm_url": url}
        if opt_in.template_id:
            source = self._templates.source(principal.account_id, opt_in.template_id)
        else:
            source = {"subject": opt_in.subject,
                      "html": "<p>Please confirm your subscription:</p>"
                              "<p><a href=\"{{ confirm_url }}\">Yes, subscribe me</a></p>",
                      "text": "Please confirm your subscription: {{ confirm_url }}"}
        content = render(source, variables)
        self._emails.queue_email(principal, SendEmailRequest.model_validate({
            "from": opt_in.from_, "to": record["email"], "subject": content.subject,
            "html": content.html, "text": content.text,
            "tags": [{"name": "purpose", "value": "double_opt_in"}],
            "track_opens": False, "track_clicks": False}), now)

    def confirmable(self, token: str, now: datetime) -> dict[str, Any] | None:
        """The pending contact a confirmation link names, if the link is still good."""
        payload = self._links.open("confirm", token)
        if payload is None or int(payload.get("e", 0)) < now.timestamp():
            return None
        record = self._store.get_contact(payload["a"], payload["c"])
        if record is None or record.get("confirm_nonce") != payload.get("n"):
            return None
        return record

    def confirm(self, token: str, now: datetime) -> bool:
        record = self.confirmable(token, now)
        if record is None:
            return False
        proof = {**(record.get("opt_in") or {}), "confirmed_at": iso(now)}
        account_id = str(self._links.open("confirm", token)["a"])  # type: ignore[index]
        if not self._store.confirm(account_id, record["contact_id"], record["confirm_nonce"],
                                   {"status": "subscribed", "opt_in": proof,
                                    "updated_at": iso(now)}):
            return False  # used a moment ago
        self.event(account_id, ContactEventType.CONFIRMED, record, now)
        return True

    # Lookups

    def _segment(self, account_id: str, segment_id: str) -> dict[str, Any]:
        found = (self._store.get_object(account_id, "SEG", segment_id)
                 if has_prefix(segment_id, "seg") else None)
        if found is None:
            raise ValidationFailed(f"no segment {segment_id}", details=[{"field": "segment_ids"}])
        return found

    def _record(self, account_id: str, contact_id: str) -> dict[str, Any]:
        record = (self._store.get_contact(account_id, contact_id)
                  if has_prefix(contact_id, "ct") else None)
        if record is None:  # another account's contact looks exactly like a missing one
            raise NotFound(f"no contact {contact_id}")
        return record

    def _find(self, account_id: str, id_or_email: str) -> dict[str, Any]:
        if "@" not in id_or_email:
            return self._record(account_id, id_or_email)
        found = self._store.contact_id_for(
            account_id, self._links.address_hash(account_id, id_or_email.strip().lower()))
        if found is None:
            raise NotFound("no contact with that address")
        return self._record(account_id, found)

    def export_address(self, account_id: str, address: str) -> dict[str, Any] | None:
        """A recipient's contact with its subscriptions and opt-in proof (privacy export)."""
        found = self._store.contact_id_for(account_id, self._links.address_hash(account_id,
                                                                                address))
        record = self._store.get_contact(account_id, found) if found else None
        return contact_out(record).model_dump(mode="json") if record else None

    def erase_address(self, account_id: str, address: str, now: datetime) -> int:
        """Privacy erasure: the contact, its pointer, memberships and broadcast receipts."""
        found = self._store.contact_id_for(account_id, self._links.address_hash(account_id,
                                                                                address))
        record = self._store.get_contact(account_id, found) if found else None
        if record is None:
            return 0
        self._store.delete_contact(account_id, record)
        return 1

    def by_hash(self, account_id: str, address_hash: str) -> dict[str, Any] | None:
        found = self._store.contact_id_for(account_id, address_hash)
        return self._store.get_contact(account_id, found) if found else None

    def event(self, account_id: str, kind: ContactEventType, record: dict[str, Any],
               now: datetime, **data: Any) -> None:
        self._publish(account_id, [Event.contact(kind, record, now, **data).item()])

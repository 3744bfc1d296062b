"""Customer webhooks: endpoints, Standard Webhooks signatures, fan-out and delivery.

Each event goes to every enabled endpoint whose filter matches, from its own queue, signed
with the endpoint's ``whsec_`` secret (and the previous one for a day after a rotation).
Failed deliveries retry on a fixed schedule over about 27 hours; when the last try fails the
endpoint is disabled (and says why). Every attempt is logged for 30 days.

One POST has one overall deadline (``adapters/webhook_http.py``); an endpoint that runs past
it ``SLOW_STRIKES`` times in a row is disabled, so it cannot keep eating the worker's time.
A delivery that the Lambda has no time left for goes back on the queue untouched, and one
that still reaches the dead-letter queue counts as a failed attempt (retried, then disabled).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel

from chalicelib import resend_mapping
from chalicelib.accounts import Principal
from chalicelib.clock import iso
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import has_prefix, new_id
from chalicelib.vocabulary import SQS_MAX_DELAY as QUEUE_MAX_DELAY
from chalicelib.vocabulary import Event
from chalicelib.webhook_models import (EVENT_TYPES, WebhookAttemptList, WebhookAttemptOut,
                                       WebhookCreate, WebhookDelivery, WebhookList, WebhookOut,
                                       WebhookUpdate, WebhookWithSecret)

# Seconds after a failure before the next try: 8 tries over about 27.6 hours.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
ROTATION_OVERLAP_SECONDS = 24 * 3600
POST_DEADLINE_SECONDS = 10  # one POST, all phases (the poster enforces it)
SLOW_STRIKES = 3  # deliveries in a row past the deadline before the endpoint is disabled
DEADLINE_EXCEEDED = "deadline_exceeded"  # the poster's error for a POST past its deadline
SQS_MAX_DELAY = int(QUEUE_MAX_DELAY.total_seconds())


class Store(Protocol):
    def put(self, account_id: str, record: dict[str, Any]) -> None: ...
    def get(self, account_id: str, webhook_id: str) -> dict[str, Any] | None: ...
    def of_account(self, account_id: str) -> list[dict[str, Any]]: ...
    def delete(self, account_id: str, webhook_id: str) -> None: ...
    def update(self, account_id: str, webhook_id: str,
               fields: dict[str, Any]) -> dict[str, Any] | None: ...
    def log_attempt(self, account_id: str, record: dict[str, Any], now: datetime) -> None: ...
    def attempts(self, account_id: str, webhook_id: str, limit: int) -> list[dict[str, Any]]: ...


class Secrets(Protocol):
    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes: ...
    def decrypt(self, ciphertext: bytes, context: dict[str, str]) -> bytes: ...


class Queue(Protocol):
    def enqueue(self, command: BaseModel, delay_seconds: int = 0) -> str: ...
    def enqueue_many(self, commands: list[tuple[BaseModel, int]]) -> list[str | None]: ...


class PostOutcome(Protocol):
    """One attempt: the HTTP status (None: no answer), what went wrong, how long it took."""

    @property
    def status(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def duration_ms(self) -> int: ...
    @property
    def ok(self) -> bool: ...


class Poster(Protocol):
    """Posts to a customer endpoint; a refused destination is an outcome, not an error."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostOutcome: ...


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: base64 HMAC-SHA256 of ``id.timestamp.body`` under the whsec key."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def payload_for(account_id: str, event: dict[str, Any]) -> dict[str, Any]:
    kind = event["type"] if "." in event["type"] else f"email.{event['type']}"
    subject = ({"letter_id": event["letter_id"], "status": event.get("status")}
               if event.get("letter_id") else {"email_id": event.get("message_id")})
    return {"type": kind, "timestamp": event["timestamp"], "data": {
        "id": event["event_id"], **subject,
        "recipient": event.get("recipient"), "tags": event.get("tags") or [],
        "metadata": event.get("metadata") or {},
        "data": {k: v for k, v in (event.get("data") or {}).items() if k != "raw"}}}


def _context(account_id: str, webhook_id: str) -> dict[str, str]:
    return {"account_id": account_id, "webhook_id": webhook_id, "purpose": "webhook"}


class WebhookService:
    def __init__(self, store: Store, secrets: Secrets, queue: Queue, local_mode: bool,
                 cache_seconds: float = 30,
                 metadata_of: Callable[[str, list[str]], dict[str, dict[str, str]]] | None = None
                 ) -> None:
        self._metadata_of = metadata_of  # for events recorded without it (SES events)
        self._store = store
        self._secrets = secrets
        self._queue = queue
        self._local = local_mode
        self._cache_seconds = cache_seconds
        # Every recorded event asks "who listens?": answered from memory for a few seconds.
        self._listeners: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def _enabled_hooks(self, account_id: str) -> list[dict[str, Any]]:
        cached = self._listeners.get(account_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        hooks = [h for h in self._store.of_account(account_id) if h["status"] == "enabled"]
        self._listeners[account_id] = (time.monotonic() + self._cache_seconds, hooks)
        return hooks

    def _check(self, url: str | None, event_types: list[str] | None) -> None:
        if url is not None:
            self._check_url(url)
        unknown = [t for t in event_types or [] if t != "*" and t not in EVENT_TYPES]
        if unknown:
            raise ValidationFailed(f"unknown event types: {', '.join(unknown)}",
                                   details=[{"field": "event_types"}])

    def _check_url(self, url: str) -> None:
        """https to a public host; local mode also takes http on loopback. Names are
        resolved and checked again at every delivery (adapters/webhook_http.py)."""
        from chalicelib.destinations import host_refusal, is_loopback, literal_address
        try:
            parts = urlsplit(url)
            host, _ = parts.hostname or "", parts.port
        except ValueError as err:
            raise ValidationFailed(f"url is not a valid URL ({err})",
                                   details=[{"field": "url", "message": str(err)}]) from err
        ip = literal_address(host)
        loopback = host.rstrip(".") == "localhost" or (ip is not None and is_loopback(ip))
        if not (parts.scheme == "https" or (self._local and parts.scheme == "http"
                                            and loopback)) or not host:
            raise ValidationFailed("url must be an https URL", details=[{"field": "url"}])
        refusal = host_refusal(host, allow_loopback=self._local)
        if refusal is not None or parts.username or parts.password:
            message = refusal or "the URL must not carry credentials"
            raise ValidationFailed(f"url: {message}",
                                   details=[{"field": "url", "message": message}])

    def _new_secret(self, account_id: str, webhook_id: str) -> tuple[str, bytes]:
        secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        return secret, self._secrets.encrypt(secret.encode(), _context(account_id, webhook_id))

    def create(self, principal: Principal, request: WebhookCreate, now: datetime,
               scheme: Literal["standard", "svix"] = "standard") -> WebhookWithSecret:
        """``scheme`` picks the wire format: Standard Webhooks, or Resend's payloads under
        Svix's headers (endpoints made through ``/resend/webhooks``)."""
        self._check(request.url, request.event_types)
        webhook_id = new_id("wh")
        secret, ciphertext = self._new_secret(principal.account_id, webhook_id)
        record = {"webhook_id": webhook_id, "url": request.url,
                  "event_types": request.event_types, "description": request.description,
                  "status": "enabled", "secret_ciphertext": ciphertext, "created_at": iso(now),
                  "scheme": scheme}
        self._store.put(principal.account_id, record)
        self._listeners.pop(principal.account_id, None)
        return WebhookWithSecret(**self._out(record).model_dump(), secret=secret)

    def _owned(self, principal: Principal, webhook_id: str) -> dict[str, Any]:
        record = (self._store.get(principal.account_id, webhook_id)
                  if has_prefix(webhook_id, "wh") else None)
        if record is None:
            raise NotFound(f"no webhook {webhook_id}")
        return record

    def get(self, principal: Principal, webhook_id: str) -> WebhookOut:
        return self._out(self._owned(principal, webhook_id))

    def list_all(self, principal: Principal) -> WebhookList:
        hooks = self._store.of_account(principal.account_id)
        return WebhookList(data=[self._out(r) for r in hooks])

    def update(self, principal: Principal, webhook_id: str, request: WebhookUpdate
               ) -> WebhookOut:
        self._owned(principal, webhook_id)
        self._check(request.url, request.event_types)
        fields = request.model_dump(exclude_unset=True, exclude={"enabled"})
        if request.enabled is not None:
            fields.update(status="enabled" if request.enabled else "disabled",
                          disabled_reason=None if request.enabled else "disabled by you")
        record = self._store.update(principal.account_id, webhook_id, fields) if fields else None
        self._listeners.pop(principal.account_id, None)
        return self._out(record or self._owned(principal, webhook_id))

    def delete(self, principal: Principal, webhook_id: str) -> None:
        self._owned(principal, webhook_id)
        self._store.delete(principal.account_id, webhook_id)
        self._listeners.pop(principal.account_id, None)

    def rotate_secret(self, principal: Principal, webhook_id: str, now: datetime
                      ) -> WebhookWithSecret:
        """A new secret; the old one still signs (beside it) for a day."""
        record = self._owned(principal, webhook_id)
        secret, ciphertext = self._new_secret(principal.account_id, webhook_id)
        updated = self._store.update(principal.account_id, webhook_id, {
            "secret_ciphertext": ciphertext,
            "previous_secret_ciphertext": record["secret_ciphertext"],
            "previous_until": int(now.timestamp()) + ROTATION_OVERLAP_SECONDS})
        return WebhookWithSecret(**self._out(updated or record).model_dump(), secret=secret)

    def send_test(self, principal: Principal, webhook_id: str, now: datetime) -> WebhookOut:
        record = self._owned(principal, webhook_id)
        event = Event.webhook_test(now)
        self._queue.enqueue(WebhookDelivery(
            account_id=principal.account_id, webhook_id=webhook_id, event_id=event.event_id,
            payload=payload_for(principal.account_id, event.item())))
        return self._out(record)

    def attempts(self, principal: Principal, webhook_id: str) -> WebhookAttemptList:
        self._owned(principal, webhook_id)
        return WebhookAttemptList(data=[WebhookAttemptOut(
            id=a["attempt_id"], event_id=a["event_id"], attempt=a["attempt"],
            status_code=a.get("status_code"), ok=a["ok"], error=a.get("error"),
            duration_ms=a["duration_ms"], timestamp=a["timestamp"])
            for a in self._store.attempts(principal.account_id, webhook_id, 100)])

    def publish(self, account_id: str, events: list[dict[str, Any]]) -> None:
        """Fan events out to the account's matching endpoints (one queue record each)."""
        hooks = self._enabled_hooks(account_id)
        if not hooks:
            return
        missing = [e["message_id"] for e in events
                   if "metadata" not in e and e.get("message_id")]
        if missing and self._metadata_of is not None:  # read only when someone listens
            metadata = self._metadata_of(account_id, missing)
            events = [{**e, "metadata": metadata.get(e.get("message_id") or "", {})}
                      if "metadata" not in e else e for e in events]
        deliveries: list[tuple[BaseModel, int]] = []
        for event in events:
            payload = payload_for(account_id, event)
            deliveries += [(WebhookDelivery(account_id=account_id, webhook_id=h["webhook_id"],
                                            event_id=event["event_id"], payload=payload), 0)
                           for h in hooks
                           if "*" in h["event_types"] or payload["type"] in h["event_types"]]
        if deliveries:
            self._queue.enqueue_many(deliveries)

    @staticmethod
    def _out(record: dict[str, Any]) -> WebhookOut:
        return WebhookOut(id=record["webhook_id"], url=record["url"],
                          event_types=record["event_types"],
                          description=record.get("description"), status=record["status"],
                          disabled_reason=record.get("disabled_reason"),
                          created_at=record["created_at"])


class WebhookDeliverer:
    """The webhook queue's worker: one try per record; retries are scheduled records."""

    def __init__(self, store: Store, secrets: Secrets, queue: Queue, poster: Poster) -> None:
        self._store = store
        self._secrets = secrets
        self._queue = queue
        self._poster = poster

    def _signatures(self, account_id: str, hook: dict[str, Any], message_id: str,
                    timestamp: int, body: bytes) -> str:
        ciphertexts = [hook["secret_ciphertext"]]
        if hook.get("previous_secret_ciphertext") and hook.get("previous_until", 0) > timestamp:
            ciphertexts.append(hook["previous_secret_ciphertext"])
        context = _context(account_id, hook["webhook_id"])
        return " ".join(sign(self._secrets.decrypt(bytes(c), context).decode(), message_id,
                             timestamp, body) for c in ciphertexts)

    def deliver(self, delivery: WebhookDelivery, now: datetime,
                seconds_left: Callable[[], float] | None = None) -> str:
        wait = delivery.due_at - int(now.timestamp())
        if wait > 0:  # SQS delays reach 15 minutes; longer waits hop
            self._queue.enqueue(delivery, min(wait, SQS_MAX_DELAY))
            return "waiting"
        if seconds_left is not None and seconds_left() < POST_DEADLINE_SECONDS + 2:
            self._queue.enqueue(delivery)  # this Lambda could not finish it: another will
            return "deferred"
        hook = self._store.get(delivery.account_id, delivery.webhook_id)
        if hook is None or hook["status"] != "enabled":
            return "dropped"
        svix = hook.get("scheme") == "svix"
        payload = resend_mapping.webhook_payload(delivery.payload) if svix else delivery.payload
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = int(time.time())
        prefix = "svix" if svix else "webhook"  # Svix signs exactly as Standard Webhooks does
        headers = {f"{prefix}-id": delivery.event_id, f"{prefix}-timestamp": str(timestamp),
                   f"{prefix}-signature": self._signatures(delivery.account_id, hook,
                                                           delivery.event_id, timestamp, body)}
        result = self._poster.post(hook["url"], body, headers)
        self._store.log_attempt(delivery.account_id, {
            "attempt_id": new_id("wha"), "webhook_id": delivery.webhook_id,
            "event_id": delivery.event_id, "attempt": delivery.attempt,
            "status_code": result.status, "ok": result.ok, "error": result.error,
            "duration_ms": result.duration_ms, "timestamp": iso(now)}, now)
        if result.ok:
            if hook.get("slow_strikes"):
                self._store.update(delivery.account_id, delivery.webhook_id, {"slow_strikes": 0})
            return "delivered"
        if result.error == DEADLINE_EXCEEDED and self._too_slow(delivery, hook):
            return "disabled"
        return self._failed(delivery, now)

    def _too_slow(self, delivery: WebhookDelivery, hook: dict[str, Any]) -> bool:
        strikes = int(hook.get("slow_strikes", 0)) + 1
        fields: dict[str, Any] = {"slow_strikes": strikes}
        if strikes >= SLOW_STRIKES:
            fields.update(status="disabled", disabled_reason=(
                f"{strikes} deliveries in a row took longer than {POST_DEADLINE_SECONDS} s"))
        self._store.update(delivery.account_id, delivery.webhook_id, fields)
        return strikes >= SLOW_STRIKES

    def dead_lettered(self, delivery: WebhookDelivery, now: datetime) -> str:
        """A delivery that never completed (its Lambda died or timed out each time): a
        failed attempt like any other, so it is retried on schedule, then disables."""
        self._store.log_attempt(delivery.account_id, {
            "attempt_id": new_id("wha"), "webhook_id": delivery.webhook_id,
            "event_id": delivery.event_id, "attempt": delivery.attempt, "status_code": None,
            "ok": False, "error": "never_completed", "duration_ms": 0,
            "timestamp": iso(now)}, now)
        hook = self._store.get(delivery.account_id, delivery.webhook_id)
        if hook is None or hook["status"] != "enabled":
            return "dropped"
        return self._failed(delivery, now)

    def _failed(self, delivery: WebhookDelivery, now: datetime) -> str:
        if delivery.attempt > len(RETRY_SCHEDULE):
            self._store.update(delivery.account_id, delivery.webhook_id, {
                "status": "disabled",
                "disabled_reason": f"{delivery.attempt} failed deliveries of {delivery.event_id}"})
            return "disabled"
        delay = RETRY_SCHEDULE[delivery.attempt - 1]
        self._queue.enqueue(delivery.model_copy(update={
            "attempt": delivery.attempt + 1, "due_at": int(now.timestamp()) + delay}),
            min(delay, SQS_MAX_DELAY))
        return "retrying"

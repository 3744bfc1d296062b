"""Fan-out asks the store who listens once per few seconds, not once per event."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.accounts import Principal
from chalicelib.webhook_models import WebhookCreate
from chalicelib.webhooks import WebhookService


class Store:
    def __init__(self) -> None:
        self.hooks: list[dict] = []
        self.queries = 0

    def of_account(self, account_id):
        self.queries += 1
        return list(self.hooks)

    def put(self, account_id, record):
        self.hooks.append(record)


class Secrets:
    def encrypt(self, plaintext, context):
        return b"x" + plaintext


class Queue:
    def __init__(self) -> None:
        self.sent: list = []

    def enqueue_many(self, commands):
        self.sent += commands
        return ["id"] * len(commands)


EVENT = {"event_id": "evt_1", "type": "sent", "timestamp": "2026-01-01T00:00:00Z",
         "message_id": "em_1"}


def test_listeners_are_cached_and_a_new_endpoint_is_seen_at_once() -> None:
    store, queue = Store(), Queue()
    service = WebhookService(store, Secrets(), queue, local_mode=True)
    service.publish("acct_1", [EVENT])
    service.publish("acct_1", [EVENT])
    assert store.queries == 1 and queue.sent == []
    principal = Principal(account_id="acct_1", key_id="key_1", scope="full")
    service.create(principal, WebhookCreate(url="https://hooks.example.com/x"),
                   datetime.now(UTC))
    service.publish("acct_1", [EVENT])
    assert store.queries == 2, "creating an endpoint drops the cached answer"
    (delivery, _), = queue.sent
    assert delivery.payload["type"] == "email.sent"

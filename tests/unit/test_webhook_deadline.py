"""One slow webhook endpoint cannot hold the delivery Lambda (issue 14 item 14)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.webhook_http import PinnedPoster, PostResult
from chalicelib.webhook_models import WebhookDelivery
from chalicelib.webhooks import POST_DEADLINE_SECONDS, SLOW_STRIKES, WebhookDeliverer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def trickler() -> Any:
    """A loopback endpoint that accepts, then sends its status line one byte every 0.3 s
    (each byte well inside any socket timeout) for up to 20 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
            if stop.wait(0.3):
                break
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
        conn.close()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    server.close()


def test_trickled_headers_hit_one_overall_deadline(trickler: str) -> None:
    """Bug caught: a per-socket-operation timeout, which every trickled byte restarts, so an
    endpoint sending its headers slowly holds the delivery Lambda until it times out."""
    started = time.monotonic()
    result = PinnedPoster(allow_loopback_http=True, timeout=1.5).post(trickler, b"{}", {})
    elapsed = time.monotonic() - started
    assert result.status is None and result.error == "deadline_exceeded"
    assert elapsed < 3, f"took {elapsed:.1f}s for a 1.5s deadline"


class Store:
    def __init__(self) -> None:
        self.hook: dict[str, Any] = {"webhook_id": "wh_1", "url": "https://h.example/x",
                                     "status": "enabled", "secret_ciphertext": b"c"}
        self.attempts: list[dict[str, Any]] = []

    def get(self, account_id: str, webhook_id: str) -> dict[str, Any]:
        return self.hook

    def update(self, account_id: str, webhook_id: str, fields: dict[str, Any]) -> None:
        self.hook.update(fields)

    def log_attempt(self, account_id: str, record: dict[str, Any], now: datetime) -> None:
        self.attempts.append(record)


class Secrets:
    def decrypt(self, ciphertext: bytes, context: dict[str, str]) -> bytes:
        return b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[WebhookDelivery, int]] = []

    def enqueue(self, command: WebhookDelivery, delay_seconds: int = 0) -> str:
        self.sent.append((command, delay_seconds))
        return "id"


class SlowPoster:
    def __init__(self) -> None:
        self.posts = 0

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        self.posts += 1
        return PostResult(None, "deadline_exceeded", POST_DEADLINE_SECONDS * 1000)


DELIVERY = WebhookDelivery(account_id="acct_1", webhook_id="wh_1", event_id="evt_1",
                           payload={"type": "email.sent"})


def _deliverer(store: Store, queue: Queue, poster: SlowPoster) -> WebhookDeliverer:
    return WebhookDeliverer(store, Secrets(), queue, poster)  # type: ignore[arg-type]


def test_an_endpoint_past_the_deadline_again_and_again_is_disabled() -> None:
    """Bug caught: a blackholed or trickling endpoint retried for 27 hours, costing a full
    deadline of every delivery Lambda that meets it."""
    store, queue, poster = Store(), Queue(), SlowPoster()
    outcomes = [_deliverer(store, queue, poster).deliver(DELIVERY, NOW)
                for _ in range(SLOW_STRIKES)]
    assert outcomes == ["retrying"] * (SLOW_STRIKES - 1) + ["disabled"]
    assert store.hook["status"] == "disabled" and "longer than" in store.hook["disabled_reason"]


def test_no_time_left_puts_the_delivery_back_untried() -> None:
    """Bug caught: deliveries started with less time left than a POST can take, so the Lambda
    times out and the rest of the batch goes to the dead-letter queue."""
    store, queue, poster = Store(), Queue(), SlowPoster()
    outcome = _deliverer(store, queue, poster).deliver(DELIVERY, NOW, lambda: 5.0)
    assert outcome == "deferred" and poster.posts == 0
    assert queue.sent == [(DELIVERY, 0)] and store.attempts == []


def test_a_dead_lettered_delivery_is_a_failed_attempt_and_retried() -> None:
    """Bug caught: deliveries in the webhook dead-letter queue that nobody reads (lost)."""
    store, queue, poster = Store(), Queue(), SlowPoster()
    assert _deliverer(store, queue, poster).dead_lettered(DELIVERY, NOW) == "retrying"
    (attempt,) = store.attempts
    assert attempt["ok"] is False and attempt["error"] == "never_completed"
    ((retry, _),) = queue.sent
    assert retry.attempt == 2 and retry.due_at > NOW.timestamp()

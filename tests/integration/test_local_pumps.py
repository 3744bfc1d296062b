"""Local mode pumps every queue the deployed stack consumes (issue 14 item 14's leftover)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

from chalice.app import SQSEventConfig

from letterbox.local.devserver import start_background
from letterbox.local.provision import consumed_queues, load_template, sqs_consumers


def test_local_mode_pumps_exactly_the_queues_the_app_consumes() -> None:
    """Bug caught: a handler app.py registers (a dead-letter consumer added later) that
    `make dev` never feeds, so its queue fills up locally and nobody notices."""
    import app as app_module
    registered = {s.name for s in app_module.app.event_sources if isinstance(s, SQSEventConfig)}
    pumped = sqs_consumers(load_template())
    assert pumped.keys() == registered
    assert {"webhook_dead_letters", "ses_event_dead_letters",
            "marketing_dead_letters", "ingest_ses_events"} <= pumped.keys()


def test_a_message_on_each_dead_letter_queue_is_consumed_in_local_mode(stack) -> None:
    """Bug caught: the webhook, SES-events and marketing dead-letter queues were not pumped
    by the local runner, so what landed there sat unread until SQS dropped it."""
    urls = consumed_queues(stack.session, "letterbox-test")
    seen: dict[str, list[str]] = {}
    lock = threading.Lock()

    def recorder(name: str) -> Any:
        def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with lock:
                seen.setdefault(name, []).extend(r["body"] for r in event["Records"])
            return {"batchItemFailures": []}
        return handle

    fake_app = SimpleNamespace(**{name: recorder(name) for name in urls},
                               poll_letter_tracking=lambda *_: None,
                               sweep_scheduled=lambda *_: None, purge_expired=lambda *_: None)
    sqs = stack.client("sqs")
    for name, url in urls.items():
        sqs.send_message(QueueUrl=url, MessageBody=f"for {name}")
    stop = threading.Event()
    threads = start_background(fake_app, stack.session, "letterbox-test", stop)
    try:
        deadline = time.monotonic() + 20
        while len(seen) < len(urls) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    assert seen == {name: [f"for {name}"] for name in urls}
    for dead in ("webhook_dead_letters", "ses_event_dead_letters", "marketing_dead_letters",
                 "send_dead_letters", "letter_dead_letters"):
        attributes = sqs.get_queue_attributes(QueueUrl=urls[dead],
                                              AttributeNames=["ApproximateNumberOfMessages"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0", dead

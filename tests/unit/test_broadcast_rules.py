"""Broadcast rules without AWS: the rate between chunks, who is eligible, and how events
move a recipient's own marker."""

from __future__ import annotations

from typing import Any

from chalicelib.broadcast_sender import _ineligible, chunk_delay
from chalicelib.broadcasts import BroadcastService

TOPIC = {"topic_id": "top_1", "default": "opt_in"}


def test_chunks_keep_to_the_rate() -> None:
    """Catches: chunks queued back to back whatever rate_per_minute says."""
    assert chunk_delay(100, 600) == 10
    assert chunk_delay(60, 60) == 60
    assert chunk_delay(100, 60000) == 0
    assert chunk_delay(100, 1) == 900, "SQS delays 15 minutes at most"


def test_only_subscribed_confirmed_unsuppressed_topic_members_are_eligible() -> None:
    """Catches: mail to unsubscribed, pending, topic-opted-out or suppressed contacts."""
    base = {"status": "subscribed", "unsubscribed": False, "topics": {}}
    assert _ineligible(base, TOPIC, False) is None
    assert _ineligible({**base, "unsubscribed": True}, TOPIC, False) == ("skipped",
                                                                         "unsubscribed")
    assert _ineligible({**base, "status": "pending"}, TOPIC, False)[1] == \
        "pending_confirmation"
    assert _ineligible({**base, "topics": {"top_1": "opt_out"}}, TOPIC, False)[1] == \
        "topic_opt_out"
    assert _ineligible(base, {**TOPIC, "default": "opt_out"}, False)[1] == "topic_opt_out"
    assert _ineligible({**base, "topics": {"top_1": "opt_in"}},
                       {**TOPIC, "default": "opt_out"}, False) is None
    assert _ineligible(base, None, True) == ("suppressed", "suppressed")


class Markers:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def recipient_event(self, *args: Any) -> None:
        self.calls.append(args)


def test_events_move_only_their_own_recipients_marker() -> None:
    """Catches: stats fed from untagged mail, or a shared per-broadcast counter."""
    store = Markers()
    service = BroadcastService(store, None, None)  # type: ignore[arg-type]
    tags = [{"name": "broadcast", "value": "bc_1"}, {"name": "contact", "value": "ct_1"}]
    service.observe("acct", [
        {"type": "delivered", "tags": tags},
        {"type": "clicked", "tags": tags, "data": {"url": "https://x.example/a"}},
        {"type": "queued", "tags": tags},
        {"type": "delivered", "tags": []},
    ])
    assert [c[:4] for c in store.calls] == [("acct", "bc_1", "ct_1", "delivered"),
                                            ("acct", "bc_1", "ct_1", None)]
    assert store.calls[1][5] == "https://x.example/a"

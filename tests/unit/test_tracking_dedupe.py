"""Repeated pixel and click hits are one event a minute (issue 14 item 19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.tokens import TokenSigner
from chalicelib.tracking.opens_clicks import Hit, TrackingService
from chalicelib.vocabulary import EmailEventType, Event
from tests.fakes import FakeMessageStore

NOW = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)
HIT = Hit(user_agent="Thunderbird", country=None)


def _setup() -> tuple[FakeMessageStore, TrackingService, str, str]:
    messages = FakeMessageStore()
    messages.create({"account_id": "acc", "message_id": "em_1", "status": "sent",
                     "to": ["ana@example.net"]},
                    Event.email("em_1", EmailEventType.SENT, NOW).item(), NOW)
    tokens = TokenSigner(lambda: b"secret")
    service = TrackingService(tokens, messages, "https://t.example")
    html = service.instrument('<a href="https://example.com/a">a</a>', "acc", "em_1",
                              ["ana@example.net"], opens=True, clicks=True)
    click = html.split("/t/c/")[1].split('"')[0]
    pixel = html.split("/t/o/")[1].split('"')[0]
    return messages, service, click, pixel


def _types(messages: FakeMessageStore) -> list[str]:
    return [e["type"] for e in messages.events[("acc", "em_1")]]


def test_a_loop_on_one_url_is_one_event_a_minute() -> None:
    """Bug caught: every pixel or click hit writing an event, a counter and a webhook, so a
    scanner or a loop on one URL inflates open/click rates and floods customer webhooks."""
    messages, service, click, pixel = _setup()
    for second in range(50):
        at = NOW + timedelta(seconds=second)
        assert service.clicked(click, HIT, at) == "https://example.com/a"
        service.opened(pixel, HIT, at)
    assert _types(messages).count("clicked") == 1 and _types(messages).count("opened") == 1
    later = NOW + timedelta(minutes=2)
    service.clicked(click, HIT, later)
    service.opened(pixel, HIT, later)
    assert _types(messages).count("clicked") == 2, "a click minutes later still counts"
    assert _types(messages).count("opened") == 2

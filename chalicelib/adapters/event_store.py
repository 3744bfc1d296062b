"""What every store that records events shares (``EventStore``), and the daily counters an
event adds to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from chalicelib.adapters.dynamo import DynamoTable
from chalicelib.observability import logger


class DailyCounts(Protocol):
    def add(self, account_id: str, counts: Mapping[str, int], at: datetime) -> None: ...


def stat_name(event: dict[str, Any]) -> str:
    """The daily counter an event adds to (privacy-proxy opens are counted apart)."""
    if event["type"] == "opened" and (event.get("data") or {}).get("machine_open"):
        return "machine_opened"
    return str(event["type"])


def stat_counts(event: dict[str, Any]) -> dict[str, int]:
    """Every daily counter an event adds to. Account protection reads two of them: a send
    counts its recipients, and permanent bounces are counted apart from transient ones."""
    counts = {stat_name(event): 1}
    data = event.get("data") or {}
    if event["type"] == "sent":
        counts["recipients_sent"] = int(data.get("recipients") or 1)
    elif event["type"] == "bounced" and data.get("bounce_type") == "permanent":
        counts["bounced_permanent"] = 1
    return counts


def tally(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        for name, count in stat_counts(event).items():
            counts[name] = counts.get(name, 0) + count
    return counts


class EventStore:
    """What every store that records events shares: the account's retention period for
    them, the daily counters they add to, and the fan-out to webhooks."""

    def __init__(self, table: DynamoTable, counters: DailyCounts | None = None,
                 on_events: Callable[[str, list[dict[str, Any]]], None] | None = None,
                 retention_days: Callable[[str], int | None] = lambda account_id: None
                 ) -> None:
        self._table = table
        self._counters = counters
        self._on_events = on_events
        self._days = retention_days  # the account's own period for engagement events

    def _published(self, account_id: str, events: list[dict[str, Any]]) -> None:
        """Recorded events go on to the customer's webhooks; a failure there loses no event."""
        if self._on_events is None or not events:
            return
        try:
            self._on_events(account_id, events)
        except Exception:  # the event is stored; only its push is lost, and that is logged
            logger.exception("webhook fan-out failed", extra={"events": len(events)})

    def _count(self, account_id: str, counts: Mapping[str, int], at: datetime) -> None:
        """After the event is stored: a failure here loses a count, never an event (the
        retry sees the event and stops), so stats can only undercount, and say so."""
        if self._counters is None or not counts:
            return
        try:
            self._counters.add(account_id, counts, at)
        except Exception:
            logger.exception("stats_not_counted", extra={"counts": sum(counts.values())})

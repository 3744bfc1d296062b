"""What customers read all day: the message log, the event stream and daily statistics.

Stats come from per-day counters that each event adds to, write-sharded and summed on read
(``adapters/counter_store.py``); they hold no addresses. The listings are sharded by a few
bits of the id and merged on read (``adapters/message_store.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.accounts import Principal
from chalicelib.errors import ValidationFailed
from chalicelib.ids import id_bound
from chalicelib.log_models import EmailPage, EmailSummary, EventPage, EventRecord, Stats, StatsDay
from chalicelib.models import address_of

RATES = {"delivery_rate": ("delivered", "sent"), "bounce_rate": ("bounced", "sent"),
         "complaint_rate": ("complained", "sent"), "open_rate": ("opened", "delivered"),
         "click_rate": ("clicked", "delivered")}
MAX_STATS_DAYS = 366


class Index(Protocol):
    def listing_page(self, kind: str, account_id: str, low: str, high: str, limit: int,
                     cursor: str | None, filters: dict[str, tuple[str, Any]] | None = None
                     ) -> tuple[list[dict[str, Any]], str | None]: ...


class DailyStats(Protocol):
    def days(self, account_id: str, first: date, last: date) -> dict[str, dict[str, int]]: ...


def _moment(value: str | None, field: str, default: datetime) -> datetime:
    if not value:
        return default
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValidationFailed(f"{field} must be an RFC 3339 time",
                               details=[{"field": field}]) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bounds(prefix: str, since: str | None, until: str | None) -> tuple[str, str]:
    start = _moment(since, "from", datetime(1970, 1, 1, tzinfo=UTC))
    end = _moment(until, "to", datetime(9999, 1, 1, tzinfo=UTC))
    return (id_bound(prefix, int(start.timestamp() * 1000), upper=False),
            id_bound(prefix, int(end.timestamp() * 1000), upper=True))


def rates(counts: dict[str, int]) -> dict[str, float | None]:
    return {name: (round(counts.get(top, 0) / counts[bottom], 4) if counts.get(bottom) else None)
            for name, (top, bottom) in RATES.items()}


class LogService:
    def __init__(self, index: Index, counters: DailyStats,
                 metadata_of: Callable[[str, list[str]], dict[str, dict[str, str]]]) -> None:
        self._index = index
        self._counters = counters
        self._metadata_of = metadata_of

    def emails(self, principal: Principal, limit: int, cursor: str | None,
               query: dict[str, str | None]) -> EmailPage:
        filters: dict[str, tuple[str, Any]] = {}
        if query.get("status"):
            filters["status"] = ("=", query["status"])
        if query.get("recipient"):
            filters["recipients"] = ("contains", address_of(query["recipient"] or "").lower())
        if query.get("tag"):
            filters["tag_keys"] = ("contains", query["tag"])
        low, high = _bounds("em", query.get("from"), query.get("to"))
        items, next_cursor = self._index.listing_page("EMAILS", principal.account_id, low,
                                                      high, limit, cursor, filters)
        return EmailPage(data=[EmailSummary.model_validate({
            "id": i["message_id"], "from": i["from"], "to": i.get("to") or [],
            "subject": i.get("subject"), "status": i["status"],
            "stream": i.get("stream", "transactional"), "tags": i.get("tags") or [],
            "created_at": i["created_at"], "updated_at": i["updated_at"]}) for i in items],
            has_more=next_cursor is not None, next_cursor=next_cursor)

    def events(self, principal: Principal, limit: int, cursor: str | None,
               query: dict[str, str | None]) -> EventPage:
        filters: dict[str, tuple[str, Any]] = {}
        if query.get("type"):
            filters["type"] = ("=", query["type"])
        if query.get("email_id"):
            filters["message_id"] = ("=", query["email_id"])
        low, high = _bounds("evt", query.get("from"), query.get("to"))
        items, next_cursor = self._index.listing_page("EVENTS", principal.account_id, low,
                                                      high, limit, cursor, filters)
        missing = [i["message_id"] for i in items if "metadata" not in i and i.get("message_id")]
        if missing:  # SES events are stored without it: one read for the page
            metadata = self._metadata_of(principal.account_id, missing)
            items = [{**i, "metadata": metadata.get(i.get("message_id") or "", {})}
                     if "metadata" not in i else i for i in items]
        return EventPage(data=[EventRecord(
            id=i["event_id"], email_id=i.get("message_id"), type=i["type"],
            timestamp=i["timestamp"], recipient=i.get("recipient"), tags=i.get("tags") or [],
            metadata=i.get("metadata") or {}, data=i.get("data") or {}) for i in items],
            has_more=next_cursor is not None, next_cursor=next_cursor)

    def daily_counts(self, account_id: str, first: date, last: date) -> list[StatsDay]:
        return [StatsDay(date=day, counts=counts)
                for day, counts in self._counters.days(account_id, first, last).items()]

    def stats(self, principal: Principal, since: str | None, until: str | None,
              today: date) -> Stats:
        try:
            last = date.fromisoformat(until) if until else today
            first = date.fromisoformat(since) if since else last - timedelta(days=29)
        except ValueError as err:
            raise ValidationFailed("from and to are dates (YYYY-MM-DD)",
                                   details=[{"field": "from"}]) from err
        if first > last or (last - first).days >= MAX_STATS_DAYS:
            raise ValidationFailed(f"from must not be after to, and at most {MAX_STATS_DAYS} "
                                   "days apart", details=[{"field": "from"}])
        days = self.daily_counts(principal.account_id, first, last)
        totals: dict[str, int] = {}
        for day in days:
            for name, count in day.counts.items():
                totals[name] = totals.get(name, 0) + count
        return Stats.model_validate({"from": first.isoformat(), "to": last.isoformat(),
                                     "days": days, "totals": totals, "rates": rates(totals)})

"""First-party dashboard analytics, only after consent: one item per page view (no IP, no
hot counter), aggregated per day when read."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.clock import iso
from chalicelib.dashboard.consent import Consent
from chalicelib.errors import ValidationFailed

_ID_SEGMENT = re.compile(r"^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$")
_RANDOM_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def page_of(path: str) -> str:
    """The page, never an object id or a query (tokens ride in queries)."""
    bare = urlsplit(path).path
    if not bare.startswith("/dashboard"):
        raise ValidationFailed("path: only dashboard pages are counted",
                               details=[{"field": "path"}])
    parts = ["{id}" if _ID_SEGMENT.match(p) else p for p in bare.split("/")]
    return "/".join(parts)[:200]


def _random_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _RANDOM_ID.match(value):
        raise ValidationFailed(f"{name}: expected a random id", details=[{"field": name}])
    return value


class AnalyticsService:
    def __init__(self, store: Any) -> None:
        self._store = store

    def record(self, consent: Consent, event: dict[str, Any], now: datetime) -> bool:
        """Store a page view if analytics consent is given; False (nothing kept) otherwise."""
        if not consent.allows("analytics"):
            return False
        view = {"page": page_of(str(event.get("path", ""))), "at": iso(now),
                "visitor": _random_id(event.get("visitor_id"), "visitor_id"),
                "visit": _random_id(event.get("session_id"), "session_id")}
        self._store.put_page_view(view, now)
        touch = event.get("first_touch")
        if consent.allows("marketing") and isinstance(touch, dict) and event.get("new_visitor"):
            referrer = urlsplit(str(touch.get("referrer", ""))).hostname or ""
            self._store.put_attribution({"referrer_host": referrer[:100], "at": iso(now), **{
                k: str(touch[k])[:100] for k in UTM if touch.get(k)}}, now)
        return True

    def daily(self, day: str) -> dict[str, Any]:
        views = self._store.day_items("PAGEVIEW", day)
        touches = self._store.day_items("ATTRIBUTION", day)
        return {"day": day, "page_views": len(views),
                "visitors": len({v["visitor"] for v in views}),
                "visits": len({v["visit"] for v in views}),
                "by_page": dict(Counter(v["page"] for v in views).most_common()),
                "first_touches": dict(Counter(t.get("referrer_host") or "(direct)"
                                              for t in touches).most_common()),
                "utm_sources": dict(Counter(t["utm_source"] for t in touches
                                            if t.get("utm_source")).most_common())}

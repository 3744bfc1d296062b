"""Operator notices (policy changes and the like), shown until each user dismisses them."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.clock import iso
from chalicelib.errors import ValidationFailed
from chalicelib.ids import new_id

ADVANCE = timedelta(days=14)  # policy changes are announced at least this long before


class NoticeService:
    """Every signed-in page shows notices: they are read once a minute per warm Lambda, so
    the notices partition never becomes a hot read."""

    def __init__(self, store: Any, ttl_seconds: float = 60) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._cached: tuple[float, list[dict[str, Any]]] | None = None

    def post(self, title: str, body: str, effective: date | None,
             now: datetime) -> dict[str, Any]:
        if not title.strip() or not body.strip() or len(title) > 200 or len(body) > 4000:
            raise ValidationFailed("a notice needs a title (≤200) and a body (≤4000)")
        notice = {"notice_id": new_id("ntc"), "title": title.strip(), "body": body.strip(),
                  "effective": effective.isoformat() if effective else None,
                  "posted_at": iso(now)}
        self._store.put_notice(notice, now)
        self._cached = None
        short = effective is not None and effective < (now + ADVANCE).date()
        return {**notice, "warning": "effective in under 14 days" if short else None}

    def active_for(self, dismissed: frozenset[str]) -> list[dict[str, Any]]:
        return [n for n in self.all() if n["notice_id"] not in dismissed]

    def all(self) -> list[dict[str, Any]]:
        if self._cached is None or time.monotonic() - self._cached[0] > self._ttl:
            self._cached = (time.monotonic(), list(self._store.notices()))
        return list(self._cached[1])

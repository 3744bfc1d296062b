"""Operator notices (policy changes and the like), shown until each user dismisses them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.clock import iso
from chalicelib.errors import ValidationFailed
from chalicelib.ids import new_id

ADVANCE = timedelta(days=14)  # policy changes are announced at least this long before


class NoticeService:
    def __init__(self, store: Any) -> None:
        self._store = store

    def post(self, title: str, body: str, effective: date | None,
             now: datetime) -> dict[str, Any]:
        if not title.strip() or not body.strip() or len(title) > 200 or len(body) > 4000:
            raise ValidationFailed("a notice needs a title (≤200) and a body (≤4000)")
        notice = {"notice_id": new_id("ntc"), "title": title.strip(), "body": body.strip(),
                  "effective": effective.isoformat() if effective else None,
                  "posted_at": iso(now)}
        self._store.put_notice(notice, now)
        short = effective is not None and effective < (now + ADVANCE).date()
        return {**notice, "warning": "effective in under 14 days" if short else None}

    def active_for(self, dismissed: frozenset[str]) -> list[dict[str, Any]]:
        return [n for n in self._store.notices() if n["notice_id"] not in dismissed]

    def all(self) -> list[dict[str, Any]]:
        return list(self._store.notices())

"""Account protection: pause an account's sending before SES would put the whole AWS account
under review (5 % bounces, 0.1 % complaints over 7 days, above a minimum volume)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.log_models import StatsDay
from chalicelib.observability import logger, metrics
from chalicelib.vocabulary import EmailEventType, Event


class DailyCounts(Protocol):
    def daily_counts(self, account_id: str, first: date, last: date) -> list[StatsDay]: ...


class Pauser(Protocol):
    def pause_account(self, account_id: str, reason: str, event: dict[str, Any],
                      now: datetime) -> bool: ...


class AccountProtection:
    def __init__(self, counts: DailyCounts, accounts: Pauser, min_volume: int,
                 bounce_rate: float, complaint_rate: float,
                 on_paused: list[Callable[[str], None]] | None = None) -> None:
        self._on_paused = on_paused or []  # SMTP credentials stop working too
        self._counts = counts
        self._accounts = accounts
        self._min_volume = min_volume
        self._bounce_rate = bounce_rate
        self._complaint_rate = complaint_rate

    def __call__(self, account_id: str, event: dict[str, Any], now: datetime) -> None:
        if event["type"] not in (EmailEventType.BOUNCED, EmailEventType.COMPLAINED):
            return
        today = now.date()
        totals: dict[str, int] = {}
        for day in self._counts.daily_counts(account_id, today - timedelta(days=6), today):
            for name, count in day.counts.items():
                totals[name] = totals.get(name, 0) + count
        # Per recipient, as SES counts: bounces and complaints are per recipient, so the sends
        # are too (a 50-recipient email is 50 sends), and only permanent bounces count.
        # Days counted before recipients were may lack it: a send has at least one recipient.
        sent = max(totals.get("recipients_sent", 0), totals.get("sent", 0))
        if sent < self._min_volume:
            return
        bounce = totals.get("bounced_permanent", 0) / sent
        complaint = totals.get("complained", 0) / sent
        if bounce < self._bounce_rate and complaint < self._complaint_rate:
            return
        reason = (f"7-day bounce rate {bounce:.2%}, complaint rate {complaint:.3%} "
                  f"over {sent} recipients")
        paused = Event.account_paused(now, reason=reason, bounce_rate=round(bounce, 4),
                                      complaint_rate=round(complaint, 5), sent=sent).item()
        if self._accounts.pause_account(account_id, reason, paused, now):
            logger.warning("account sending paused", extra={"account_id": account_id,
                                                            "reason": reason})
            metrics.add_metric(name="accounts_paused", unit="Count", value=1)
            for hook in self._on_paused:
                hook(account_id)

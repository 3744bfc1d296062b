"""Account protection's rates are per recipient and count permanent bounces only (issue 14
item 23)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from chalicelib.adapters.event_store import stat_counts
from chalicelib.log_models import StatsDay
from chalicelib.tracking.protection import AccountProtection
from chalicelib.vocabulary import EmailEventType, Event

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Counts:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def daily_counts(self, account_id: str, first: date, last: date) -> list[StatsDay]:
        return [StatsDay(date=str(last), counts=self.counts)]


class Pauser:
    def __init__(self) -> None:
        self.paused: list[str] = []

    def pause_account(self, account_id: str, reason: str, event: dict[str, Any],
                      now: datetime) -> bool:
        self.paused.append(account_id)
        return True


def _protect(counts: dict[str, int]) -> list[str]:
    pauser = Pauser()
    AccountProtection(Counts(counts), pauser, 200, 0.05, 0.001)(
        "acc", {"type": "bounced"}, NOW)
    return pauser.paused


def test_fifty_recipient_emails_are_fifty_sends() -> None:
    """Bug caught: per-recipient bounces (transient ones too) divided by per-message sends, so
    ten 50-recipient newsletters with one hard bounce and a few full mailboxes (a true rate of
    0.2 %) pause the account."""
    assert _protect({"sent": 300, "recipients_sent": 15_000, "bounced": 40,
                     "bounced_permanent": 30}) == []


def test_a_true_high_permanent_bounce_rate_still_pauses() -> None:
    """Bug caught: the fix going too far (protection that never fires)."""
    assert _protect({"sent": 300, "recipients_sent": 1_000, "bounced": 80,
                     "bounced_permanent": 60}) == ["acc"]


def test_sends_count_their_recipients_and_bounces_their_permanence() -> None:
    """Bug caught: the counters protection reads never written (a send counted once whatever
    its recipients; a transient bounce counted as permanent)."""
    sent = Event.email("em_1", EmailEventType.SENT, NOW, recipients=50).item()
    assert stat_counts(sent) == {"sent": 1, "recipients_sent": 50}
    hard = {"type": "bounced", "data": {"bounce_type": "permanent"}}
    soft = {"type": "bounced", "data": {"bounce_type": "transient"}}
    assert stat_counts(hard) == {"bounced": 1, "bounced_permanent": 1}
    assert stat_counts(soft) == {"bounced": 1}

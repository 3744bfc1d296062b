"""The retention policy: the single source for item expiries, S3 lifecycle rules and the purge.

Every stored item names its data class; the store asks this module for the expiry. An item
whose clock has not started (an open account, an undelivered letter) carries the class and
no expiry until the starting event happens.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


class DataClass(StrEnum):
    EMAIL_CONTENT = "email_content"
    MESSAGE_LOG = "message_log"
    ENGAGEMENT_EVENT = "engagement_event"
    DAILY_STATS = "daily_stats"
    LETTER_ADDRESS = "letter_address"
    LETTER_DOCUMENT = "letter_document"
    LETTER_DOCUMENT_AHEAD = "letter_document_ahead"
    WEBHOOK_ATTEMPT = "webhook_attempt"
    IDEMPOTENCY = "idempotency"
    RATE_COUNTER = "rate_counter"
    SCHEDULED_CONTENT = "scheduled_content"
    ACCOUNT_DATA = "account_data"
    PENDING_DOMAIN = "pending_domain"
    SUPPRESSION = "suppression"
    PRIVACY_AUDIT = "privacy_audit"
    OPERATIONAL = "operational"
    DASHBOARD_SESSION = "dashboard_session"
    DASHBOARD_SESSION_REMEMBERED = "dashboard_session_remembered"
    SIGNIN_LINK = "signin_link"
    INVITE = "invite"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a data class name
    CONSENT_RECORD = "consent_record"
    DASHBOARD_ANALYTICS = "dashboard_analytics"
    DASHBOARD_PREFERENCES = "dashboard_preferences"
    MARKETING_ATTRIBUTION = "marketing_attribution"
    OPERATOR_NOTICE = "operator_notice"
    CONTACT = "contact"
    CONTACT_IMPORT = "contact_import"


@dataclass(frozen=True)
class Rule:
    data_class: DataClass
    what: str
    clock: str  # the event that starts the clock
    days: int | None  # None: kept until the clock-starting event, then ``after_days``
    kept: str  # the sentence the docs print
    min_days: int | None = None
    max_days: int | None = None
    s3_prefix: str | None = None  # objects of this class live under this prefix
    minutes: int | None = None  # sub-day lifetimes (sessions, links), instead of ``days``


POLICY: tuple[Rule, ...] = (
    Rule(DataClass.EMAIL_CONTENT, "email body and attachments", "queued", 1,
         "not stored beyond delivery (S3 offload deleted after send; 1-day lifecycle backstop)",
         s3_prefix="offload/"),
    Rule(DataClass.MESSAGE_LOG, "message log (sender, recipient, subject, status, timestamps)",
         "created", 90, "90 days"),
    Rule(DataClass.ENGAGEMENT_EVENT,
         "recipient engagement events (delivery, bounce, open, click…)", "event", 90,
         "90 days after the event; account-configurable 1–365 days", min_days=1, max_days=365),
    Rule(DataClass.DAILY_STATS, "per-day aggregate stats (no addresses)", "day", 365,
         "12 months"),
    Rule(DataClass.LETTER_ADDRESS, "postal addresses of letters", "terminal_event", 30,
         "until 30 days after confirmed delivery; returned/failed/cancelled: 30 days after "
         "that terminal event; never more than 180 days", max_days=180),
    Rule(DataClass.LETTER_DOCUMENT, "letter documents", "created", 7,
         "deleted once the carrier has accepted the piece (7-day backstop)",
         s3_prefix="letters/"),
    # A letter sent later keeps its document until then: its backstop covers the send date.
    Rule(DataClass.LETTER_DOCUMENT_AHEAD, "documents of letters with a later send date",
         "created", 187,
         "deleted once the carrier has accepted the piece (backstop: 187 days, the latest "
         "send date of 180 days plus the 7 days of an immediate letter)",
         s3_prefix="letters-ahead/"),
    Rule(DataClass.WEBHOOK_ATTEMPT, "customer webhook attempt log", "attempt", 30, "30 days"),
    Rule(DataClass.IDEMPOTENCY, "idempotency records", "created", 1, "24 hours"),
    Rule(DataClass.RATE_COUNTER, "rate-limit and quota counters (no addresses)", "created", 2,
         "2 days"),
    Rule(DataClass.SCHEDULED_CONTENT, "content of emails scheduled for later", "queued", 31,
         "until sent or cancelled (at most 30 days ahead; 31-day lifecycle backstop)",
         s3_prefix="scheduled/"),
    Rule(DataClass.ACCOUNT_DATA, "account data", "account_closed", 90,
         "while the account is open + 90 days after closure"),
    Rule(DataClass.PENDING_DOMAIN, "sending domains not yet verified (name, DKIM keys)",
         "created", 7, "7 days unless verified (then account data)"),
    Rule(DataClass.SUPPRESSION, "suppression entries", "account_closed", 90,
         "while the account is open; after an erasure request only a keyed hash remains"),
    Rule(DataClass.PRIVACY_AUDIT,
         "privacy request audit records (who, when, counts; never the address)",
         "account_closed", 90, "while the account is open + 90 days after closure"),
    Rule(DataClass.CONTACT,
         "contacts, their segment memberships and topic subscriptions, with their double "
         "opt-in proof, and who received which broadcast", "account_closed", 90,
         "while the account is open, or until erased (recipient erasure or contact delete); "
         "a closed account's are erased with it"),
    Rule(DataClass.CONTACT_IMPORT, "uploaded contact CSV files", "created", 1,
         "deleted once imported (1-day lifecycle backstop); the import report keeps row "
         "numbers and reasons, never addresses", s3_prefix="imports/"),
    Rule(DataClass.OPERATIONAL, "operational bookkeeping (purge checkpoints; no personal data)",
         "created", None, "while the deployment exists"),
    Rule(DataClass.DASHBOARD_SESSION, "dashboard sessions (hashed id, user, no IP)", "created",
         None, "12 hours; revoked at sign-out", minutes=12 * 60),
    Rule(DataClass.DASHBOARD_SESSION_REMEMBERED,
         "dashboard sessions with \"Remember me\" (hashed id, user, no IP)", "created", 30,
         "30 days; revoked at sign-out"),
    Rule(DataClass.SIGNIN_LINK, "sign-in links (hashed token)", "created", None,
         "15 minutes, single use", minutes=15),
    Rule(DataClass.INVITE, "dashboard invites (hashed token)", "created", 7,
         "7 days, single use"),
    Rule(DataClass.PASSWORD_RESET, "password resets and email-change confirmations "
         "(hashed token)", "created", None, "1 hour, single use", minutes=60),
    Rule(DataClass.CONSENT_RECORD,
         "consent records (proof of a cookie choice: when, registry version, categories; no IP)",
         "created", 365, "12 months, like the choice itself"),
    Rule(DataClass.DASHBOARD_ANALYTICS,
         "dashboard page views (path, pseudonymous visitor and session ids; no IP)", "created",
         365, "12 months"),
    Rule(DataClass.DASHBOARD_PREFERENCES,
         "dashboard preferences (theme, time zone, table density) in the lb_prefs cookie",
         "created", 365, "12 months"),
    Rule(DataClass.MARKETING_ATTRIBUTION,
         "marketing attribution (first referrer host and UTM parameters; no IP)", "created",
         90, "90 days"),
    Rule(DataClass.OPERATOR_NOTICE, "operator notices shown in the dashboard (no personal data)",
         "created", 365, "12 months"),
)

RULES: dict[DataClass, Rule] = {rule.data_class: rule for rule in POLICY}
# Classes whose clock starts at a later event: no expiry until that event.
DEFERRED_CLOCKS = frozenset({"account_closed", "terminal_event"})


def expiry_for(data_class: DataClass, clock_start: datetime | None,
               days: int | None = None) -> int | None:
    """Epoch seconds at which an item of this class must be gone, or None if not yet known."""
    rule = RULES[data_class]
    if clock_start is None:
        if rule.clock not in DEFERRED_CLOCKS and (rule.days or rule.minutes) is not None:
            raise ValueError(f"{data_class} needs a clock start")
        return None
    if days is None and rule.minutes is not None:
        return int((clock_start + timedelta(minutes=rule.minutes)).timestamp())
    kept = rule.days if days is None else days
    if kept is None:
        return None
    if rule.min_days is not None and kept < rule.min_days:
        raise ValueError(f"{data_class} keeps at least {rule.min_days} days")
    if rule.max_days is not None and kept > rule.max_days:
        raise ValueError(f"{data_class} keeps at most {rule.max_days} days")
    return int((clock_start + timedelta(days=kept)).timestamp())


def lifetime_seconds(data_class: DataClass) -> int:
    """How long an item of this class lives once its clock starts (cookie Max-Age, links)."""
    rule = RULES[data_class]
    if rule.minutes is not None:
        return rule.minutes * 60
    if rule.days is None:
        raise ValueError(f"{data_class} has no fixed lifetime")
    return rule.days * 86400


# Partition keys of the purge index per day: every item created on one day with one period
# would otherwise land on one index key, always at the end of its sort range (≈ 1,000 writes
# a second for the whole stack; docs/scaling.md).
EXPIRY_SHARDS = 16


def expiry_bucket(expires_at: int, key: Mapping[str, Any] | None = None) -> str:
    """The purge index partition for an expiry: its UTC day, and a shard of it from the
    item's whole key, so a message's own items (it, its events) spread over the shards too
    (no key: the unsharded day, as items written before the shards used)."""
    day = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d")
    if key is None:
        return day
    whole = "|".join((str(key["pk"]), str(key["sk"])))
    return f"{day}#{zlib.crc32(whole.encode()) % EXPIRY_SHARDS}"


def expiry_buckets(day: str) -> list[str]:
    """Every purge index partition of one UTC day: the unsharded one, then the shards."""
    return [day, *(f"{day}#{shard}" for shard in range(EXPIRY_SHARDS))]


def s3_lifecycle_rules() -> list[dict[str, Any]]:
    """Lifecycle rules for the bucket, in the S3 API's shape, one per class kept in S3."""
    return [
        {
            "ID": f"expire-{rule.data_class.value}",
            "Filter": {"Prefix": rule.s3_prefix},
            "Status": "Enabled",
            "Expiration": {"Days": rule.days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
        for rule in POLICY
        if rule.s3_prefix and rule.days
    ]

"""The one settings object; nothing else in the package reads ``os.environ``."""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

PREFIX = "LETTERBOX_"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclasses.dataclass
class Settings:
    """Deployment settings, filled from ``LETTERBOX_*`` variables set by ``infra/``.

    A dataclass, not pydantic-settings: that would add about 0.2 s to every cold start
    (``make bench`` measures the import of ``app.py``).
    """

    stage: str = "dev"
    region: str = "us-east-1"  # from AWS_REGION, which Lambda sets
    table_name: str = "letterbox-main"
    idempotency_table_name: str = "letterbox-idempotency"
    signing_secret_arn: str = ""
    # Where recipients reach /u/ and /t/ links: the API's public URL (custom domain).
    public_base_url: str = ""
    # Set only behind a CDN that writes it (CloudFront-Viewer-Country): a coarse country.
    trusted_country_header: str = ""
    # Account protection: pause before SES reviews the whole AWS account.
    protection_min_volume: int = 200
    protection_bounce_rate: float = 0.05
    protection_complaint_rate: float = 0.001
    rate_limit_per_second: int = 50
    daily_quota: int = 50_000
    # Per warm Lambda: how long a key's account (scope, pause, closure) and an account's
    # verified domains are trusted without a read. A key revoked, an account paused or
    # closed, or a domain deleted elsewhere can still act this long (docs/scaling.md);
    # the send worker checks pause and closure again before each send.
    auth_cache_seconds: float = 30
    # Retry backoff for throttled sends: base * 2^(attempt-1) seconds, capped at 15 minutes.
    retry_base_seconds: int = 5
    send_queue_url: str = ""
    webhook_queue_url: str = ""
    bucket_name: str = "letterbox-offload"
    kms_key_id: str = ""
    ses_configuration_set: str = ""
    ses_events_topic_arn: str = ""
    # Local mode only: every raw message handed to SES is also written here.
    outbox_dir: Path | None = None
    local_mode: bool = False
    # Local mode only: DNS answers come from this file instead of the network.
    dns_zone_file: Path | None = None
    max_recipients: int = 50
    # Bodies above this go to S3; SQS allows 1 MiB now, 256 KiB on older queues.
    queue_offload_bytes: int = 200_000
    purge_first_run_days: int = 30
    # Local mode only: the certificate its mailbox simulator signs SNS messages with.
    sns_local_cert_file: Path | None = None
    # Physical mail. Carrier credentials live in one Secrets Manager secret (JSON keyed by
    # carrier: {"usps": {...}, "fedex": {...}, "dhl": {...}}); a carrier without an entry
    # is not offered.
    letter_queue_url: str = ""
    marketing_queue_url: str = ""  # contact imports and broadcast chunks
    privacy_queue_url: str = ""  # recipient erasure jobs, address index backfills
    carrier_secret_arn: str = ""
    usps_base_url: str = "https://apis.usps.com"
    fedex_base_url: str = "https://apis.fedex.com"
    dhl_base_url: str = "https://express.api.dhl.com/mydhlapi"
    dhl_tracking_url: str = "https://api-eu.dhl.com/track/shipments"
    # Local mode only: carrier credentials from this file (the carrier secret's JSON).
    carriers_file: Path | None = None
    letter_cancel_window_seconds: int = 300
    # The sandbox carrier: on in local mode; its letters move one status per step.
    sandbox_carrier: bool = False
    sandbox_step_seconds: float = 1.0
    # Where accepted letters are printed: a print partner's HTTPS endpoint (deployed) or,
    # in local mode, a folder that receives the document and its label.
    print_endpoint_url: str = ""
    letters_dir: Path | None = None
    # SMTP credentials: IAM users under this path (one per stack), created only under this
    # permissions boundary (a managed policy allowing ses:SendRawEmail alone).
    smtp_user_path: str = ""
    smtp_permissions_boundary: str = ""
    # Tracking polls stop after this many requests per carrier per run (carrier rate limits).
    tracking_requests_per_carrier: int = 100
    # Per-carrier tracking pace: requests a second and a day (the day counted in UTC, shared
    # by every poll). Defaults are the carriers' starter quotas: USPS Tracking 3.x 60 an
    # hour, DHL Unified Tracking 250 a day at 1 a second; FedEx's is far larger.
    usps_tracking_per_second: float = 1.0
    usps_tracking_per_day: int = 1440
    fedex_tracking_per_second: float = 5.0
    fedex_tracking_per_day: int = 10_000
    dhl_tracking_per_second: float = 1.0
    dhl_tracking_per_day: int = 250
    # A poll stops starting requests after this many seconds (the function has 30).
    tracking_run_seconds: float = 20.0
    # Dashboard mail (sign-in links, resets, email confirmations) goes out through Letterbox's
    # own send path, from this sender on a verified domain of this account. Unset: no mail.
    dashboard_mail_from: str = ""
    dashboard_mail_account: str = ""


def _convert(name: str, kind: str, raw: str) -> Any:
    """One environment value as its field's type; a bad one names the variable."""
    try:
        if kind == "bool":
            if raw.strip().lower() not in _TRUE | _FALSE:
                raise ValueError(raw)
            return raw.strip().lower() in _TRUE
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path | None":
            return Path(raw) if raw else None
    except ValueError as err:
        raise ValueError(f"{PREFIX}{name.upper()} must be a {kind}, not {raw!r}") from err
    return raw


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    values: dict[str, Any] = {}
    for item in dataclasses.fields(Settings):
        raw = os.environ.get(f"{PREFIX}{item.name.upper()}")
        if raw is not None:
            values[item.name] = _convert(item.name, str(item.type), raw)
    if os.environ.get("AWS_REGION"):
        values["region"] = os.environ["AWS_REGION"]
    return Settings(**values)

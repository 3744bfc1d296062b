"""The DNS records a sending domain needs, and how what DNS answers compares with them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Purpose = Literal["dkim", "mail_from_mx", "spf", "dmarc"]
Status = Literal["found", "missing", "mismatch"]
SPF_VALUE = "v=spf1 include:amazonses.com ~all"


@dataclass(frozen=True)
class ExpectedRecord:
    type: Literal["TXT", "MX"]
    name: str
    value: str
    purpose: Purpose
    required: bool
    selector: str | None = None
    key_state: str | None = None  # DKIM: active, pending (rotation) or retired


@dataclass(frozen=True)
class RecordCheck:
    record: ExpectedRecord
    status: Status
    seen: list[str] = field(default_factory=list)


class Lookup(Protocol):
    def txt(self, name: str) -> list[str]: ...
    def mx(self, name: str) -> list[tuple[int, str]]: ...


def expected_records(domain: dict[str, Any], region: str) -> list[ExpectedRecord]:
    name, mail_from = domain["name"], domain["mail_from"]
    records = [
        ExpectedRecord("TXT", f"{key['selector']}._domainkey.{name}", key["public_record"],
                       "dkim", key["state"] != "retired", key["selector"], key["state"])
        for key in domain["keys"]
    ]
    records += [
        ExpectedRecord("MX", mail_from, f"10 feedback-smtp.{region}.amazonses.com",
                       "mail_from_mx", True),
        ExpectedRecord("TXT", mail_from, SPF_VALUE, "spf", True),
        ExpectedRecord("TXT", f"_dmarc.{name}", f"v=DMARC1; p=none; rua=mailto:dmarc@{name}",
                       "dmarc", False),
    ]
    return records


def dkim_tags(value: str) -> dict[str, str]:
    """``v=DKIM1; k=rsa; p=AB CD`` → tags, whitespace removed inside values (RFC 6376 3.2)."""
    tags = {}
    for part in value.split(";"):
        tag, sep, tag_value = part.partition("=")
        if sep:
            tags[tag.strip().lower()] = re.sub(r"\s+", "", tag_value)
    return tags


def _check_dkim(record: ExpectedRecord, seen: list[str]) -> Status:
    want = dkim_tags(record.value)
    keys = [dkim_tags(v) for v in seen if "p=" in v]
    if any(k.get("p") == want["p"] and k.get("k", "rsa") == want["k"] for k in keys):
        return "found"
    return "mismatch" if seen else "missing"


def _check_spf(seen: list[str]) -> Status:
    spf = [v for v in seen if v.lower().startswith("v=spf1")]
    if not spf:
        return "mismatch" if seen else "missing"
    # Two SPF records make SPF fail with a permerror (RFC 7208 4.5).
    return "found" if len(spf) == 1 and "include:amazonses.com" in spf[0] else "mismatch"


def _check_dmarc(seen: list[str]) -> Status:
    if any(v.replace(" ", "").upper().startswith("V=DMARC1") for v in seen):
        return "found"
    return "mismatch" if seen else "missing"


def check_record(record: ExpectedRecord, dns: Lookup) -> RecordCheck:
    if record.type == "MX":
        answers = dns.mx(record.name)
        want = record.value.split()[1]
        seen = [f"{pref} {host}" for pref, host in answers]
        status: Status = ("found" if any(host == want for _, host in answers)
                          else "mismatch" if answers else "missing")
        return RecordCheck(record, status, seen)
    seen = dns.txt(record.name)
    if record.purpose == "dkim":
        return RecordCheck(record, _check_dkim(record, seen), seen)
    if record.purpose == "spf":
        return RecordCheck(record, _check_spf(seen), seen)
    return RecordCheck(record, _check_dmarc(seen), seen)


def sends_correctly(checks: list[RecordCheck]) -> bool:
    """Verified: every active DKIM key, the MAIL FROM MX and SPF are right."""
    needed = [c for c in checks if c.record.required and c.record.key_state != "pending"]
    return bool(needed) and all(c.status == "found" for c in needed)


def rotation_ready(checks: list[RecordCheck]) -> bool:
    pending = [c for c in checks if c.record.key_state == "pending"]
    return bool(pending) and all(c.status == "found" for c in pending)

"""Generated parts of the docs: ``python -m letterbox.docs`` (``make docs``) rewrites them.

``docs/cookies.md`` is generated whole from ``chalicelib.dashboard.cookies.REGISTRY``.

``docs/privacy.md`` carries the retention table between two markers; the table comes from
``chalicelib.retention.POLICY`` alone, and a test fails when the file and the policy differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from chalicelib.retention import POLICY, DataClass

PRIVACY = Path(__file__).resolve().parents[1] / "docs" / "privacy.md"
COOKIES = Path(__file__).resolve().parents[1] / "docs" / "cookies.md"
START, END = "<!-- retention-table:start -->", "<!-- retention-table:end -->"
CLOCKS = {"queued": "accepted", "created": "written", "event": "the event", "day": "the day",
          "terminal_event": "delivery, or the final return/failure/cancellation",
          "attempt": "the attempt", "account_closed": "account closure"}


# Classes enforced by something other than their own expiry in the shared table.
ENFORCED = {
    DataClass.IDEMPOTENCY: "TTL on the idempotency table's `expiration`; never used after 24 h",
    DataClass.ACCOUNT_DATA: "the purge erases the whole account when its record expires",
    DataClass.SUPPRESSION: "erased with the account; erasure requests drop the address",
    DataClass.PRIVACY_AUDIT: "erased with the account",
    DataClass.DASHBOARD_PREFERENCES: "the `lb_prefs` cookie's Max-Age (only with preferences "
                                     "consent); nothing stored server-side",
}


def retention_table() -> str:
    rows = ["| data | class | kept | clock starts at | enforced by |", "|---|---|---|---|---|"]
    for rule in POLICY:
        where = ENFORCED.get(rule.data_class) or (
            f"S3 lifecycle on `{rule.s3_prefix}` + hourly purge" if rule.s3_prefix
            else "`expires_at` (DynamoDB TTL) + hourly purge"
            if (rule.days or rule.minutes) is not None
            else "kept deliberately (no personal data)")
        rows.append(f"| {rule.what} | `{rule.data_class.value}` | {rule.kept} | "
                    f"{CLOCKS.get(rule.clock, rule.clock)} | {where} |")
    return "\n".join(rows)


def render(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{retention_table()}\n{END}{tail}"


def main() -> int:
    from chalicelib.dashboard.cookies import markdown
    current = PRIVACY.read_text()
    updated = render(current)
    if updated != current:
        PRIVACY.write_text(updated)
        print(f"rewrote the retention table in {PRIVACY}")
    cookies = markdown()
    if not COOKIES.exists() or COOKIES.read_text() != cookies:
        COOKIES.write_text(cookies)
        print(f"rewrote {COOKIES} from the cookie registry")
    return 0


if __name__ == "__main__":
    sys.exit(main())

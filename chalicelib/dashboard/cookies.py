"""The cookie registry: the one declaration of every cookie and storage key the dashboard uses.

It drives the Set-Cookie lifetimes, the banner and preference center, the cookie policy page
(``/dashboard/cookies``), the script's clean-up of withdrawn categories and
``docs/cookies.md``. Anything the browser holds that is not declared here is a bug, and the
browser tests fail on it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal

from chalicelib.retention import DataClass, lifetime_seconds

Category = Literal["essential", "analytics", "preferences", "marketing"]
Storage = Literal["cookie", "localStorage", "sessionStorage"]

CATEGORIES: dict[Category, str] = {
    "essential": "Needed to sign in and to keep you safe.",
    "analytics": "First-party page views, aggregated per day, so we can improve the "
                 "dashboard. Stored without your IP address; never shared.",
    "preferences": "Remember your theme, time zone and table density. Without them your "
                   "choice resets each visit.",
    "marketing": "Where your first visit came from (referrer and UTM parameters), kept 90 "
                 "days. No advertising networks, no third parties.",
}
OPTIONAL: tuple[Category, ...] = ("analytics", "preferences", "marketing")


@dataclass(frozen=True)
class Cookie:
    name: str
    category: Category
    storage: Storage
    lifetime: str  # what the policy page prints
    purpose: str
    max_age: int | None = None  # seconds; None: a browser-session cookie or storage key
    http_only: bool = False


_SESSION = lifetime_seconds(DataClass.DASHBOARD_SESSION_REMEMBERED)
REGISTRY: tuple[Cookie, ...] = (
    Cookie("lb_session", "essential", "cookie",
           "30 days with \"Remember me\", else until the browser closes; ends at sign-out",
           "Your signed-in session. A random id; the server keeps only its hash. HttpOnly, "
           "Secure, SameSite=Lax.", max_age=_SESSION, http_only=True),
    Cookie("lb_csrf", "essential", "cookie", "the same as lb_session",
           "Protects forms and requests against cross-site request forgery: every change "
           "you make must carry this token.", max_age=_SESSION),
    Cookie("lb_consent", "essential", "cookie", "12 months",
           "Remembers your cookie choice (which categories, which version of this policy).",
           max_age=lifetime_seconds(DataClass.CONSENT_RECORD)),
    Cookie("lb_prefs", "preferences", "cookie", "12 months",
           "Your theme, time zone and table density.",
           max_age=lifetime_seconds(DataClass.DASHBOARD_PREFERENCES)),
    Cookie("lb_journey_visitor_id", "analytics", "localStorage", "until you clear it or "
           "withdraw consent (page views kept 12 months)",
           "A random, first-party visitor id, to count repeat visits."),
    Cookie("lb_journey_session_id", "analytics", "sessionStorage", "until the tab closes",
           "A random id for one visit, to follow page transitions within it."),
    Cookie("lb_journey_first_touch", "marketing", "localStorage", "until you clear it or "
           "withdraw consent (attribution kept 90 days)",
           "The referrer and UTM parameters of your first visit."),
)
BY_NAME: dict[str, Cookie] = {cookie.name: cookie for cookie in REGISTRY}


def registry_version() -> str:
    """Changes whenever the declaration does, so a stored choice names what it agreed to."""
    canonical = json.dumps([asdict(c) for c in REGISTRY], sort_keys=True).encode()
    return hashlib.sha256(canonical + json.dumps(CATEGORIES).encode()).hexdigest()[:12]


def storage_keys(categories: set[str]) -> dict[str, list[str]]:
    """Storage keys by storage area for the given categories (the script's clean-up list)."""
    keys: dict[str, list[str]] = {"localStorage": [], "sessionStorage": []}
    for cookie in REGISTRY:
        if cookie.storage != "cookie" and cookie.category in categories:
            keys[cookie.storage].append(cookie.name)
    return keys


def set_cookie(name: str, value: str, *, persistent: bool = True, secure: bool = True) -> str:
    """A Set-Cookie header whose lifetime and flags come from the registry, never the caller."""
    cookie = BY_NAME[name]
    parts = [f"{name}={value}", "Path=/", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    if cookie.http_only:
        parts.append("HttpOnly")
    if persistent and cookie.max_age is not None:
        parts.append(f"Max-Age={cookie.max_age}")
    return "; ".join(parts)


def clear_cookie(name: str, secure: bool = True) -> str:
    if name not in BY_NAME:  # only declared names are ever touched
        raise KeyError(name)
    return f"{name}=; Path=/; Max-Age=0; SameSite=Lax{'; Secure' if secure else ''}"


def markdown() -> str:
    """``docs/cookies.md``, generated (``make docs``); a test fails when the file drifts."""
    lines = ["# Cookies and browser storage", "",
             "<!-- Generated from chalicelib/dashboard/cookies.py by `make docs`; "
             "do not edit. -->", "",
             "The dashboard (`/dashboard`) uses only the first-party cookies and storage keys "
             "below; the same registry drives the Set-Cookie lifetimes, the consent banner, the "
             "preference center and the page `/dashboard/cookies`. No third-party script, font "
             "or request is loaded anywhere in the dashboard.", "",
             f"Registry version: `{registry_version()}` (a stored choice names the version it "
             "agreed to; a change asks again).", "", "## Categories", ""]
    for category, text in CATEGORIES.items():
        lines.append(f"- **{category}**{' (always on)' if category == 'essential' else ''}: "
                     f"{text}")
    lines += ["", "Non-essential categories are off until you opt in. A browser that sends "
              "Global Privacy Control (`Sec-GPC: 1`) is treated as \"Reject all\" unless you "
              "opt in on the preference center. Withdrawing a category stops its collection at "
              "once and clears its cookies and storage keys. Every choice is recorded "
              "server-side as proof (when, registry version, categories; no IP) for 12 months.",
              "", "## What is stored", "",
              "| name | category | storage | lifetime | purpose |", "|---|---|---|---|---|"]
    for c in REGISTRY:
        lines.append(f"| `{c.name}` | {c.category} | {c.storage} | {c.lifetime} | {c.purpose} |")
    return "\n".join(lines) + "\n"

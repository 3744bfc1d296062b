"""Open and click tracking, done by Letterbox before DKIM signing (SES's own stays off).

Links become ``/t/c/<token>`` where the HMAC-signed token seals the destination, so a
tampered token is a 404 and there is no open redirect. The pixel is ``/t/o/<token>``. No IP
address is stored; a coarse country only when a trusted header gives one.

Repeated hits are one event: an open per message and recipient, a click per message,
recipient and link, per ``DEDUPE_SECONDS`` (the event id derives from them, and the write
is conditional), so a loop on one URL adds no events, counts or webhooks beyond one a minute.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.vocabulary import EmailEventType, Event

DEDUPE_SECONDS = 60
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
# Mail-privacy proxies and security scanners fetch images without a person opening anything.
_MACHINE_AGENTS_EXACT = frozenset({"Mozilla/5.0"})  # Apple Mail Privacy Protection
_MACHINE_AGENTS_CONTAIN = ("YahooMailProxy", "ProofpointURLDefense", "Mimecast", "Barracuda",
                           "Microsoft Office Protocol Discovery", "bot", "Bot")


def is_machine_open(user_agent: str | None) -> bool:
    agent = (user_agent or "").strip()
    return agent in _MACHINE_AGENTS_EXACT or any(m in agent for m in _MACHINE_AGENTS_CONTAIN)


def safe_destination(url: str) -> str | None:
    """An http(s) URL fit for a Location header, as browsers read it (WHATWG URL): outer
    blanks and controls stripped, tab/CR/LF removed, the scheme in lower case. None when
    another control character remains or the scheme is not http(s)."""
    cleaned = _TAB_NEWLINE.sub("", url.strip("".join(map(chr, range(0x21)))))
    scheme, sep, rest = cleaned.partition(":")
    if not sep or scheme.lower() not in ("http", "https") or not rest.startswith("//"):
        return None
    if _CONTROL.search(rest):
        return None
    return f"{scheme.lower()}:{rest}"


def rewrite_links(markup: str, tracked_url: Callable[[str], str], skip_prefix: str) -> str:
    """Every http(s) link (but our own, such as unsubscribe) through the click endpoint."""
    def replace(match: re.Match[str]) -> str:
        target = safe_destination(html_lib.unescape(match.group(3)))
        if target is None or target.startswith(skip_prefix):
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{tracked_url(target)}{match.group(2)}"
    return _HREF.sub(replace, markup)


def add_pixel(markup: str, pixel_url: str) -> str:
    tag = (f'<img src="{pixel_url}" width="1" height="1" alt="" '
           'style="display:block;width:1px;height:1px;border:0">')
    index = markup.lower().rfind("</body>")
    return markup[:index] + tag + markup[index:] if index >= 0 else markup + tag


class Tokens(Protocol):
    def seal(self, purpose: str, payload: dict[str, Any]) -> str: ...
    def open(self, purpose: str, token: str) -> dict[str, Any] | None: ...
    def address_hash(self, account_id: str, address: str) -> str: ...
    def recipient_with_hash(self, account_id: str, mailboxes: list[str],
                            address_hash: str | None) -> str | None: ...


class Messages(Protocol):
    def get(self, account_id: str, message_id: str) -> dict[str, Any] | None: ...
    def apply_event(self, account_id: str, message_id: str, event: dict[str, Any],
                    status: str | None, now: datetime) -> bool: ...


@dataclass(frozen=True)
class Hit:
    user_agent: str | None
    country: str | None  # only from a header the deployment trusts


class TrackingService:
    def __init__(self, tokens: Tokens, messages: Messages, base_url: str) -> None:
        self._tokens = tokens
        self._messages = messages
        self._base = base_url.rstrip("/")

    def instrument(self, markup: str, account_id: str, message_id: str,
                   recipients: list[str], opens: bool, clicks: bool) -> str:
        """The HTML as sent: links rewritten and the pixel added, as asked."""
        who = (self._tokens.address_hash(account_id, recipients[0])
               if len(recipients) == 1 else None)
        base = {"a": account_id, "m": message_id, "r": who}
        if clicks:
            def tracked(url: str) -> str:
                return f"{self._base}/t/c/{self._tokens.seal('click', {**base, 'u': url})}"
            markup = rewrite_links(markup, tracked, skip_prefix=self._base)
        if opens:
            markup = add_pixel(markup, f"{self._base}/t/o/{self._tokens.seal('open', base)}")
        return markup

    def _record(self, payload: dict[str, Any], kind: EmailEventType, hit: Hit, now: datetime,
                **data: Any) -> None:
        message = self._messages.get(payload["a"], payload["m"])
        if message is None:  # past its retention: the redirect still works, nothing recorded
            return
        recipient = self._tokens.recipient_with_hash(payload["a"], message.get("to", []),
                                                     payload.get("r"))
        if hit.country:
            data["country"] = hit.country
        if kind is EmailEventType.OPENED:
            data["machine_open"] = is_machine_open(hit.user_agent)
        window = int(now.timestamp()) // DEDUPE_SECONDS * DEDUPE_SECONDS
        # A privacy proxy's prefetch must not swallow the person's own open: kept apart.
        seed = (f"{kind.value}:{payload['m']}:{payload.get('r')}:{data.get('url', '')}:"
                f"{data.get('machine_open', False)}:{window}")
        event = Event.email(payload["m"], kind, now, recipient=recipient,
                            tags=message.get("tags"), metadata=message.get("metadata"),
                            dedupe=(window * 1000, seed), **data).item()
        # Conditional on the id: a repeat within the window records (and publishes) nothing.
        self._messages.apply_event(payload["a"], payload["m"], event, None, now)

    def opened(self, token: str, hit: Hit, now: datetime) -> None:
        """The pixel is served whatever the token says; only valid tokens are recorded."""
        payload = self._tokens.open("open", token)
        if payload is not None:
            self._record(payload, EmailEventType.OPENED, hit, now)

    def clicked(self, token: str, hit: Hit, now: datetime) -> str | None:
        """The sealed destination, or None for a token we did not sign."""
        payload = self._tokens.open("click", token)
        destination = safe_destination(str(payload.get("u", ""))) if payload else None
        if payload is None or destination is None:
            return None
        self._record(payload, EmailEventType.CLICKED, hit, now, url=destination)
        return destination

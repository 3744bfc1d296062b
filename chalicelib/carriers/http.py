"""The carriers' one HTTP layer: requests, OAuth tokens cached until they expire, and every
failure normalized into ``CarrierError`` (429 and 5xx retryable, with Retry-After)."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from chalicelib.carriers.base import CarrierError


def _retry_after(value: str | None) -> int | None:
    """Retry-After as seconds (it may be a number or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return int(value.strip())
    try:
        return max(0, int(parsedate_to_datetime(value).timestamp() - time.time()))
    except (TypeError, ValueError):
        return None


def _message(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, code, field) from any of the carriers' error shapes."""
    if not isinstance(body, dict):
        return None, None, None
    errors = body.get("errors") or (body.get("error") or {}).get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]  # FedEx {code, message}; USPS {code, title, detail, source}
        source = first.get("source") or {}
        return (first.get("message") or first.get("detail") or first.get("title"),
                first.get("code"), source.get("parameter") if isinstance(source, dict) else None)
    if isinstance(body.get("error"), dict):  # USPS without details
        return body["error"].get("message"), body["error"].get("code"), None
    if body.get("detail") or body.get("title"):  # DHL problem+json
        return body.get("detail") or body.get("title"), str(body.get("status") or ""), None
    if body.get("error_description") or isinstance(body.get("error"), str):  # OAuth
        return body.get("error_description") or body.get("error"), body.get("error"), None
    return None, None, None


def _maybe_sent(err: requests.RequestException) -> bool:
    """Whether the carrier may have received (and carried out) the request: anything but a
    connection that was never made."""
    if isinstance(err, requests.ConnectTimeout):
        return False
    never_connected = ("NewConnectionError", "Connection refused",
                       "Name or service not known", "Failed to resolve")
    return not (isinstance(err, requests.ConnectionError)
                and any(mark in str(err) for mark in never_connected))


class CarrierHttp:
    def __init__(self, carrier: str, base_url: str, session: requests.Session | None = None,
                 timeout: float = 10) -> None:
        self.carrier = carrier
        self.base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = path if path.startswith(("https://", "http://")) else f"{self.base_url}{path}"
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as err:
            raise CarrierError(self.carrier, f"could not reach the carrier ({type(err).__name__})",
                               retryable=True, ambiguous=_maybe_sent(err)) from err
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            message, code, field = _message(body)
            status = response.status_code
            raise CarrierError(
                self.carrier, message or f"HTTP {status}", status=status,
                retryable=status == 429 or status >= 500 or status == 408,
                retry_after=_retry_after(response.headers.get("Retry-After")), code=code,
                field=field)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as err:
            raise CarrierError(self.carrier, "the carrier answered with something other than "
                                             "JSON", status=response.status_code,
                               retryable=True) from err


class TokenCache:
    """An OAuth client-credentials token, reused until a minute before it expires."""

    def __init__(self, fetch: Callable[[], tuple[str, int]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: str | None = None
        self._until = 0.0

    def token(self) -> str:
        if self._token is None or self._clock() >= self._until:
            token, lifetime = self._fetch()
            self._token, self._until = token, self._clock() + max(0, lifetime - 60)
        return self._token

    def invalidate(self) -> None:
        self._token = None


def with_token(tokens: TokenCache, call: Callable[[str], Any]) -> Any:
    """``call(token)``; a 401 drops the cached token and tries once more with a fresh one."""
    try:
        return call(tokens.token())
    except CarrierError as err:
        if err.status != 401:
            raise
        tokens.invalidate()
        return call(tokens.token())

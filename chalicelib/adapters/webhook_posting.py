"""The webhook service's ``Poster`` port over ``PinnedPoster``: a destination it refuses is
a failed attempt (logged, retried on schedule), not an error the service must know about."""

from __future__ import annotations

from chalicelib.adapters.webhook_http import BlockedDestination, PinnedPoster, PostResult


class GuardedPoster:
    def __init__(self, inner: PinnedPoster) -> None:
        self._inner = inner

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        try:
            return self._inner.post(url, body, headers)
        except BlockedDestination as err:
            return PostResult(None, f"blocked: {err}", 0)

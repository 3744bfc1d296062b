"""What every API operation passes through: authentication, rate limit, idempotency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.accounts import AccountService, Principal
from chalicelib.clock import utcnow
from chalicelib.idempotency import IdempotentRequests
from chalicelib.limits import Limits


class ApiEdge:
    def __init__(self, accounts: AccountService, limits: Limits,
                 idempotency: Callable[[], IdempotentRequests]) -> None:
        self._accounts = accounts
        self._limits = limits
        self._idempotency = idempotency

    def authenticate(self, authorization: str | None) -> Principal:
        return self._accounts.authenticate(authorization)

    def take_request(self, principal: Principal) -> dict[str, str]:
        return self._limits.take_request(principal.key_id, utcnow()).headers()

    def replay_or_run(self, key: str, body: Any, compute: Callable[[], dict[str, Any]],
                      context: Any) -> dict[str, Any]:
        return self._idempotency().run(key, body, compute, context)

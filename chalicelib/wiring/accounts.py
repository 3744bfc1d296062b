"""Accounts and retention (closure, erasure, the purge), privacy requests, and the API
edge (limits, idempotency)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.wiring.storage import StorageParts

if TYPE_CHECKING:
    from chalicelib.accounts import AccountService
    from chalicelib.api.edge import ApiEdge
    from chalicelib.idempotency import IdempotentRequests
    from chalicelib.limits import Limits
    from chalicelib.privacy import PrivacyService
    from chalicelib.purge import Purger
    from datetime import datetime


class AccountParts(StorageParts):
    @cached_property
    def accounts(self) -> AccountService:
        from chalicelib.accounts import AccountService
        from chalicelib.purge import EraseNow, RetentionChange
        return AccountService(
            self.account_store,
            on_close=[self.domain_store.start_closure_clock, self.smtp.revoke_all,
                      self._close_dashboard_users],
            on_retention_change=RetentionChange(self.retention_days, self.purge_store),
            erase_now=EraseNow(self.purger), cache_seconds=self.settings.auth_cache_seconds,
            on_resume=[self.smtp.refresh_policies])

    def _close_dashboard_users(self, account_id: str, now: datetime) -> None:
        """Closure ends dashboard sessions; built only then (argon2 stays off cold starts)."""
        self.dashboard.users.closed_account(account_id, now)

    @cached_property
    def privacy(self) -> PrivacyService:
        from chalicelib.adapters.privacy_store import DynamoPrivacyStore
        from chalicelib.privacy import PrivacyService
        return PrivacyService(DynamoPrivacyStore(self.table), self.suppressions, self.content,
                              self.accounts, contacts=self.contacts, index=self.address_index,
                              listing=self.message_store,
                              hasher=self.tokens.address_hash,
                              jobs=self.privacy_queue)

    def purger(self, out_of_time: Callable[[], bool] | None = None) -> Purger:
        from chalicelib.purge import Purger, never
        return Purger(self.purge_store, self.content, out_of_time or never,
                      on_account_erased=[self.domains.forget_identities])

    @cached_property
    def limits(self) -> Limits:
        from chalicelib.limits import Limits
        return Limits(self.table, self.counters, self.settings.rate_limit_per_second,
                      self.settings.daily_quota)

    @cached_property
    def idempotency(self) -> IdempotentRequests:
        from chalicelib.idempotency import IdempotentRequests
        return IdempotentRequests(self.settings.idempotency_table_name, self.client("dynamodb"),
                                  self.secrets)

    @cached_property
    def edge(self) -> ApiEdge:
        from chalicelib.api.edge import ApiEdge
        return ApiEdge(self.accounts, self.limits, self.idempotent_requests)

    def idempotent_requests(self) -> IdempotentRequests:
        """Built on the first POST that carries a key: a GET never pays for it."""
        return self.idempotency

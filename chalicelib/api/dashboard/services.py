"""The dashboard's services, built once by ``wiring`` from the container's adapters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.clock import utcnow
from chalicelib.dashboard.users import Mailer, keyed

if TYPE_CHECKING:
    from chalicelib.dashboard.analytics import AnalyticsService
    from chalicelib.dashboard.consent import ConsentService
    from chalicelib.dashboard.notices import NoticeService
    from chalicelib.dashboard.profile import ProfileService
    from chalicelib.dashboard.sessions import SessionService
    from chalicelib.dashboard.users import UserService
    from chalicelib.wiring import Container


class SystemMailer:
    """Dashboard mail through Letterbox's own send path, as ``POST /v1/emails`` queues it."""

    def __init__(self, emails: Any, account_id: str, sender: str) -> None:
        from chalicelib.accounts import Principal  # deferred: pydantic stays off cold starts
        self._emails = emails
        self._principal = Principal(account_id=account_id, key_id="dashboard", scope="full")
        self._sender = sender

    def send(self, to: str, subject: str, text: str) -> None:
        from chalicelib.email_models import SendEmailRequest
        request = SendEmailRequest.model_validate({
            "from": self._sender, "to": to, "subject": subject, "text": text,
            "tags": [{"name": "letterbox", "value": "dashboard"}]})
        self._emails.queue_email(self._principal, request, utcnow())


@dataclass
class Dashboard:
    container: Container

    @cached_property
    def store(self) -> Any:
        from chalicelib.adapters.dashboard_store import DynamoDashboardStore
        return DynamoDashboardStore(self.container.table)

    @cached_property
    def mailer(self) -> Mailer | None:
        settings = self.container.settings
        if not settings.dashboard_mail_from or not settings.dashboard_mail_account:
            return None
        return SystemMailer(self.container.emails, settings.dashboard_mail_account,
                            settings.dashboard_mail_from)

    def _hash(self, purpose: str) -> Any:
        return lambda value: keyed(self.container.tokens.key(purpose))(value)

    @cached_property
    def users(self) -> UserService:
        from chalicelib.dashboard.users import Argon2Passwords, UserService

        def account_open(account_id: str) -> bool:
            account = self.container.account_store.get_account(account_id)
            return account is not None and account.get("status") == "active"
        return UserService(self.store, Argon2Passwords(), self._hash("dashboard-user"),
                           self.container.secrets, lambda: self.mailer,
                           self.container.settings.public_base_url, account_open)

    @cached_property
    def profile(self) -> ProfileService:
        from chalicelib.dashboard.profile import ProfileService
        return ProfileService(self.users)

    @cached_property
    def sessions(self) -> SessionService:
        from chalicelib.dashboard.sessions import SessionService
        return SessionService(self.users, self._hash("dashboard-throttle"))

    @cached_property
    def consent(self) -> ConsentService:
        from chalicelib.dashboard.consent import ConsentService
        return ConsentService(self.store)

    @cached_property
    def analytics(self) -> AnalyticsService:
        from chalicelib.dashboard.analytics import AnalyticsService
        return AnalyticsService(self.store)

    @cached_property
    def notices(self) -> NoticeService:
        from chalicelib.dashboard.notices import NoticeService
        return NoticeService(self.store)

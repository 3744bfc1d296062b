"""What every section of the container shares: the settings, the boto3 clients, and the
declared types of the pieces one section builds and another uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings

if TYPE_CHECKING:
    from chalicelib.accounts import AccountService
    from chalicelib.adapters.address_index import AddressIndex
    from chalicelib.adapters.message_store import DynamoMessageStore
    from chalicelib.api.dashboard.services import Dashboard
    from chalicelib.broadcasts import BroadcastService
    from chalicelib.contacts import ContactService
    from chalicelib.domains import DomainKeyring, DomainService
    from chalicelib.limits import Limits
    from chalicelib.logs import LogService
    from chalicelib.send import EmailService
    from chalicelib.smtp import SmtpCredentialService
    from chalicelib.suppressions import SuppressionService
    from chalicelib.templates import TemplateService
    from chalicelib.tracking.opens_clicks import TrackingService
    from chalicelib.webhooks import WebhookService


class Parts:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def client(self, service: str, attempts: int = 4) -> Any:
        """A boto3 client; ``AWS_ENDPOINT_URL`` points all of them at moto in local mode.

        ``attempts`` counts the first call (botocore's ``max_attempts`` counts only retries);
        1 for calls that must never be repeated blindly (an SES send whose answer timed out
        may have been accepted)."""
        cache = self.__dict__.setdefault("_clients", {})
        if (service, attempts) not in cache:
            import boto3  # deferred: a cold start pays for boto3 only on first AWS call
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "total_max_attempts": attempts},
                            connect_timeout=3, read_timeout=10)
            cache[(service, attempts)] = boto3.session.Session().client(
                service, region_name=self.settings.region, config=config)
        return cache[(service, attempts)]

    if TYPE_CHECKING:  # built by one section, used by another: the section named builds it
        @property
        def message_store(self) -> DynamoMessageStore: ...  # sending
        @property
        def message_reader(self) -> DynamoMessageStore: ...  # sending
        @property
        def address_index(self) -> AddressIndex: ...  # sending
        @property
        def templates(self) -> TemplateService: ...  # sending
        @property
        def suppressions(self) -> SuppressionService: ...  # sending
        @property
        def emails(self) -> EmailService: ...  # sending
        def publish_events(self, account_id: str, events: list[dict[str, Any]]) -> None: ...
        @property
        def webhooks(self) -> WebhookService: ...  # tracking
        @property
        def tracking(self) -> TrackingService: ...  # tracking
        @property
        def logs(self) -> LogService: ...  # tracking
        @property
        def accounts(self) -> AccountService: ...  # accounts
        @property
        def limits(self) -> Limits: ...  # accounts
        @property
        def domains(self) -> DomainService: ...  # domains
        @property
        def keyring(self) -> DomainKeyring: ...  # domains
        @property
        def smtp(self) -> SmtpCredentialService: ...  # domains
        @property
        def contacts(self) -> ContactService: ...  # marketing
        @property
        def broadcasts(self) -> BroadcastService: ...  # marketing
        @property
        def dashboard(self) -> Dashboard: ...  # the container itself

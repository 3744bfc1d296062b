"""Everything after SES has the message: SES/SNS events, opens and clicks,
unsubscribes, the message log, and the customer webhooks the events fan out to."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.wiring.storage import StorageParts

if TYPE_CHECKING:
    from chalicelib.logs import LogService
    from chalicelib.tracking.opens_clicks import TrackingService
    from chalicelib.tracking.ses_events import ProviderEventService
    from chalicelib.tracking.unsubscribe import UnsubscribeService
    from chalicelib.webhooks import WebhookDeliverer, WebhookService


class TrackingParts(StorageParts):
    def publish_events(self, account_id: str, events: list[dict[str, Any]]) -> None:
        """The stores' fan-out to webhooks, built on the first event rather than with them;
        a broadcast's emails also move their recipient's marker (its stats)."""
        self.webhooks.publish(account_id, events)
        self.broadcasts.observe(account_id, events)

    @cached_property
    def webhooks(self) -> WebhookService:
        from chalicelib.adapters.webhook_store import DynamoWebhookStore
        from chalicelib.webhooks import WebhookService
        return WebhookService(DynamoWebhookStore(self.table), self.secrets, self.webhook_queue,
                              self.settings.local_mode,
                              metadata_of=self.message_reader.metadata_of)

    @cached_property
    def webhook_deliverer(self) -> WebhookDeliverer:
        from chalicelib.adapters.webhook_http import PinnedPoster
        from chalicelib.adapters.webhook_posting import GuardedPoster
        from chalicelib.adapters.webhook_store import DynamoWebhookStore
        from chalicelib.webhooks import WebhookDeliverer
        poster = GuardedPoster(PinnedPoster(allow_loopback_http=self.settings.local_mode))
        return WebhookDeliverer(DynamoWebhookStore(self.table), self.secrets, self.webhook_queue,
                                poster)

    @cached_property
    def provider_events(self) -> ProviderEventService:
        from chalicelib.adapters.https_fetch import local_or_fetch
        from chalicelib.adapters.sns_subscriptions import SnsSubscriptions
        from chalicelib.tracking.ses_events import ProviderEventService
        from chalicelib.tracking.protection import AccountProtection
        from chalicelib.tracking.sns import SnsVerifier
        verifier = SnsVerifier(local_or_fetch(self.settings.sns_local_cert_file),
                               {self.settings.ses_events_topic_arn})
        protection = AccountProtection(
            self.logs, self.accounts, self.settings.protection_min_volume,
            self.settings.protection_bounce_rate, self.settings.protection_complaint_rate,
            on_paused=[self.smtp.suspend])
        from chalicelib.smtp import SmtpQuota
        quota = SmtpQuota(self.limits.charge_sent, self.smtp.quota_spent)
        return ProviderEventService(verifier, self.message_store, self.suppressions,
                                    SnsSubscriptions(self.client("sns")), [protection, quota],
                                    domain_owners=self.domain_store)

    @cached_property
    def tracking(self) -> TrackingService:
        from chalicelib.tracking.opens_clicks import TrackingService
        return TrackingService(self.tokens, self.message_store, self.settings.public_base_url)

    @cached_property
    def unsubscribe(self) -> UnsubscribeService:
        from chalicelib.tracking.unsubscribe import UnsubscribeService
        return UnsubscribeService(self.tokens, self.message_store, self.suppressions)

    @cached_property
    def logs(self) -> LogService:
        from chalicelib.logs import LogService
        return LogService(self.message_reader, self.counters, self.message_reader.metadata_of)

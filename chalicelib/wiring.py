"""The one place adapters and services are built: lazily, once per warm Lambda.

It only constructs and passes named collaborators; what they do lives in their modules.
Read it by capability: storage, sending, tracking, webhooks, physical mail, accounts and
retention, domains and SMTP, the API edge. Tests and local mode call ``reset()`` after
changing the environment, or ``use()`` to swap in a fake; nothing else constructs a boto3
client.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings, get_settings

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.accounts import AccountService, RetentionDays, SendingGate
    from chalicelib.adapters.account_store import DynamoAccountStore
    from chalicelib.adapters.counter_store import DynamoCounterStore
    from chalicelib.adapters.dns_lookup import DnsLookup
    from chalicelib.adapters.domain_store import DynamoDomainStore
    from chalicelib.adapters.dynamo import DynamoTable
    from chalicelib.adapters.kms import KmsSecrets
    from chalicelib.adapters.letter_store import DynamoLetterStore
    from chalicelib.adapters.message_store import DynamoMessageStore
    from chalicelib.adapters.address_index import AddressIndex
    from chalicelib.adapters.purge_store import DynamoPurgeStore
    from chalicelib.adapters.s3 import S3ContentStore
    from chalicelib.ports import EmailSender
    from chalicelib.adapters.ses_identities import SesV2Identities
    from chalicelib.adapters.sqs import SqsQueue
    from chalicelib.addresses import AddressService
    from chalicelib.carriers.registry import Carriers
    from chalicelib.api.dashboard.services import Dashboard
    from chalicelib.send_worker import SendWorker
    from chalicelib.domains import DomainKeyring, DomainService
    from chalicelib.api.edge import ApiEdge
    from chalicelib.idempotency import IdempotentRequests
    from chalicelib.tracking.ses_events import ProviderEventService
    from chalicelib.physical_mail import LetterService, LetterSubmitter, LetterTracker, Printer
    from chalicelib.limits import Limits
    from chalicelib.logs import LogService
    from chalicelib.privacy import PrivacyService
    from chalicelib.purge import Purger
    from chalicelib.send import EmailService
    from chalicelib.smtp import SmtpCredentialService
    from chalicelib.suppressions import SuppressionService
    from chalicelib.templates import TemplateService
    from chalicelib.tokens import TokenSigner
    from chalicelib.tracking.opens_clicks import TrackingService
    from chalicelib.tracking.unsubscribe import UnsubscribeService
    from chalicelib.webhooks import WebhookDeliverer, WebhookService
    from chalicelib.adapters.marketing_store import DynamoMarketingStore
    from chalicelib.audiences import AudienceService
    from chalicelib.broadcast_sender import BroadcastSender
    from chalicelib.broadcasts import BroadcastService
    from chalicelib.contacts import ContactService
    from chalicelib.preferences import PreferenceService



class Container:
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

    @cached_property
    def table(self) -> DynamoTable:
        from chalicelib.adapters.dynamo import DynamoTable
        return DynamoTable(self.client("dynamodb"), self.settings.table_name)

    @cached_property
    def counters(self) -> DynamoCounterStore:
        from chalicelib.adapters.counter_store import DynamoCounterStore
        return DynamoCounterStore(self.table)

    @cached_property
    def account_store(self) -> DynamoAccountStore:
        from chalicelib.adapters.account_store import DynamoAccountStore
        return DynamoAccountStore(self.table)

    @cached_property
    def retention_days(self) -> RetentionDays:
        from chalicelib.accounts import RetentionDays
        return RetentionDays(self.account_store)

    @cached_property
    def message_store(self) -> DynamoMessageStore:
        from chalicelib.adapters.message_store import DynamoMessageStore
        store = DynamoMessageStore(self.table, self.counters, on_events=self.publish_events,
                                   retention_days=self.retention_days)
        store.address_index = self.address_index
        store.listing.request_migration = self.request_listing_migration
        return store

    @cached_property
    def address_index(self) -> AddressIndex:
        from chalicelib.adapters.address_index import AddressIndex
        # Keyed like the suppression list; the secret is read on the first message written.
        return AddressIndex(self.table, self.tokens.address_hash)

    @cached_property
    def privacy_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.privacy_queue_url)

    def publish_events(self, account_id: str, events: list[dict[str, Any]]) -> None:
        """The stores' fan-out to webhooks, built on the first event rather than with them;
        a broadcast's emails also move their recipient's marker (its stats)."""
        self.webhooks.publish(account_id, events)
        self.broadcasts.observe(account_id, events)

    @cached_property
    def message_reader(self) -> DynamoMessageStore:
        """Reads only (metadata joined on read): webhooks and logs need it, and the writing
        store needs webhooks."""
        from chalicelib.adapters.message_store import DynamoMessageStore
        reader = DynamoMessageStore(self.table)
        reader.listing.request_migration = self.request_listing_migration
        return reader

    def request_listing_migration(self, account_id: str) -> None:
        """Queue the move of an account's email listing to ``gsi4`` (the privacy queue)."""
        from chalicelib.account_models import PrivacyJob
        self.privacy_queue.enqueue(PrivacyJob(kind="listing", account_id=account_id))

    @cached_property
    def purge_store(self) -> DynamoPurgeStore:
        from chalicelib.adapters.purge_store import DynamoPurgeStore
        return DynamoPurgeStore(self.table)

    def purger(self, out_of_time: Callable[[], bool] | None = None) -> Purger:
        from chalicelib.purge import Purger, never
        return Purger(self.purge_store, self.content, out_of_time or never,
                      on_account_erased=[self.domains.forget_identities])

    @cached_property
    def carriers(self) -> Carriers:
        from chalicelib.adapters.secrets import DeploymentSecret
        from chalicelib.carriers.registry import Carriers
        from chalicelib.carriers.sandbox import SandboxCarrier
        settings = self.settings
        secret = (DeploymentSecret(self.client("secretsmanager"),
                                   settings.carrier_secret_arn).value
                  if settings.carrier_secret_arn else None)
        carriers_file = settings.carriers_file
        if settings.local_mode and carriers_file is not None and carriers_file.exists():
            secret = carriers_file.read_bytes  # local mode: .letterbox/carriers.json
        sandbox = (SandboxCarrier(settings.sandbox_step_seconds)
                   if settings.sandbox_carrier or settings.local_mode else None)
        return Carriers(secret, {"usps": settings.usps_base_url,
                                 "fedex": settings.fedex_base_url,
                                 "dhl": settings.dhl_base_url,
                                 "dhl_tracking": settings.dhl_tracking_url}, sandbox,
                        local_mode=settings.local_mode)

    @cached_property
    def letter_store(self) -> DynamoLetterStore:
        from chalicelib.adapters.letter_store import DynamoLetterStore
        return DynamoLetterStore(self.table, self.counters, on_events=self.publish_events,
                                 retention_days=self.retention_days)

    @cached_property
    def letter_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.letter_queue_url)

    @cached_property
    def printer(self) -> Printer | None:
        from chalicelib.adapters.printing import LocalPrinter, PartnerPrinter
        from chalicelib.tokens import PRINT_PARTNER
        if self.settings.letters_dir is not None:
            return LocalPrinter(self.settings.letters_dir)
        if self.settings.print_endpoint_url:  # its own derived key, never a root key
            return PartnerPrinter(self.settings.print_endpoint_url,
                                  self.tokens.partner_key(PRINT_PARTNER).encode(),
                                  self.tokens.current_key_id)
        return None

    @cached_property
    def letters(self) -> LetterService:
        from chalicelib.physical_mail import LetterService
        return LetterService(self.letter_store, self.content, self.letter_queue, self.carriers,
                             self.settings.letter_cancel_window_seconds,
                             can_print=self.printer is not None)

    @cached_property
    def letter_submitter(self) -> LetterSubmitter:
        from chalicelib.physical_mail import LetterSubmitter
        assert self.printer is not None, "letters are refused when nothing can print them"
        return LetterSubmitter(self.letter_store, self.content, self.carriers, self.printer)

    @cached_property
    def letter_tracker(self) -> LetterTracker:
        from chalicelib.carriers.pacing import tracking_paces
        from chalicelib.physical_mail import LetterTracker
        table = self.table

        def reserve(carrier: str, per_day: int) -> bool:
            from chalicelib.clock import utcnow
            now = utcnow()
            return table.increment(f"CARRIERQUOTA#{carrier}", now.strftime("%Y-%m-%d"), 1,
                                   per_day, now) is not None
        return LetterTracker(self.letter_store, self.carriers,
                             self.settings.tracking_requests_per_carrier,
                             tracking_paces(self.settings), reserve,
                             run_seconds=self.settings.tracking_run_seconds)

    @cached_property
    def addresses(self) -> AddressService:
        from chalicelib.addresses import AddressService
        return AddressService(self.carriers)

    @cached_property
    def privacy(self) -> PrivacyService:
        from chalicelib.adapters.privacy_store import DynamoPrivacyStore
        from chalicelib.privacy import PrivacyService
        return PrivacyService(DynamoPrivacyStore(self.table), self.suppressions, self.content,
                              self.accounts, contacts=self.contacts, index=self.address_index,
                              listing=self.message_store,
                              hasher=self.tokens.address_hash,
                              jobs=self.privacy_queue)

    @cached_property
    def webhook_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.webhook_queue_url)

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
    def dashboard(self) -> Dashboard:
        from chalicelib.api.dashboard.services import Dashboard
        return Dashboard(self)

    @cached_property
    def send_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.send_queue_url)

    @cached_property
    def content(self) -> S3ContentStore:
        from chalicelib.adapters.s3 import S3ContentStore
        return S3ContentStore(self.client("s3"), self.settings.bucket_name)

    @cached_property
    def tokens(self) -> TokenSigner:
        from chalicelib.adapters.secrets import DeploymentSecret
        from chalicelib.tokens import TokenSigner
        secret = DeploymentSecret(self.client("secretsmanager"), self.settings.signing_secret_arn)
        return TokenSigner(secret.value)

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

    @cached_property
    def templates(self) -> TemplateService:
        from chalicelib.adapters.template_store import DynamoTemplateStore
        from chalicelib.templates import TemplateService
        return TemplateService(DynamoTemplateStore(self.table))

    @cached_property
    def suppressions(self) -> SuppressionService:
        from chalicelib.adapters.suppression_store import DynamoSuppressionStore
        from chalicelib.suppressions import SuppressionService
        return SuppressionService(DynamoSuppressionStore(self.table), self.tokens)

    @cached_property
    def unsubscribe(self) -> UnsubscribeService:
        from chalicelib.tracking.unsubscribe import UnsubscribeService
        return UnsubscribeService(self.tokens, self.message_store, self.suppressions)

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
    def emails(self) -> EmailService:
        from chalicelib.send import EmailService
        return EmailService(self.message_store, self.domain_store, self.send_queue, self.content,
                            self.limits, self.templates, self.settings.queue_offload_bytes,
                            domain_cache_seconds=self.settings.auth_cache_seconds)

    @cached_property
    def domain_store(self) -> DynamoDomainStore:
        from chalicelib.adapters.domain_store import DynamoDomainStore
        return DynamoDomainStore(self.table)

    @cached_property
    def secrets(self) -> KmsSecrets:
        from chalicelib.adapters.kms import KmsSecrets
        return KmsSecrets(self.client("kms"), self.settings.kms_key_id)

    @cached_property
    def ses_identities(self) -> SesV2Identities:
        from chalicelib.adapters.ses_identities import LocalSesIdentities, SesV2Identities
        if self.settings.local_mode:
            return LocalSesIdentities(self.client("sesv2"), self.client("ses"),
                                      self.settings.ses_configuration_set)
        return SesV2Identities(self.client("sesv2"), self.settings.ses_configuration_set)

    def dns(self) -> DnsLookup:
        """A lookup per call: dnspython's resolver reads the system configuration."""
        from chalicelib.adapters.dns_lookup import DnsLookup, ZoneFileResolver
        if self.settings.dns_zone_file is not None:
            return DnsLookup(ZoneFileResolver(self.settings.dns_zone_file))
        import dns.resolver
        return DnsLookup(dns.resolver.Resolver())

    @cached_property
    def domains(self) -> DomainService:
        from chalicelib.domains import DomainService
        return DomainService(self.domain_store, self.secrets, self.ses_identities, self.dns,
                             self.settings.region,
                             on_verified_domains_changed=self.smtp.refresh_policies)

    @cached_property
    def smtp(self) -> SmtpCredentialService:
        from chalicelib.adapters.credential_store import DynamoCredentialStore
        from chalicelib.adapters.iam import IamSmtpUsers
        from chalicelib.accounts import sending_stopped
        from chalicelib.smtp import SmtpCredentialService
        users = IamSmtpUsers(self.client("iam"), self.settings.smtp_user_path
                             or f"/letterbox/{self.settings.stage}/smtp/",
                             self.settings.smtp_permissions_boundary)
        return SmtpCredentialService(users, DynamoCredentialStore(self.table), self.domain_store,
                                     self.settings.region,
                                     paused=partial(sending_stopped, self.account_store))

    @cached_property
    def keyring(self) -> DomainKeyring:
        from chalicelib.domains import DomainKeyring
        return DomainKeyring(self.domain_store, self.secrets)

    @cached_property
    def email_sender(self) -> EmailSender:
        from chalicelib.adapters.ses import OutboxRecorder, SesEmailSender
        sender: EmailSender = SesEmailSender(self.client("sesv2", attempts=1),
                                             self.settings.ses_configuration_set)
        if self.settings.outbox_dir is not None:
            sender = OutboxRecorder(sender, self.settings.outbox_dir)
        return sender

    @cached_property
    def send_worker(self) -> SendWorker:
        from chalicelib.send_worker import SendWorker
        return SendWorker(self.message_store, self.email_sender, self.keyring, self.content,
                          self.suppressions, self.tokens, self.settings.public_base_url,
                          self.tracking, gate=self.sending_gate, quota=self.limits)

    @cached_property
    def sending_gate(self) -> SendingGate:
        from chalicelib.accounts import SendingGate
        return SendingGate(self.account_store, self.settings.auth_cache_seconds)

    @cached_property
    def logs(self) -> LogService:
        from chalicelib.logs import LogService
        return LogService(self.message_reader, self.counters, self.message_reader.metadata_of)

    @cached_property
    def tracking(self) -> TrackingService:
        from chalicelib.tracking.opens_clicks import TrackingService
        return TrackingService(self.tokens, self.message_store, self.settings.public_base_url)

    # Marketing: contacts, segments, topics, imports, broadcasts, the preference page

    @cached_property
    def marketing_store(self) -> DynamoMarketingStore:
        from chalicelib.adapters.marketing_store import DynamoMarketingStore
        return DynamoMarketingStore(self.table)

    @cached_property
    def marketing_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.marketing_queue_url)

    @cached_property
    def contacts(self) -> ContactService:
        from chalicelib.contacts import ContactService
        return ContactService(self.marketing_store, self.tokens, self.emails, self.templates,
                              self.webhooks.publish, self.settings.public_base_url)

    @cached_property
    def audiences(self) -> AudienceService:
        from chalicelib.audiences import AudienceService
        return AudienceService(self.marketing_store, self.contacts, self.content,
                               self.marketing_queue)

    @cached_property
    def preferences(self) -> PreferenceService:
        from chalicelib.preferences import PreferenceService
        return PreferenceService(self.tokens, self.contacts, self.marketing_store)

    @cached_property
    def broadcasts(self) -> BroadcastService:
        from chalicelib.broadcasts import BroadcastService
        return BroadcastService(self.marketing_store, self.templates, self.marketing_queue)

    @cached_property
    def broadcast_sender(self) -> BroadcastSender:
        from chalicelib.broadcast_sender import BroadcastSender
        tokens, base_url = self.tokens, self.settings.public_base_url

        def unsubscribe_url(account_id: str, broadcast_id: str, address: str) -> str:
            """The same preference page as List-Unsubscribe's, for a link in the body."""
            return f"{base_url}/u/" + tokens.seal("unsubscribe", {
                "a": account_id, "m": broadcast_id,
                "h": tokens.address_hash(account_id, address)})
        return BroadcastSender(self.marketing_store, self.emails, self.suppressions,
                               self.templates, self.marketing_queue, self.logs, unsubscribe_url)


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container(get_settings())
    return _container


def reset() -> None:
    """Forget every client and service; the next call rebuilds from the environment."""
    global _container
    _container = None
    get_settings.cache_clear()


def use(**overrides: Any) -> Container:
    """Replace built pieces (``use(email_sender=fake)``): the seam tests swap fakes through."""
    built = container()
    for name in [n for n in built.__dict__ if n not in ("settings", "_clients")]:
        del built.__dict__[name]  # services built before the swap would keep the old piece
    built.__dict__.update(overrides)
    return built

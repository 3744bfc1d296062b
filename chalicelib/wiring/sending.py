"""Sending: the message store and its listing, templates, suppressions, the API side
(``emails``) and the worker side (``send_worker``, the SES sender)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.wiring.storage import StorageParts

if TYPE_CHECKING:
    from chalicelib.accounts import SendingGate
    from chalicelib.adapters.address_index import AddressIndex
    from chalicelib.adapters.message_store import DynamoMessageStore
    from chalicelib.ports import EmailSender
    from chalicelib.send import EmailService
    from chalicelib.send_worker import SendWorker
    from chalicelib.suppressions import SuppressionService
    from chalicelib.templates import TemplateService


class SendingParts(StorageParts):
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
    def emails(self) -> EmailService:
        from chalicelib.send import EmailService
        return EmailService(self.message_store, self.domain_store, self.send_queue, self.content,
                            self.limits, self.templates, self.settings.queue_offload_bytes,
                            domain_cache_seconds=self.settings.auth_cache_seconds)

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

"""The table, the stores over it, the queues, S3, KMS and the signing keys: what every
capability builds on."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.wiring.parts import Parts

if TYPE_CHECKING:
    from chalicelib.accounts import RetentionDays
    from chalicelib.adapters.account_store import DynamoAccountStore
    from chalicelib.adapters.counter_store import DynamoCounterStore
    from chalicelib.adapters.domain_store import DynamoDomainStore
    from chalicelib.adapters.dynamo import DynamoTable
    from chalicelib.adapters.kms import KmsSecrets
    from chalicelib.adapters.marketing_store import DynamoMarketingStore
    from chalicelib.adapters.purge_store import DynamoPurgeStore
    from chalicelib.adapters.s3 import S3ContentStore
    from chalicelib.adapters.sqs import SqsQueue
    from chalicelib.tokens import TokenSigner


class StorageParts(Parts):
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
    def content(self) -> S3ContentStore:
        from chalicelib.adapters.s3 import S3ContentStore
        return S3ContentStore(self.client("s3"), self.settings.bucket_name)

    @cached_property
    def secrets(self) -> KmsSecrets:
        from chalicelib.adapters.kms import KmsSecrets
        return KmsSecrets(self.client("kms"), self.settings.kms_key_id)

    @cached_property
    def tokens(self) -> TokenSigner:
        from chalicelib.adapters.secrets import DeploymentSecret
        from chalicelib.tokens import TokenSigner
        secret = DeploymentSecret(self.client("secretsmanager"), self.settings.signing_secret_arn)
        return TokenSigner(secret.value)

    @cached_property
    def domain_store(self) -> DynamoDomainStore:
        from chalicelib.adapters.domain_store import DynamoDomainStore
        return DynamoDomainStore(self.table)

    @cached_property
    def marketing_store(self) -> DynamoMarketingStore:
        from chalicelib.adapters.marketing_store import DynamoMarketingStore
        return DynamoMarketingStore(self.table)

    @cached_property
    def purge_store(self) -> DynamoPurgeStore:
        from chalicelib.adapters.purge_store import DynamoPurgeStore
        return DynamoPurgeStore(self.table)

    @cached_property
    def send_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.send_queue_url)

    @cached_property
    def letter_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.letter_queue_url)

    @cached_property
    def webhook_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.webhook_queue_url)

    @cached_property
    def marketing_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.marketing_queue_url)

    @cached_property
    def privacy_queue(self) -> SqsQueue:
        from chalicelib.adapters.sqs import SqsQueue
        return SqsQueue(self.client("sqs"), self.settings.privacy_queue_url)

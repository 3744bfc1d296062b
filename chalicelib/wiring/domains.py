"""Sending domains, their SES identities and DNS checks, DKIM keys, and SMTP credentials."""

from __future__ import annotations

from functools import cached_property, partial
from typing import TYPE_CHECKING

from chalicelib.wiring.storage import StorageParts

if TYPE_CHECKING:
    from chalicelib.adapters.dns_lookup import DnsLookup
    from chalicelib.adapters.ses_identities import SesV2Identities
    from chalicelib.domains import DomainKeyring, DomainService
    from chalicelib.smtp import SmtpCredentialService


class DomainParts(StorageParts):
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

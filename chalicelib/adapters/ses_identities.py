"""SES sending identities: the domain, its custom MAIL FROM and its BYODKIM key.

SES verifies the domain through the same DKIM TXT record Letterbox asks the customer to
publish (BYODKIM), so one record serves both. Letterbox signs every message itself, so SES's
own DKIM signing is switched off. moto implements none of the MAIL FROM or DKIM-attribute
APIs of SES v2; ``LocalSesIdentities`` stands in for them in tests and local mode.
"""

from __future__ import annotations

import base64
from typing import Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from chalicelib.errors import Conflict, RetryableFailure


def _byodkim_key(private_pem: bytes) -> str:
    """SES wants the PKCS#1 RSA key as base64 DER, without PEM armour."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.private_bytes(serialization.Encoding.DER,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    return base64.b64encode(der).decode()


class SesV2Identities:
    def __init__(self, client: Any, configuration_set: str = "") -> None:
        self._client = client
        self._configuration_set = configuration_set

    def create(self, domain: str, selector: str, private_pem: bytes, mail_from: str) -> None:
        request: dict[str, Any] = {
            "EmailIdentity": domain,
            "DkimSigningAttributes": {"DomainSigningSelector": selector,
                                      "DomainSigningPrivateKey": _byodkim_key(private_pem)},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            self._client.create_email_identity(**request)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "AlreadyExistsException":
                raise Conflict(f"{domain} is already a sending identity in this AWS account"
                               ) from err
            raise RetryableFailure("ses create_email_identity failed") from err
        self._configure(domain, mail_from)

    def _configure(self, domain: str, mail_from: str) -> None:
        try:
            self._client.put_email_identity_mail_from_attributes(
                EmailIdentity=domain, MailFromDomain=mail_from,
                BehaviorOnMxFailure="USE_DEFAULT_VALUE")
            self._client.put_email_identity_dkim_attributes(EmailIdentity=domain,
                                                            SigningEnabled=False)
        except ClientError as err:
            raise RetryableFailure("ses identity configuration failed") from err

    def set_dkim_key(self, domain: str, selector: str, private_pem: bytes) -> None:
        """After a rotation: SES verifies the domain through the new selector."""
        try:
            self._client.put_email_identity_dkim_signing_attributes(
                EmailIdentity=domain, SigningAttributesOrigin="EXTERNAL",
                SigningAttributes={"DomainSigningSelector": selector,
                                   "DomainSigningPrivateKey": _byodkim_key(private_pem)})
        except ClientError as err:
            raise RetryableFailure("ses dkim signing attributes failed") from err

    def delete(self, domain: str) -> None:
        try:
            self._client.delete_email_identity(EmailIdentity=domain)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "NotFoundException":
                raise RetryableFailure("ses delete_email_identity failed") from err


class LocalSesIdentities(SesV2Identities):
    """moto: the v2 identity is real; MAIL FROM goes through v1, DKIM attributes are moot."""

    def __init__(self, client: Any, v1_client: Any, configuration_set: str = "") -> None:
        super().__init__(client, configuration_set)
        self._v1 = v1_client

    def _configure(self, domain: str, mail_from: str) -> None:
        self._v1.set_identity_mail_from_domain(Identity=domain, MailFromDomain=mail_from,
                                               BehaviorOnMXFailure="UseDefaultValue")

    def set_dkim_key(self, domain: str, selector: str, private_pem: bytes) -> None:
        _byodkim_key(private_pem)  # same validation as production; moto keeps no key

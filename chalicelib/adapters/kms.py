"""KMS: secrets (DKIM private keys, webhook secrets) encrypted under the data key.

The encryption context binds each ciphertext to its owner, so a ciphertext copied onto
another account's item will not decrypt.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import RetryableFailure


class KmsSecrets:
    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes:
        try:
            response = self._client.encrypt(KeyId=self._key_id, Plaintext=plaintext,
                                            EncryptionContext=context)
        except ClientError as err:
            raise RetryableFailure("kms encrypt failed") from err
        return bytes(response["CiphertextBlob"])

    def decrypt(self, ciphertext: bytes, context: dict[str, str]) -> bytes:
        try:
            response = self._client.decrypt(CiphertextBlob=ciphertext, EncryptionContext=context,
                                            KeyId=self._key_id)
        except ClientError as err:
            raise RetryableFailure("kms decrypt failed") from err
        return bytes(response["Plaintext"])

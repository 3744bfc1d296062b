"""``Idempotency-Key`` for creating POSTs, through Powertools Idempotency on DynamoDB.

Same key and body: the stored response, marked ``Idempotent-Replayed: true``. Same key with
another body, or while the first request still runs: 409. Records live 24 hours (the
retention policy's idempotency row). Failed requests are not stored, so they can be retried.

A response that carries a secret (a webhook's ``whsec_``, a password, a key) is stored with
those fields encrypted under the deployment's KMS key (context: this request's key hash), so
the table never holds the secret in clear and a replay still returns it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.retention import RULES, DataClass

MAX_KEY_LENGTH = 255
# Response body fields that hold a secret shown once (webhook secret, SMTP password, API key).
SECRET_FIELDS = ("secret", "password", "api_key")
_SEALED = "sealed:"


class Sealer(Protocol):
    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes: ...
    def decrypt(self, ciphertext: bytes, context: dict[str, str]) -> bytes: ...


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed("Idempotency-Key must be 1 to 255 printable characters",
                               details=[{"field": "Idempotency-Key"}])
    return key


class IdempotentRequests:
    def __init__(self, table_name: str, client: Any, sealer: Sealer) -> None:
        self._sealer = sealer
        from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer,
                                                                 IdempotencyConfig)
        days = RULES[DataClass.IDEMPOTENCY].days or 1
        self._persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        self._config = IdempotencyConfig(
            event_key_jmespath="key", payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True, expires_after_seconds=days * 86400,
            hash_function="sha256", response_hook=self._mark_replayed)  # type: ignore[arg-type]

    @staticmethod
    def _mark_replayed(response: Any, record: Any) -> Any:
        return {**response, "replayed": True}

    def run(self, key: str, body: Any, compute: Callable[[], dict[str, Any]],
            lambda_context: Any = None) -> dict[str, Any]:
        """``compute()`` once per key; its result (JSON-safe) is what replays return."""
        from aws_lambda_powertools.utilities.idempotency import idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError, IdempotencyValidationError)

        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            self._config.register_lambda_context(lambda_context)

        context = {"purpose": "idempotency",
                   "request": hashlib.sha256(key.encode()).hexdigest()}
        first: dict[str, Any] = {}

        @idempotent_function(data_keyword_argument="request", config=self._config,  # type: ignore[untyped-decorator]
                             persistence_store=self._persistence, key_prefix="letterbox")
        def once(request: dict[str, Any]) -> dict[str, Any]:
            first["result"] = compute()
            return self._seal(first["result"], context)  # what the table keeps

        try:
            result: dict[str, Any] = once(request={"key": key, "body": body})
        except IdempotencyValidationError as err:
            raise Conflict("this Idempotency-Key was already used with a different request "
                           "body", details=[{"field": "Idempotency-Key"}]) from err
        except IdempotencyAlreadyInProgressError as err:
            raise Conflict("a request with this Idempotency-Key is still in progress",
                           details=[{"field": "Idempotency-Key"}]) from err
        return first["result"] if "result" in first else self._unseal(result, context)

    def _seal(self, response: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
        body = response.get("body")
        if not isinstance(body, dict) or not any(isinstance(body.get(f), str)
                                                 for f in SECRET_FIELDS):
            return response
        sealed = {name: (_SEALED + base64.b64encode(self._sealer.encrypt(
                      value.encode(), context)).decode()
                  if name in SECRET_FIELDS and isinstance(value, str) else value)
                  for name, value in body.items()}
        return {**response, "body": sealed}

    def _unseal(self, response: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
        body = response.get("body")
        if not isinstance(body, dict):
            return response
        clear = {name: (self._sealer.decrypt(base64.b64decode(value[len(_SEALED):]),
                                             context).decode()
                        if name in SECRET_FIELDS and isinstance(value, str)
                        and value.startswith(_SEALED) else value)
                 for name, value in body.items()}
        return {**response, "body": clear}

"""``Idempotency-Key`` for creating POSTs, through Powertools Idempotency on DynamoDB.

Same key and body: the stored response, marked ``Idempotent-Replayed: true``. Same key with
another body, or while the first request still runs: 409. Records live 24 hours (the
retention policy's idempotency row). Failed requests are not stored, so they can be retried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.retention import RULES, DataClass

MAX_KEY_LENGTH = 255


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed("Idempotency-Key must be 1 to 255 printable characters",
                               details=[{"field": "Idempotency-Key"}])
    return key


class IdempotentRequests:
    def __init__(self, table_name: str, client: Any) -> None:
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

        @idempotent_function(data_keyword_argument="request", config=self._config,  # type: ignore[untyped-decorator]
                             persistence_store=self._persistence, key_prefix="letterbox")
        def once(request: dict[str, Any]) -> dict[str, Any]:
            return compute()

        try:
            result: dict[str, Any] = once(request={"key": key, "body": body})
        except IdempotencyValidationError as err:
            raise Conflict("this Idempotency-Key was already used with a different request "
                           "body", details=[{"field": "Idempotency-Key"}]) from err
        except IdempotencyAlreadyInProgressError as err:
            raise Conflict("a request with this Idempotency-Key is still in progress",
                           details=[{"field": "Idempotency-Key"}]) from err
        return result

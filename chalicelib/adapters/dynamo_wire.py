"""DynamoDB's wire format and errors: items go in with numbers as Decimals and come back
with int and float, and DynamoDB's errors become ours (``raise_for``)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import PayloadTooLarge, RetryableFailure

Item = dict[str, Any]
Key = dict[str, str]
IndexKey = tuple[str, str]  # (index name, partition key in it)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException",
              "RequestLimitExceeded", "InternalServerError", "TransactionConflictException",
              "ServiceUnavailable", "InternalFailure", "TransactionInProgressException",
              "LimitExceededException"}


class ConditionFailed(Exception):
    """The write's condition did not hold (the item changed, or was not there).

    For a transaction, ``failed`` holds the indexes of the operations whose condition failed.
    """

    def __init__(self, code: str, failed: tuple[int, ...] = ()) -> None:
        super().__init__(code)
        self.failed = failed


def _to_dynamo(value: Any) -> Any:
    """DynamoDB numbers are Decimals; floats go in through their shortest repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    """And come back as int or float, so nothing above the adapter sees a Decimal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


def to_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in item.items() if v is not None}


def from_wire(item: Mapping[str, Any]) -> Item:
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


def raise_for(err: ClientError | BotoCoreError) -> None:
    """Our errors for DynamoDB's: a failed condition, or "try again" for throttling,
    conflicts, timeouts and 5xx (the API answers 503 + Retry-After, a queue record retries).
    """
    if isinstance(err, BotoCoreError):  # timeouts, refused connections: nothing answered
        raise RetryableFailure(f"dynamodb unreachable: {type(err).__name__}") from err
    code = err.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        raise ConditionFailed(code) from err
    if code == "TransactionCanceledException":
        reasons = err.response.get("CancellationReasons", [])
        failed = tuple(i for i, r in enumerate(reasons)
                       if r.get("Code") == "ConditionalCheckFailed")
        if failed:
            raise ConditionFailed(code, failed) from err
    message = str(err.response.get("Error", {}).get("Message", ""))
    if code == "ValidationException" and "exceeded the maximum allowed size" in message:
        # DynamoDB's 400 KB item limit: the caller's data is too big, not our bug
        raise PayloadTooLarge("the item is larger than storage allows (400 KB)") from err
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in _RETRYABLE or code == "TransactionCanceledException" or status >= 500:
        raise RetryableFailure(f"dynamodb {code}") from err
    raise err

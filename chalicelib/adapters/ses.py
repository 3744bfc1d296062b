"""SES v2: raw sends through the configuration set; errors mapped to transient/permanent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import (ClientError, ConnectionClosedError, ConnectTimeoutError,
                                 EndpointConnectionError, ReadTimeoutError)

from chalicelib.errors import OutcomeUnknown, PermanentFailure, RetryableFailure
from chalicelib.ports import EmailSender

_TRANSIENT = {"Throttling", "ThrottlingException", "TooManyRequestsException",
              "LimitExceededException", "ServiceUnavailable", "InternalFailure",
              "InternalServiceError", "RequestTimeout"}


class SesEmailSender:
    def __init__(self, client: Any, configuration_set: str = "") -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send_raw(self, message_id: str, raw: bytes, sender: str, destinations: list[str],
                 tags: list[dict[str, str]] | None = None) -> str:
        """Hand the signed message to SES; returns SES's message id."""
        customer = [{"Name": t["name"], "Value": t["value"]} for t in tags or []
                    if t["name"] != "letterbox_id"]
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": destinations},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": "letterbox_id", "Value": message_id}, *customer[:49]],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:  # the client makes one attempt: a repeated send could deliver the mail twice
            response = self._client.send_email(**request)
        except (ConnectTimeoutError, EndpointConnectionError) as err:
            raise RetryableFailure("ses unreachable") from err  # the request never left
        except (ReadTimeoutError, ConnectionClosedError) as err:
            raise OutcomeUnknown("ses did not answer") from err  # SES may have accepted it
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            if code in _TRANSIENT or status >= 500 or status == 429:
                raise RetryableFailure(f"ses {code}") from err
            raise PermanentFailure(f"ses refused the message: {code}") from err
        return str(response["MessageId"])


class OutboxRecorder:
    """Local mode: keep the exact bytes handed to SES as ``<outbox>/<em_id>.eml``."""

    def __init__(self, inner: EmailSender, outbox: Path) -> None:
        self._inner = inner
        self._outbox = outbox

    def send_raw(self, message_id: str, raw: bytes, sender: str, destinations: list[str],
                 tags: list[dict[str, str]] | None = None) -> str:
        ses_id = self._inner.send_raw(message_id, raw, sender, destinations, tags)
        self._outbox.mkdir(parents=True, exist_ok=True)
        (self._outbox / f"{message_id}.eml").write_bytes(raw)
        return ses_id

"""Logging and metrics. Addresses are masked in the formatter, so no call site can leak one."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

# Anything shaped like an email address, in any field of any log line.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}")


def mask_addresses(text: str) -> str:
    """``jane@example.com`` → ``j***@example.com``: enough to debug, not to identify."""
    return _ADDRESS.sub(lambda m: f"{m.group(0)[0]}***@{m.group(0).split('@', 1)[1]}", text)


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return mask_addresses(super().serialize(log))


# The service name must differ from the Chalice app name, or every line prints twice.
SERVICE = "letterbox-core"
logger = Logger(service=SERVICE, logger_formatter=MaskingFormatter())
metrics = Metrics(namespace="Letterbox", service=SERVICE)

"""Logging and metrics. Email and postal addresses are masked in the formatter, so no call
site can leak one: email addresses wherever they appear, postal addresses by field name
(``address_line1``, ``city``, ``postal_code``…) and by street shape in free text."""

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


# Fields that hold a piece of a postal address (ours, Lob's, and the carriers' names).
POSTAL_FIELDS = frozenset({
    "address_line1", "address_line2", "line1", "line2", "primary_line", "secondary_line",
    "street", "street_lines", "streetlines", "streetaddress", "street_address", "address1",
    "address2", "addressline1", "addressline2", "city", "address_city", "cityname",
    "postal_code", "postalcode", "zip", "zip_code", "zipcode", "zip5", "zip4", "zipplus4",
    "address_zip", "urbanization", "recipient_name", "company", "firm", "firmname",
})
# "123 Main St", "4 Elm Avenue Apt 5": a number, up to four words, a street suffix.
_STREET = re.compile(
    r"\b\d{1,6}(?:\s+[A-Za-z0-9.'-]+){1,4}?\s+(?:street|st|avenue|ave|road|rd|boulevard|blvd|"
    r"lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|highway|hwy|parkway|pkwy|circle|cir|"
    r"square|sq|strasse|straße|weg|rue)\b\.?", re.IGNORECASE)


def mask_postal(value: Any, key: str = "") -> Any:
    """Postal-address fields become ``***``; street-shaped text inside strings is masked."""
    if key.lower() in POSTAL_FIELDS and value not in (None, "", [], {}):
        return "***"
    if isinstance(value, dict):
        # An address block's ``name`` is the addressee's: masked with the rest of it.
        block = any(str(k).lower() in POSTAL_FIELDS for k in value)
        return {k: "***" if block and str(k).lower() in ("name", "company_name") and v
                else mask_postal(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_postal(v) for v in value]
    if isinstance(value, str):
        return _STREET.sub("[street]", value)
    return value


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return mask_addresses(super().serialize(mask_postal(log)))


# The service name must differ from the Chalice app name, or every line prints twice.
SERVICE = "letterbox-core"
logger = Logger(service=SERVICE, logger_formatter=MaskingFormatter())
metrics = Metrics(namespace="Letterbox", service=SERVICE)

"""AWS list prices and the cost model: one table for ``make bench`` and the dashboard.

US East (N. Virginia) list prices as published in 2026; change them here to re-price both.
"""

from __future__ import annotations

PRICES = {
    "ses_per_email": 0.10 / 1000,
    "lambda_gb_second": 0.0000166667,  # x86
    "lambda_request": 0.20 / 1e6,
    "api_gateway_request": 3.50 / 1e6,  # REST API, first 333 M a month
    "api_gateway_http_request": 1.00 / 1e6,  # HTTP API (v2), first 300 M a month
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand
    "dynamodb_read_unit": 0.125 / 1e6,
    "sns_publish": 0.50 / 1e6,  # SES publishing an event; SNS → SQS delivery is free
    "kms_request": 0.03 / 10_000,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "logs_ingested_gb": 0.50,
}
# What one email uses, stated from `make bench`'s single send through the API with one
# delivery event (docs/benchmarks.md): the API call (512 MB, ≈ 50 ms billed), the worker and
# the event (256 MB each, ≈ 145 ms and ≈ 40 ms billed), 4 + 5 + 3 base-table write units.
PER_EMAIL_USAGE = {
    "ses_per_email": 1, "api_gateway_http_request": 1, "lambda_request": 3,
    "lambda_gb_second": 0.05 * 0.5 + (0.145 + 0.04) * 0.25, "sqs_request": 5,
    "dynamodb_write_unit": 12, "dynamodb_read_unit": 0.5, "sns_publish": 1,
    "logs_ingested_gb": 3 * 1200 / 1e9,
}


def per_email_cost() -> float:
    """Dollars one email costs in AWS, by the stated usage at list prices."""
    return sum(PRICES[name] * amount for name, amount in PER_EMAIL_USAGE.items())


def estimate(emails: int) -> dict[str, float]:
    """The cost of sending ``emails`` emails: SES alone, and everything together."""
    return {"ses": round(emails * PRICES["ses_per_email"], 2),
            "total": round(emails * per_email_cost(), 2)}

"""AWS cost per 1,000 emails at US East list prices, from the requests, capacity units and
durations counted by ``aws_requests`` (same run). Shown beside SES alone ($0.10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.costs import PRICES

ROOT = Path(__file__).resolve().parents[1]
# Assumptions, stated: real AWS adds this much latency per request to a Lambda's billed
# time (moto answers in-process), and a Lambda invocation logs about this much.
LATENCY_MS = {"dynamodb": 6.0, "sqs": 8.0, "sesv2": 30.0, "s3": 15.0, "kms": 8.0,
              "secretsmanager": 10.0, "sns": 10.0}
LOG_BYTES_PER_INVOCATION = 1200  # START/END/REPORT lines and one EMF metrics line


def memory_gb() -> float:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return float(config.get("lambda_memory_size", 128)) / 1024


def per_email(run: dict[str, Any]) -> dict[str, float]:
    """Dollars per email, by service, for one measured scenario."""
    emails, phases = run["emails"], run["phases"]
    requests: dict[str, int] = {}
    for phase in phases.values():
        for name, count in phase["by_operation"].items():
            service = name.split(".", 1)[0]
            requests[service] = requests.get(service, 0) + count
    invocations = sum(p["invocations"] for p in phases.values())
    billed_ms = sum(p["wall_ms"] for p in phases.values()) + sum(
        LATENCY_MS.get(service, 10.0) * count for service, count in requests.items())
    # Events come through SQS, not the API; the send path is routed through the stack's HTTP
    # API (infra/resources.yaml, SendHttpApi), the rest of the API stays on REST.
    api_requests = phases["api"]["invocations"]
    cost = {
        "ses": PRICES["ses_per_email"] * requests.get("sesv2", 0),
        "lambda": (billed_ms / 1000 * memory_gb() * PRICES["lambda_gb_second"]
                   + invocations * PRICES["lambda_request"]),
        "api_gateway": api_requests * PRICES["api_gateway_http_request"],
        "sqs": (requests.get("sqs", 0) + (run["sqs_event_source_batches"]
                                          + run["event_batches"]) * 2) * PRICES["sqs_request"],
        "dynamodb": (sum(p["write_units"] for p in phases.values())
                     * PRICES["dynamodb_write_unit"]
                     + sum(p["read_units"] for p in phases.values())
                     * PRICES["dynamodb_read_unit"]),
        "sns": emails * PRICES["sns_publish"],  # one Delivery event per email
        "kms": requests.get("kms", 0) * PRICES["kms_request"],
        "s3": requests.get("s3", 0) * PRICES["s3_put"],
        "cloudwatch_logs": invocations * LOG_BYTES_PER_INVOCATION / 1e9
        * PRICES["logs_ingested_gb"],
    }
    return {name: value / emails for name, value in cost.items()}


def run(requests: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"prices": PRICES, "latency_ms_assumed": LATENCY_MS,
                           "memory_gb": memory_gb()}
    for scenario in ("single", "batch_100"):
        parts = {k: v * 1000 for k, v in per_email(requests[scenario]).items()}
        total = sum(parts.values())
        out[scenario] = {"per_1000_by_service": parts, "per_1000_total": total,
                         "ses_alone_per_1000": parts["ses"],
                         "over_ses": total / parts["ses"] - 1}
    return out

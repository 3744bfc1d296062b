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
# Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB. CPU
# measured here on one core therefore takes 1769/MB times as long below that.
FULL_VCPU_MB = 1769
FUNCTION_OF_PHASE = {"api": "api_handler", "worker": "send_worker",
                     "events": "ingest_ses_events"}


def memory_gb(function: str | None = None) -> float:
    """The memory a function is configured with (``.chalice/config.json``), in GB."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    own = (config.get("lambda_functions", {}).get(function or "", {})
           .get("lambda_memory_size"))
    return float(own or config.get("lambda_memory_size", 128)) / 1024


def billed_ms(phase: dict[str, Any], memory: float) -> float:
    """What Lambda bills for a phase: our own CPU (moto's taken out), slowed to the share of
    a vCPU the memory buys, plus the assumed network latency of each AWS request."""
    slowdown = max(1.0, FULL_VCPU_MB / (memory * 1024))
    latency = sum(LATENCY_MS.get(name.split(".", 1)[0], 10.0) * count
                  for name, count in phase["by_operation"].items())
    return float(phase["our_cpu_ms"]) * slowdown + latency


def per_email(run: dict[str, Any]) -> dict[str, float]:
    """Dollars per email, by service, for one measured scenario."""
    emails, phases = run["emails"], run["phases"]
    requests: dict[str, int] = {}
    for phase in phases.values():
        for name, count in phase["by_operation"].items():
            service = name.split(".", 1)[0]
            requests[service] = requests.get(service, 0) + count
    invocations = sum(p["invocations"] for p in phases.values())
    gb_seconds = sum(billed_ms(phase, memory_gb(FUNCTION_OF_PHASE[name])) / 1000
                     * memory_gb(FUNCTION_OF_PHASE[name]) for name, phase in phases.items())
    # Events come through SQS, not the API; the send path is routed through the stack's HTTP
    # API (infra/resources.yaml, SendHttpApi), the rest of the API stays on REST.
    api_requests = phases["api"]["invocations"]
    cost = {
        "ses": PRICES["ses_per_email"] * requests.get("sesv2", 0),
        "lambda": (gb_seconds * PRICES["lambda_gb_second"]
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


def index_writes_per_email(run: dict[str, Any]) -> float:
    """Dollars per email of the index replicas DynamoDB also bills (``gsi2`` listings,
    ``by_expiry``): shown beside the total, kept out of it as the issue's model was."""
    units = sum(p.get("index_write_units", 0) for p in run["phases"].values())
    return float(units) * PRICES["dynamodb_write_unit"] / run["emails"]


def run(requests: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"prices": PRICES, "latency_ms_assumed": LATENCY_MS,
                           "memory_gb": {phase: memory_gb(function)
                                         for phase, function in FUNCTION_OF_PHASE.items()},
                           "full_vcpu_mb": FULL_VCPU_MB}
    for scenario in ("single", "batch_100"):
        parts = {k: v * 1000 for k, v in per_email(requests[scenario]).items()}
        total = sum(parts.values())
        out[scenario] = {"per_1000_by_service": parts, "per_1000_total": total,
                         "ses_alone_per_1000": parts["ses"],
                         "over_ses": total / parts["ses"] - 1,
                         "index_writes_per_1000": 1000 * index_writes_per_email(
                             requests[scenario]),
                         "billed_ms": {name: billed_ms(phase, memory_gb(FUNCTION_OF_PHASE[name]))
                                       for name, phase in requests[scenario]["phases"].items()}}
    return out

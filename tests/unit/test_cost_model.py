"""The cost model prices what the benchmark counted; check its arithmetic on a known run."""

from __future__ import annotations

import pytest

from bench.cost import (FULL_VCPU_MB, PRICES, billed_ms, index_writes_per_email, memory_gb,
                        per_email)


def _run() -> dict:
    phase = {"by_operation": {}, "write_units": 0, "index_write_units": 0, "read_units": 0,
             "wall_ms": 0.0, "our_cpu_ms": 0.0, "invocations": 0}
    return {"emails": 10, "sqs_event_source_batches": 1, "event_batches": 1, "phases": {
        "api": {**phase, "by_operation": {"sqs.SendMessageBatch": 1}, "invocations": 1,
                "our_cpu_ms": 4.0},
        "worker": {**phase, "by_operation": {"sesv2.SendEmail": 10, "dynamodb.UpdateItem": 10},
                   "write_units": 40, "index_write_units": 30, "read_units": 5,
                   "wall_ms": 5000.0, "our_cpu_ms": 100.0, "invocations": 1},
        "events": {**phase, "write_units": 60, "index_write_units": 20, "invocations": 1}}}


def test_cost_per_email_adds_each_service_from_its_counts() -> None:
    cost = per_email(_run())
    assert cost["ses"] == pytest.approx(PRICES["ses_per_email"])
    assert cost["dynamodb"] == pytest.approx(
        (100 * PRICES["dynamodb_write_unit"] + 5 * PRICES["dynamodb_read_unit"]) / 10)
    # The send path goes through the HTTP API (infra: SendHttpApi), not REST's 3.5x price.
    assert cost["api_gateway"] == pytest.approx(PRICES["api_gateway_http_request"] / 10)
    assert cost["sqs"] == pytest.approx((1 + 2 * 2) * PRICES["sqs_request"] / 10)


def test_lambda_bills_our_cpu_at_the_memorys_vcpu_share_plus_latency_not_moto() -> None:
    """Bug caught: billing the in-process wall time (moto's work and the machine's load
    included; 5 s here) made Lambda look ten times dearer than the handler's own work."""
    run = _run()
    gb = {name: memory_gb(function) for name, function in
          (("api", "api_handler"), ("worker", "send_worker"), ("events", "ingest_ses_events"))}
    api_ms = 4.0 * max(1.0, FULL_VCPU_MB / (gb["api"] * 1024)) + 8
    worker_ms = 100.0 * max(1.0, FULL_VCPU_MB / (gb["worker"] * 1024)) + 10 * 30 + 10 * 6
    events_ms = 0.0
    assert billed_ms(run["phases"]["worker"], gb["worker"]) == pytest.approx(worker_ms)
    gb_s = (api_ms * gb["api"] + worker_ms * gb["worker"] + events_ms * gb["events"]) / 1000
    assert per_email(run)["lambda"] == pytest.approx(
        (gb_s * PRICES["lambda_gb_second"] + 3 * PRICES["lambda_request"]) / 10)


def test_io_bound_functions_are_sized_below_the_api_and_cpu_costs_the_same_gb_seconds() -> None:
    """Bug caught: a memory change that only moved the price because the model ignored that
    Lambda's CPU share shrinks with memory (CPU GB-seconds stay the same below 1,769 MB)."""
    assert memory_gb("send_worker") == memory_gb("ingest_ses_events") == 0.25
    assert memory_gb("api_handler") == 0.5
    cpu_only = {"by_operation": {}, "our_cpu_ms": 10.0}
    assert (billed_ms(cpu_only, 0.25) * 0.25) == pytest.approx(billed_ms(cpu_only, 0.5) * 0.5)


def test_index_replica_writes_are_priced_apart() -> None:
    assert index_writes_per_email(_run()) == pytest.approx(50 * PRICES["dynamodb_write_unit"]
                                                           / 10)

"""The cost model prices what the benchmark counted; check its arithmetic on a known run."""

from __future__ import annotations

import pytest

from bench.cost import PRICES, memory_gb, per_email


def test_cost_per_email_adds_each_service_from_its_counts() -> None:
    phase = {"by_operation": {}, "write_units": 0, "read_units": 0, "wall_ms": 0.0,
             "invocations": 0}
    run = {"emails": 10, "sqs_event_source_batches": 1, "event_batches": 1, "phases": {
        "api": {**phase, "by_operation": {"sqs.SendMessageBatch": 1}, "invocations": 1},
        "worker": {**phase, "by_operation": {"sesv2.SendEmail": 10, "dynamodb.UpdateItem": 10},
                   "write_units": 40, "read_units": 5, "wall_ms": 100.0, "invocations": 1},
        "events": {**phase, "write_units": 60, "invocations": 1}}}
    cost = per_email(run)
    assert cost["ses"] == pytest.approx(PRICES["ses_per_email"])
    assert cost["dynamodb"] == pytest.approx(
        (100 * PRICES["dynamodb_write_unit"] + 5 * PRICES["dynamodb_read_unit"]) / 10)
    # The send path goes through the HTTP API (infra: SendHttpApi), not REST's 3.5x price.
    assert cost["api_gateway"] == pytest.approx(PRICES["api_gateway_http_request"] / 10)
    assert cost["sqs"] == pytest.approx((1 + 2 * 2) * PRICES["sqs_request"] / 10)
    billed_s = (100 + 10 * 30 + 10 * 6 + 1 * 8) / 1000
    assert cost["lambda"] == pytest.approx(
        (billed_s * memory_gb() * PRICES["lambda_gb_second"] + 3 * PRICES["lambda_request"])
        / 10)

"""Fixtures integration tests share: the Chalice client, and a recorder of AWS requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient
from chalice.test import Client

from tests.conftest import ROOT


@pytest.fixture
def client(stack: Any) -> Iterator[Any]:
    """The app under ``chalice.test.Client``, against the test stack."""
    import app as app_module
    with Client(app_module.app, stage_name="dev", project_dir=str(ROOT)) as chalice_client:
        yield chalice_client


class AwsCalls:
    """Every AWS request made through any botocore client, with its parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        taken, self.calls = self.calls, []
        return taken


@pytest.fixture
def aws_calls(monkeypatch) -> AwsCalls:
    recorder = AwsCalls()
    original = BaseClient._make_api_call

    def recorded(self: Any, operation: str, params: dict[str, Any]) -> Any:
        recorder.calls.append((operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return recorder


@pytest.fixture
def suppression_reads(monkeypatch) -> Iterator[dict[str, int]]:
    """Every read of the suppression store, by kind (batched or one address)."""
    from chalicelib.adapters.suppression_store import DynamoSuppressionStore
    counts = {"get_many": 0, "get": 0}
    for name in counts:
        original = getattr(DynamoSuppressionStore, name)

        def counted(self: Any, *args: Any, _name: str = name, _original: Any = original) -> Any:
            counts[_name] += 1
            return _original(self, *args)
        monkeypatch.setattr(DynamoSuppressionStore, name, counted)
    yield counts

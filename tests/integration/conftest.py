"""Fixtures the dashboard's integration tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import ROOT


@pytest.fixture
def client(stack: Any) -> Iterator[Any]:
    """The app under ``chalice.test.Client``, against the test stack."""
    import app as app_module
    with Client(app_module.app, stage_name="dev", project_dir=str(ROOT)) as chalice_client:
        yield chalice_client

"""Shared fixtures: a moto AWS provisioned from infra/, the app, a seeded account."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


@dataclass
class Stack:
    session: Any
    env: dict[str, str]

    def client(self, service: str) -> Any:
        return self.session.client(service)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Stack]:
    """moto, with credentials set before any client exists, provisioned from the template."""
    from chalicelib import wiring
    from letterbox.local.provision import provision

    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LETTERBOX_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("LETTERBOX_DNS_ZONE_FILE", str(tmp_path / "zone.txt"))
    monkeypatch.setenv("LETTERBOX_LOCAL_MODE", "true")
    monkeypatch.setenv("LETTERBOX_LETTERS_DIR", str(tmp_path / "letters"))
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        env = provision(session, "letterbox-test",
                        {"PublicBaseUrl": "https://api.letterbox.example"})
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        yield Stack(session=session, env=env)
    wiring.reset()


@pytest.fixture
def account(stack: Stack) -> Any:
    from chalicelib import wiring
    from letterbox.local.seed import seed_account
    return seed_account(wiring.container())


@pytest.fixture
def other_account(stack: Stack) -> Any:
    from chalicelib import wiring
    from letterbox.local.seed import seed_account
    return seed_account(wiring.container(), name="other", domain="other.example.org")


class ApiResponse:
    def __init__(self, raw: Any) -> None:
        self.status_code: int = raw.status_code
        self.headers: dict[str, str] = {k.lower(): v for k, v in raw.headers.items()}
        self.body: bytes = raw.body or b""

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class ApiClient:
    """``chalice.test.Client`` plus a check that every answer is one the OpenAPI doc declares."""

    def __init__(self, client: Any, app_module: Any) -> None:
        self._client = client
        self._operations = [op for api in app_module.APIS for op in api.operations]

    def request(self, method: str, path: str, body: Any = None, key: str | None = None,
                headers: dict[str, str] | None = None, raw: bytes | str | None = None
                ) -> ApiResponse:
        sent = dict(headers or {})
        if key is not None:
            sent.setdefault("Authorization", f"Bearer {key}")
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if payload is not None:
            sent.setdefault("Content-Type", "application/json")
        response = ApiResponse(self._client.http.request(method, path, headers=sent,
                                                          body=payload or b""))
        self._check_documented(method, path, response)
        return response

    def post(self, path: str, body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", path, body, **kw)

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def _check_documented(self, method: str, path: str, response: ApiResponse) -> None:
        from chalicelib.api.openapi import responses_of
        bare = path.split("?", 1)[0]
        for op in self._operations:
            pattern = "^" + re.sub(r"{\w+}", "[^/]+", op.path) + "$"
            if op.method == method and re.match(pattern, bare):
                declared = responses_of(op)
                assert response.status_code in declared, (
                    f"{method} {op.path} answered {response.status_code}, "
                    f"which its OpenAPI operation does not declare")
                model = declared[response.status_code]
                if model is not None:
                    model.model_validate(response.json)
                return
        assert response.status_code in (404, 405), f"{method} {path} is not a declared route"


@pytest.fixture
def api(stack: Stack) -> Iterator[ApiClient]:
    from chalice.test import Client

    import app as app_module
    with Client(app_module.app, stage_name="dev", project_dir=str(ROOT)) as client:
        yield ApiClient(client, app_module)


def drain_send_queue(stack: Stack) -> int:
    """Feed queued sends to the real worker handler, as Lambda's event source would."""
    import app as app_module
    from letterbox.local.pump import drain_once
    handled = 0
    while True:
        count = drain_once(stack.client("sqs"), stack.env["LETTERBOX_SEND_QUEUE_URL"],
                           app_module.send_worker, "send_worker")
        if not count:
            return handled
        handled += count


@pytest.fixture
def drain(stack: Stack) -> Any:
    return lambda: drain_send_queue(stack)


def drain_privacy_queue(stack: Stack) -> int:
    """Run queued erasure jobs and index backfills, as their Lambda would."""
    import app as app_module
    from letterbox.local.pump import drain_once
    total = 0
    while count := drain_once(stack.client("sqs"), stack.env["LETTERBOX_PRIVACY_QUEUE_URL"],
                              app_module.run_privacy_jobs, "run_privacy_jobs"):
        total += count
    return total


@pytest.fixture
def drain_privacy(stack: Stack) -> Any:
    return lambda: drain_privacy_queue(stack)


def erase(api: ApiClient, stack: Stack, key: str, email: str) -> dict[str, Any]:
    """POST /v1/privacy/erasure, run the job, and answer the job's final record."""
    started = api.post("/v1/privacy/erasure", {"email": email}, key=key)
    assert started.status_code == 202, started.json
    drain_privacy_queue(stack)
    done = api.get(f"/v1/privacy/erasure/{started.json['id']}", key=key)
    assert done.status_code == 200 and done.json["state"] == "done", done.json
    return dict(done.json)


class LogCapture:
    def __init__(self, stream: Any, capfd: Any) -> None:
        self._stream, self._capfd = stream, capfd

    def text(self) -> str:
        """Everything logged so far: our formatter's lines, the root logger's, stdout/err."""
        out, err = self._capfd.readouterr()
        return str(self._stream.getvalue()) + out + err


@pytest.fixture
def logs(capfd: pytest.CaptureFixture[str]) -> Iterator[LogCapture]:
    """Every log line a test's flow writes, through the formatter production uses."""
    import io
    import logging

    from chalicelib.observability import logger
    stream = io.StringIO()
    ours = logging.StreamHandler(stream)
    ours.setFormatter(logger.registered_formatter)
    others = logging.StreamHandler(stream)
    logger.addHandler(ours)
    logging.getLogger().addHandler(others)
    try:
        yield LogCapture(stream, capfd)
    finally:
        logger.removeHandler(ours)
        logging.getLogger().removeHandler(others)

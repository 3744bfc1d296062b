"""A client generated from /v1/openapi.json (openapi-python-client, offline) sends an email.

Bug caught: a document that validates yet cannot drive a generator: schemas it cannot
model, a missing request body or Idempotency-Key parameter, unreadable method names
(``post_v1_emails``), or responses the generated parser refuses.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _bridge(chalice_client: Any) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        raw = chalice_client.http.request(request.method, request.url.raw_path.decode(),
                                          headers=dict(request.headers),
                                          body=request.content or b"")
        return httpx.Response(raw.status_code, headers=dict(raw.headers), content=raw.body)
    return httpx.MockTransport(handle)


def test_generated_client_sends_an_email(api, account, tmp_path: Path, monkeypatch) -> None:
    document = api.get("/v1/openapi.json").json
    (tmp_path / "doc.json").write_text(json.dumps(document))
    (tmp_path / "config.yaml").write_text("post_hooks: []\n"
                                          "project_name_override: letterbox-client\n"
                                          "package_name_override: letterbox_client\n")
    generator = Path(sys.executable).parent / "openapi-python-client"
    subprocess.run([str(generator), "generate", "--path", "doc.json", "--config",
                    "config.yaml", "--output-path", "out"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    monkeypatch.syspath_prepend(str(tmp_path / "out"))
    client_module = importlib.import_module("letterbox_client")
    send_email = importlib.import_module("letterbox_client.api.emails.send_email")
    get_email = importlib.import_module("letterbox_client.api.emails.get_email")
    models = importlib.import_module("letterbox_client.models")

    from chalice.test import Client

    import app as app_module
    with Client(app_module.app, stage_name="dev", project_dir=str(ROOT)) as chalice_client:
        client = client_module.AuthenticatedClient(
            base_url="http://letterbox.test", token=account.api_key,
            httpx_args={"transport": _bridge(chalice_client)})
        body = models.SendEmailRequest.from_dict({
            "from": f"hi@{account.domain}", "to": "a@example.net", "subject": "Generated",
            "text": "from a generated client"})
        accepted = send_email.sync(client=client, body=body, idempotency_key="gen-1")
        assert isinstance(accepted, models.EmailAccepted), accepted
        again = send_email.sync(client=client, body=body, idempotency_key="gen-1")
        assert again.id == accepted.id
        email = get_email.sync(client=client, email_id=accepted.id)
        assert isinstance(email, models.EmailOut) and email.subject == "Generated"

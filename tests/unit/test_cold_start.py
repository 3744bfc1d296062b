"""What a new Lambda imports before its first request stays small: no pydantic models, no
boto3, no DNS or DKIM libraries (make bench measures the time; this guards the property)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_app_loads_no_models_and_no_aws_sdk() -> None:
    probe = "import sys, json, app; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], cwd=ROOT,
                                           capture_output=True, text=True,
                                           check=True).stdout))
    for heavy in ("pydantic", "boto3", "botocore.client", "dns.resolver", "dkim", "jinja2",
                  "chalicelib.models", "chalicelib.email_models", "chalicelib.letter_models",
                  "chalicelib.log_models", "chalicelib.webhook_models", "requests"):
        assert heavy not in loaded, f"{heavy} is imported at cold start"


def test_every_model_reference_resolves() -> None:
    import app
    from chalicelib.api.openapi import body_of, responses_of
    for api in app.APIS:
        for op in api.operations:
            body_of(op)
            responses_of(op)


def test_settings_name_a_bad_variable(monkeypatch) -> None:
    from chalicelib.config import get_settings
    monkeypatch.setenv("LETTERBOX_DAILY_QUOTA", "lots")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="LETTERBOX_DAILY_QUOTA must be a int"):
        get_settings()
    monkeypatch.setenv("LETTERBOX_DAILY_QUOTA", "7")
    monkeypatch.setenv("LETTERBOX_LOCAL_MODE", "yes")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.daily_quota == 7 and settings.local_mode is True
    get_settings.cache_clear()

"""The operator commands' contract: ``--version`` and results as JSON on stdout; usage errors
as one JSON line on stderr with a non-zero exit; ``make deploy``'s steps against moto.

Bug caught: argparse's prose usage errors (or a traceback) where scripts parse JSON; a deploy
that leaves ``./deployment.zip`` in the template CloudFormation receives.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from letterbox import cli, deploy


def test_version_is_json_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert json.loads(capsys.readouterr().out)["version"]


@pytest.mark.parametrize("argv", [["bogus"], ["key", "create"], ["key", "create", "acct_x",
                                                                   "--scope", "root"]])
def test_usage_errors_are_one_json_line_on_stderr(argv: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert json.loads(line)["error"]["code"] == "usage_error"


def test_every_command_has_help() -> None:
    parser = cli._parser()
    pending = [parser]
    while pending:
        current = pending.pop()
        for action in current._actions:
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    helps = {a.dest: a.help for a in action._choices_actions}
                    assert helps.get(name), f"{current.prog} {name} has no help text"
                    pending.append(sub)


def test_deploy_refuses_without_public_base_url() -> None:
    with pytest.raises(ValueError, match="PublicBaseUrl"):
        deploy.parameters(["PrintEndpointUrl=https://print.example"])
    with pytest.raises(ValueError, match="Key=Value"):
        deploy.parameters(["PublicBaseUrl"])


def test_deploy_uploads_code_and_runs_a_change_set(tmp_path: Path, monkeypatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "deployment.zip").write_bytes(b"PK code")
    (tmp_path / "sam.yaml").write_text(
        "Parameters:\n  PublicBaseUrl:\n    Type: String\n"
        "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"
        "    Metadata:\n      CodeUri: ./deployment.zip\n"
        "Outputs:\n  EndpointURL:\n    Value: !Ref PublicBaseUrl\n")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket="artifacts")
        result = deploy.deploy(session, "letterbox-test", "artifacts",
                               deploy.parameters(["PublicBaseUrl=https://api.acme.test"]),
                               build=tmp_path)
        assert result["status"] == "CREATE_COMPLETE" and result["change"] == "CREATE"
        assert isinstance(result["outputs"], dict)  # moto's change sets report no outputs
        assert any("production access" in step for step in result["next_steps"])
        keys = [o["Key"] for o in session.client("s3").list_objects_v2(
            Bucket="artifacts")["Contents"]]
        template_key = next(k for k in keys if k.endswith(".yaml"))
        body = session.client("s3").get_object(Bucket="artifacts", Key=template_key)
        text = body["Body"].read().decode()
        assert "./deployment.zip" not in text and "s3://artifacts/letterbox/" in text

"""Issue 14, item 27: ``letterbox carrier push-url --stack`` printed a URL without a host (the
deployed environment was rebuilt from !Ref alone, so the PublicBaseUrl parameter was lost),
and the CLI answered some errors with a traceback. It now reads the deployed function's own
environment, and every error is one JSON line on stderr with a non-zero exit."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from letterbox import cli

PUBLIC = "https://mail-api.acme.example"


class FakeDeployment:
    """CloudFormation and Lambda as a deployed stack answers them; the rest stays moto."""

    def __init__(self, env: dict[str, str], exists: bool = True) -> None:
        self.env, self.exists = env, exists

    def client(self, service: str):
        return self

    def describe_stack_resources(self, StackName: str):
        if not self.exists:
            raise ClientError({"Error": {"Code": "ValidationError",
                                         "Message": f"Stack with id {StackName} does not exist"}},
                              "DescribeStackResources")
        return {"StackResources": [{"LogicalResourceId": "APIHandler",
                                    "PhysicalResourceId": "letterbox-prod-APIHandler-1"}]}

    def get_function_configuration(self, FunctionName: str):
        assert FunctionName == "letterbox-prod-APIHandler-1"
        return {"Environment": {"Variables": {**self.env, "AWS_LAMBDA_X": "ignored"}}}


def _run(monkeypatch, capsys, deployment, *argv):
    monkeypatch.setattr(boto3, "Session", lambda *a, **k: deployment)
    code = cli.main(["--stack", "letterbox-prod", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_push_url_for_a_deployed_stack_carries_its_public_host(stack, monkeypatch,
                                                               capsys) -> None:
    deployment = FakeDeployment({**stack.env, "LETTERBOX_PUBLIC_BASE_URL": PUBLIC + "/"})
    code, out, err = _run(monkeypatch, capsys, deployment, "carrier", "push-url", "usps")
    assert code == 0, err
    url = json.loads(out)["url"]
    assert url.startswith(f"{PUBLIC}/webhooks/carriers/usps?token=")


@pytest.mark.parametrize(("deployment", "argv", "says"), [
    (FakeDeployment({}, exists=False), ("carrier", "push-url", "usps"), "does not exist"),
    (FakeDeployment({"LETTERBOX_TABLE_NAME": "t"}), ("carrier", "push-url", "usps"),
     "LETTERBOX_PUBLIC_BASE_URL"),
])
def test_errors_are_one_json_line_never_a_traceback(stack, monkeypatch, capsys, deployment,
                                                    argv, says) -> None:
    code, out, err = _run(monkeypatch, capsys, deployment, *argv)
    assert code != 0 and out == ""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert says in json.loads(err)["error"]["message"]


def test_an_aws_failure_inside_a_command_is_one_json_line(stack, monkeypatch, capsys) -> None:
    env = {**stack.env, "LETTERBOX_PUBLIC_BASE_URL": PUBLIC,
           "LETTERBOX_TABLE_NAME": "no-such-table"}
    code, _, err = _run(monkeypatch, capsys, FakeDeployment(env), "account", "create", "x")
    assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert json.loads(err)["error"]["code"] in ("aws_error", "service_unavailable",
                                                "internal_error")


def test_no_stack_at_all_is_a_json_error(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setattr(cli, "STATE", tmp_path)
    assert cli.main(["key", "list", "acct_x"]) == 1
    assert "no local stack" in json.loads(capsys.readouterr().err)["error"]["message"]


def test_key_revoke_finds_the_keys_account(stack, monkeypatch, capsys, account) -> None:
    """Bug caught: ``letterbox key revoke KEY_ID`` broken when revoking became scoped to an
    account (the operator names only the key), or an unknown key not answered as an error."""
    from chalicelib import wiring
    env = {**stack.env, "LETTERBOX_PUBLIC_BASE_URL": PUBLIC}
    [key] = wiring.container().accounts.list_keys(account.account_id)
    code, out, _ = _run(monkeypatch, capsys, FakeDeployment(env), "key", "revoke",
                        key["key_id"])
    assert code == 0 and json.loads(out) == {"key_id": key["key_id"], "revoked": True}
    [after] = wiring.container().accounts.list_keys(account.account_id)
    assert after["revoked_at"]
    code, out, err = _run(monkeypatch, capsys, FakeDeployment(env), "key", "revoke", "key_nope")
    assert code != 0 and out == "" and "no API key key_nope" in json.loads(err)["error"]["message"]

"""`make package`'s template: valid for cfn-lint, and carrying what Chalice cannot say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags as plain data."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
    else loader.construct_sequence(node)))


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run([str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template",
                    "infra/resources.yaml", str(out)], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    lint = subprocess.run([str(BIN / "cfn-lint"), str(out / "sam.yaml")], capture_output=True,
                          text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    return out


@pytest.fixture(scope="module")
def sam(package_dir: Path) -> dict:
    return yaml.load((package_dir / "sam.yaml").read_text(), Loader=_CfnLoader)


def test_worker_reports_partial_batch_failures(sam) -> None:
    events = sam["Resources"]["SendWorker"]["Properties"]["Events"]
    (source,) = events.values()
    assert source["Type"] == "SQS"
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["Properties"]["Queue"] == {"Fn::Sub": "${SendQueue.Arn}"}


def test_purge_runs_on_an_hourly_schedule(sam) -> None:
    (schedule,) = sam["Resources"]["PurgeExpired"]["Properties"]["Events"].values()
    assert schedule["Properties"]["Schedule"] == "rate(1 hour)"


def test_every_table_is_kms_encrypted_with_ttl(sam) -> None:
    tables = [r for r in sam["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) >= 2
    for table in tables:
        assert table["Properties"]["SSESpecification"]["SSEType"] == "KMS"
        assert table["Properties"]["TimeToLiveSpecification"]["Enabled"] is True


def test_bucket_is_private_and_encrypted(sam) -> None:
    bucket = sam["Resources"]["OffloadBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_queue_has_a_dead_letter_queue(sam) -> None:
    queue = sam["Resources"]["SendQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 10
    assert "KmsMasterKeyId" in queue


def test_functions_get_their_settings_from_the_template(sam) -> None:
    variables = sam["Globals"]["Function"]["Environment"]["Variables"]
    assert {"LETTERBOX_TABLE_NAME", "LETTERBOX_SEND_QUEUE_URL"} <= set(variables)


def test_package_is_lean(package_dir: Path) -> None:
    import zipfile
    names = zipfile.ZipFile(package_dir / "deployment.zip").namelist()
    assert not any(n.startswith(("moto/", "pytest/", "letterbox/", "tests/")) for n in names)
    assert "app.py" in names and "chalicelib/send.py" in names


# Issue 14, items 2 and 27: what a security review found missing from the deployed stack.

_USER_POWERS = {"iam:createuser", "iam:putuserpolicy", "iam:attachuserpolicy",
                "iam:putuserpermissionsboundary", "iam:deleteuserpermissionsboundary"}


def _statements(sam):
    for name, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if "PolicyDocument" in props:
            documents.append(props["PolicyDocument"])
        for document in documents:
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                yield name, statement


def _grants(statement, power: str) -> bool:
    import fnmatch
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return statement["Effect"] == "Allow" and any(
        fnmatch.fnmatch(power, a.lower()) for a in actions)


def test_no_iam_user_can_be_made_or_changed_without_the_boundary(sam) -> None:
    """The API role could create users and put any inline policy: a path to administrator."""
    seen = set()
    for name, statement in _statements(sam):
        for power in _USER_POWERS:
            if not _grants(statement, power):
                continue
            assert power != "iam:deleteuserpermissionsboundary", name
            condition = statement.get("Condition", {}).get("StringEquals", {})
            assert condition.get("iam:PermissionsBoundary") == {"Ref": "SmtpUserBoundary"}, (
                f"{name} grants {power} without the permissions boundary")
            assert "${AWS::StackName}/smtp/" in statement["Resource"]["Fn::Sub"], name
            seen.add(power)
    assert {"iam:createuser", "iam:putuserpolicy"} <= seen


def test_the_boundary_allows_send_raw_email_only(sam) -> None:
    boundary = sam["Resources"]["SmtpUserBoundary"]
    assert boundary["Type"] == "AWS::IAM::ManagedPolicy"
    (statement,) = boundary["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "ses:SendRawEmail"
    variables = sam["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["LETTERBOX_SMTP_PERMISSIONS_BOUNDARY"] == {"Ref": "SmtpUserBoundary"}


def test_smtp_users_are_created_under_the_boundary() -> None:
    """The code side of the boundary: without it, IAM would refuse CreateUser."""
    from chalicelib.adapters.iam import IamSmtpUsers

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[str, dict]] = []

        def __getattr__(self, operation):
            def call(**params):
                self.calls.append((operation, params))
                return {"AccessKey": {"AccessKeyId": "AKIA", "SecretAccessKey": "s"}}
            return call

    client = Recorder()
    boundary = "arn:aws:iam::123456789012:policy/letterbox/boundary"
    IamSmtpUsers(client, "/letterbox/stack/smtp/", boundary).create("u", "acct", ["x.com"])
    (create,) = [params for op, params in client.calls if op == "create_user"]
    assert create["PermissionsBoundary"] == boundary
    assert create["Path"] == "/letterbox/stack/smtp/"


def test_point_in_time_recovery_is_off_and_the_privacy_doc_says_why(sam) -> None:
    """PITR kept erased rows for 35 days behind the erasure promise."""
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            pitr = resource["Properties"].get("PointInTimeRecoverySpecification", {})
            assert pitr.get("PointInTimeRecoveryEnabled") is not True
    assert "point-in-time recovery" in (ROOT / "docs" / "privacy.md").read_text().lower()


def test_api_gateway_throttles_before_lambda(sam) -> None:
    api = sam["Resources"]["RestAPI"]["Properties"]
    (setting,) = api["MethodSettings"]
    assert setting["ResourcePath"] == "/*" and setting["HttpMethod"] == "*"
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    # the pixel is binary whatever the client's Accept (API Gateway reads only the first)
    assert api["DefinitionBody"]["x-amazon-apigateway-binary-media-types"] == ["*/*"]


def test_every_function_logs_to_a_group_with_retention_and_kms(sam) -> None:
    """Bug caught: a function logging to Lambda's default ``/aws/lambda/<function>`` group,
    which Lambda may create before the stack on a fresh deploy (the stack's group then fails
    to create, or the function's logs go to a group without retention or the key)."""
    resources = sam["Resources"]
    functions = {n: r["Properties"] for n, r in resources.items()
                 if r["Type"] == "AWS::Serverless::Function"}
    groups = {n: r["Properties"] for n, r in resources.items()
              if r["Type"] == "AWS::Logs::LogGroup"}
    assert len(functions) >= 10
    used = set()
    for function, properties in functions.items():
        ref = properties.get("LoggingConfig", {}).get("LogGroup")
        assert isinstance(ref, dict) and "Ref" in ref, f"{function} names no log group"
        group = groups.get(ref["Ref"])
        assert group is not None, f"{function} logs to {ref}, not a group of the stack"
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
        name = group["LogGroupName"]["Fn::Sub"]
        # A function name has no "/": this can never be a group Lambda makes by itself.
        assert name == f"/aws/lambda/${{AWS::StackName}}/{function}", name
        used.add(ref["Ref"])
    assert used == set(groups), f"groups no function logs to: {set(groups) - used}"


def test_the_bucket_refuses_plain_http(sam) -> None:
    policies = [r["Properties"] for r in sam["Resources"].values()
                if r["Type"] == "AWS::S3::BucketPolicy"]
    (policy,) = [p for p in policies if p["Bucket"] == {"Ref": "OffloadBucket"}]
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(deny["Resource"]) == 2


def test_services_use_the_key_only_for_this_account(sam) -> None:
    policy = sam["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
    services = [s for s in policy["Statement"] if "Service" in s["Principal"]]
    assert len(services) >= 2
    for statement in services:
        condition = statement["Condition"]
        if "StringEquals" in condition:
            assert condition["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        else:  # CloudWatch Logs: only this account's log groups
            arn = condition["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"]
            assert "${AWS::AccountId}:log-group:" in arn


@pytest.mark.parametrize(("function", "parameter"), [("SendWorker", "SendWorkerConcurrency"),
                                                     ("SubmitLetters", "LetterWorkerConcurrency")])
def test_workers_have_concurrency_caps(sam, function, parameter) -> None:
    props = sam["Resources"][function]["Properties"]
    assert props["ReservedConcurrentExecutions"] == {"Ref": parameter}
    (source,) = props["Events"].values()
    assert source["Properties"]["ScalingConfig"]["MaximumConcurrency"] == {"Ref": parameter}


def test_every_dead_letter_queue_has_a_consumer(sam) -> None:
    """Bug caught (issue 14 item 14): a dead-letter queue nobody reads (webhook deliveries and
    SES events sat there until SQS dropped them)."""
    resources = sam["Resources"]
    dead = {_logical_id(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
            for q in resources.values()
            if q["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in q["Properties"]}
    consumed = {_logical_id(e["Properties"]["Queue"])
                for f in resources.values() if f["Type"] == "AWS::Serverless::Function"
                for e in f["Properties"].get("Events", {}).values() if e["Type"] == "SQS"}
    assert dead and dead <= consumed, f"unread: {dead - consumed}"


def _logical_id(arn: object) -> str:
    """``!GetAtt X.Arn`` (as the packaged template spells it) or ``!Sub "${X.Arn}"``: X."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    text = str(arn["Fn::Sub"] if isinstance(arn, dict) else arn)
    return text.removeprefix("${").split(".")[0]


def test_the_letter_worker_fits_inside_its_claim(sam) -> None:
    """Bug caught (issue 14 item 13): five letters a batch under a 30 s timeout and a 120 s
    lease, so a slow print let the lease lapse mid-batch and another worker ship again."""
    from chalicelib.physical_mail import LetterSubmitter
    lease = LetterSubmitter.__init__.__defaults__[-1]  # type: ignore[index]
    worker = sam["Resources"]["SubmitLetters"]["Properties"]
    (source,) = worker["Events"].values()
    assert source["Properties"]["BatchSize"] == 1
    assert worker["Timeout"] * 1.5 <= lease
    queue = sam["Resources"]["LetterQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= worker["Timeout"]

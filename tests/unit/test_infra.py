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

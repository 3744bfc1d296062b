"""``make deploy``: ship ``build/`` (from ``make package``) to a fresh or existing AWS account.

    python -m letterbox.deploy --stack letterbox-prod --bucket my-artifacts \\
        --parameter PublicBaseUrl=https://mail-api.acme.com [--parameter PrintEndpointUrl=…]

Uploads the code package to S3 (content-addressed), points the template's ``CodeUri`` at it,
creates and executes a CloudFormation change set (create or update) with ordinary
credentials, waits, and prints the result and the post-deploy steps as JSON. Errors are one
JSON line on stderr with a non-zero exit.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from letterbox.jsonargs import JsonArgumentParser

BUILD = Path("build")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def with_code_uri(template: str, uri: str) -> str:
    """Chalice's SAM output refers to ``./deployment.zip``; CloudFormation needs S3."""
    if "./deployment.zip" not in template:
        raise ValueError("the template names no ./deployment.zip: run `make package` first")
    return template.replace("./deployment.zip", uri)


def parameters(pairs: list[str]) -> list[dict[str, str]]:
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--parameter takes Key=Value, not {pair!r}")
        out.append({"ParameterKey": key, "ParameterValue": value})
    if not any(p["ParameterKey"] == "PublicBaseUrl" for p in out):
        raise ValueError("--parameter PublicBaseUrl=https://… is required (links in mail)")
    return out


def next_steps(stack: str, outputs: dict[str, str], region: str) -> list[str]:
    return [
        f"Create the first account: letterbox --stack {stack} account create \"Acme\"",
        "Add a sending domain: POST /v1/domains, publish the records it returns, then "
        "POST /v1/domains/{id}/verify (this also registers the SES identity, BYODKIM).",
        f"SES starts in the sandbox in {region}: request production access "
        "(SES console → Account dashboard → Request production access) before mailing "
        "anyone but verified addresses.",
        "Point PublicBaseUrl's DNS at the API (custom domain) if it is not the execute-api URL"
        + (f": {outputs['EndpointURL']}" if "EndpointURL" in outputs else "."),
        f"Carriers (letters): put credentials in the stack's CarrierSecret, then "
        f"letterbox --stack {stack} carrier push-url usps",
    ]


def deploy(session: Any, stack: str, bucket: str, params: list[dict[str, str]],
           build: Path = BUILD) -> dict[str, Any]:
    code = (build / "deployment.zip").read_bytes()
    key = f"letterbox/{hashlib.sha256(code).hexdigest()}.zip"
    s3 = session.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=code)
    template = with_code_uri((build / "sam.yaml").read_text(), f"s3://{bucket}/{key}")
    template_key = f"letterbox/{hashlib.sha256(template.encode()).hexdigest()}.yaml"
    s3.put_object(Bucket=bucket, Key=template_key, Body=template.encode())
    cfn = session.client("cloudformation")
    try:
        cfn.describe_stacks(StackName=stack)
        kind = "UPDATE"
    except cfn.exceptions.ClientError:
        kind = "CREATE"
    name = f"letterbox-{int(time.time())}"
    cfn.create_change_set(
        StackName=stack, ChangeSetName=name, ChangeSetType=kind, Parameters=params,
        TemplateURL=f"https://{bucket}.s3.amazonaws.com/{template_key}",
        Capabilities=CAPABILITIES)
    cfn.get_waiter("change_set_create_complete").wait(StackName=stack, ChangeSetName=name)
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    cfn.get_waiter(waiter).wait(StackName=stack, WaiterConfig={"Delay": 15, "MaxAttempts": 240})
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return {"stack": stack, "status": described["StackStatus"], "change": kind,
            "outputs": outputs, "next_steps": next_steps(stack, outputs, session.region_name)}


def main(argv: list[str] | None = None) -> int:
    parser = JsonArgumentParser(prog="letterbox-deploy", description=__doc__)
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--bucket", required=True,
                        help="an S3 bucket you own, in the same region, for the code package")
    parser.add_argument("--parameter", action="append", default=[],
                        help="template parameter Key=Value (PublicBaseUrl is required)")
    parser.add_argument("--region", help="AWS region (default: your configuration's)")
    args = parser.parse_args(argv)
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
        session = boto3.Session(region_name=args.region)
        result = deploy(session, args.stack, args.bucket, parameters(args.parameter))
    except (ValueError, OSError) as err:
        print(json.dumps({"error": {"code": "usage_error", "message": str(err)}}),
              file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as err:
        print(json.dumps({"error": {"code": "aws_error", "message": str(err)}}),
              file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

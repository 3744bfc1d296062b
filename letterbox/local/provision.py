"""Provision an (embedded) AWS from ``infra/resources.yaml``, the template production deploys.

CloudFormation creates the data-plane resources; what moto's CloudFormation ignores is then
applied by API from the same resource properties: table TTLs, bucket lifecycle rules and
the SES configuration set with its event destination. The function environment comes from
the template's ``Globals``, resolved through stack outputs, exactly as Lambda would see it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chalice.package import YAMLTemplateSerializer

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "resources.yaml"
PROVISIONED = {"AWS::KMS::Key", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket",
               "AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return YAMLTemplateSerializer().load_template(path.read_text(), str(path))


def _refs(value: Any) -> set[str]:
    """Logical ids a template value refers to (Ref, GetAtt, ${X} and ${X.Attr} in Sub)."""
    if isinstance(value, dict):
        found: set[str] = set()
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)}", text)
                          if not m.startswith("AWS::")}
            else:
                found |= _refs(inner)
        return found
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    return set()


def _sub(text: str, stack_name: str, region: str) -> str:
    return (text.replace("${AWS::StackName}", stack_name).replace("${AWS::Region}", region)
            .replace("${AWS::AccountId}", "123456789012").replace("${AWS::Partition}", "aws"))


def data_plane(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the CloudFormation body moto can create, the env vars it cannot resolve itself)."""
    resources = {name: res for name, res in template["Resources"].items()
                 if res.get("Type") in PROVISIONED}
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    outputs, deferred = {}, {}
    for var, value in env.items():
        if _refs(value) <= set(resources):
            outputs[var.replace("_", "")] = {"Value": value}
        else:
            deferred[var] = value
    body = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources,
            "Outputs": outputs}
    return body, deferred


def provision(session: Any, stack_name: str,
              parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Create the stack and apply what CloudFormation skipped; returns the function env."""
    template = load_template()
    body, deferred = data_plane(template)
    cfn = session.client("cloudformation")
    cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(body))
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name} is {stack['StackStatus']}")
    by_output = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    env_names = template["Globals"]["Function"]["Environment"]["Variables"]
    env = {var: by_output[var.replace("_", "")] for var in env_names if var not in deferred}
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]}
    _apply_ttl(session, template, physical)
    _apply_subscriptions(session, template, physical)
    _apply_lifecycle(session, template, physical)
    defaults = {name: str(p["Default"]) for name, p in template.get("Parameters", {}).items()
                if "Default" in p}
    names = {**_apply_ses(session, template, physical, stack_name),
             **_apply_secrets(session, template, physical, stack_name), **defaults,
             **(parameters or {})}
    for var, value in deferred.items():
        env[var] = names[value["Ref"]]
    return env


def sqs_consumers(template: dict[str, Any]) -> dict[str, str]:
    """Every queue the deployed stack consumes: handler name (the Chalice function, whose
    logical id is its CamelCase form) → the queue's logical id, from the template's own
    SQS event sources, so local mode pumps exactly what production does."""
    found: dict[str, str] = {}
    for name, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for source in res.get("Properties", {}).get("Events", {}).values():
            if source.get("Type") == "SQS":
                handler = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
                found[handler] = next(iter(_refs(source["Properties"]["Queue"])))
    return found


def consumed_queues(session: Any, stack_name: str) -> dict[str, str]:
    """Handler name → the URL of the queue it consumes, in a provisioned stack."""
    cfn = session.client("cloudformation")
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]}
    sqs = session.client("sqs")
    urls = {}
    for handler, queue in sqs_consumers(load_template()).items():
        name = physical[queue].rsplit("/", 1)[-1]  # a queue's physical id is its URL
        urls[handler] = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    return urls


def _apply_ttl(session: Any, template: dict[str, Any], physical: dict[str, str]) -> None:
    dynamodb = session.client("dynamodb")
    for name, res in template["Resources"].items():
        spec = res.get("Properties", {}).get("TimeToLiveSpecification")
        if res["Type"] == "AWS::DynamoDB::Table" and spec:
            dynamodb.update_time_to_live(TableName=physical[name], TimeToLiveSpecification={
                "AttributeName": spec["AttributeName"], "Enabled": spec["Enabled"]})


def lifecycle_rules_as_api(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation's lifecycle rule shape → the S3 API's."""
    return [{"ID": rule["Id"], "Filter": {"Prefix": rule.get("Prefix", "")},
             "Status": rule["Status"], "Expiration": {"Days": rule["ExpirationInDays"]},
             "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"]}
            for rule in rules]


def _apply_lifecycle(session: Any, template: dict[str, Any], physical: dict[str, str]) -> None:
    s3 = session.client("s3")
    for name, res in template["Resources"].items():
        config = res.get("Properties", {}).get("LifecycleConfiguration")
        if res["Type"] == "AWS::S3::Bucket" and config:
            s3.put_bucket_lifecycle_configuration(
                Bucket=physical[name],
                LifecycleConfiguration={"Rules": lifecycle_rules_as_api(config["Rules"])})


def _apply_subscriptions(session: Any, template: dict[str, Any],
                         physical: dict[str, str]) -> None:
    """SNS subscriptions to our own queues (moto's CloudFormation skips them)."""
    sns, sqs = session.client("sns"), session.client("sqs")
    for res in template["Resources"].values():
        if res["Type"] != "AWS::SNS::Subscription" or res["Properties"]["Protocol"] != "sqs":
            continue
        props = res["Properties"]
        queue_url = physical[props["Endpoint"]["Fn::GetAtt"][0]]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=physical[props["TopicArn"]["Ref"]], Protocol="sqs",
                      Endpoint=arn["Attributes"]["QueueArn"])


def _apply_secrets(session: Any, template: dict[str, Any], physical: dict[str, str],
                   stack_name: str) -> dict[str, str]:
    """Secrets Manager secrets with generated values (moto's CloudFormation skips them)."""
    import secrets as random_source
    client = session.client("secretsmanager")
    arns: dict[str, str] = {}
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::SecretsManager::Secret":
            continue
        props = res["Properties"]
        length = props.get("GenerateSecretString", {}).get("PasswordLength", 32)
        value = props.get("SecretString") or random_source.token_urlsafe(length)[:length]
        created = client.create_secret(
            Name=f"{stack_name}-{name}", Description=props.get("Description", ""),
            KmsKeyId=physical[props["KmsKeyId"]["Ref"]], SecretString=value)
        arns[name] = created["ARN"]
    return arns


def _apply_ses(session: Any, template: dict[str, Any], physical: dict[str, str],
               stack_name: str) -> dict[str, str]:
    """SES configuration sets and their SNS destinations (moto's CloudFormation skips both)."""
    ses = session.client("ses")
    names: dict[str, str] = {}
    resources = template["Resources"]
    for name, res in resources.items():
        if res["Type"] == "AWS::SES::ConfigurationSet":
            raw = res["Properties"]["Name"]
            set_name = _sub(raw["Fn::Sub"] if isinstance(raw, dict) else raw,
                            stack_name, session.region_name)
            ses.create_configuration_set(ConfigurationSet={"Name": set_name})
            names[name] = set_name
    for res in resources.values():
        if res["Type"] == "AWS::SES::ConfigurationSetEventDestination":
            props = res["Properties"]
            dest = props["EventDestination"]
            topic = physical[dest["SnsDestination"]["TopicARN"]["Ref"]]
            ses.create_configuration_set_event_destination(
                ConfigurationSetName=names[props["ConfigurationSetName"]["Ref"]],
                EventDestination={"Name": dest["Name"], "Enabled": dest["Enabled"],
                                  "MatchingEventTypes": dest["MatchingEventTypes"],
                                  "SNSDestination": {"TopicARN": topic}})
    return names

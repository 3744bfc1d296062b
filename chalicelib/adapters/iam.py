"""IAM users that hold SES SMTP credentials, each allowed only ``ses:SendRawEmail`` from its
account's verified domains, and created under the stack's permissions boundary
(``ses:SendRawEmail`` only): the API role may create no user without it (infra/), so code
running in the API can never mint a user with more."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import RetryableFailure

POLICY_NAME = "letterbox-ses-send-raw"


def send_raw_policy(domains: list[str]) -> dict[str, Any]:
    """Allow SendRawEmail only from the given domains; with none, allow nothing."""
    if not domains:
        return {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "ses:*", "Resource": "*"}]}
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "ses:SendRawEmail", "Resource": "*",
        "Condition": {"StringLike": {"ses:FromAddress": [f"*@{d}" for d in sorted(domains)]}},
    }]}


class IamSmtpUsers:
    def __init__(self, client: Any, path: str, boundary_arn: str = "") -> None:
        self._client = client
        self._path = path  # e.g. /letterbox/prod/smtp/: the API role may touch nothing else
        self._boundary = boundary_arn  # empty only in local mode (moto enforces no IAM)

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as err:
            raise RetryableFailure(f"iam {operation} failed") from err

    def create(self, user_name: str, account_id: str, domains: list[str]) -> tuple[str, str]:
        """A new user with its policy and one access key: (access key id, secret)."""
        boundary = {"PermissionsBoundary": self._boundary} if self._boundary else {}
        self._call("create_user", UserName=user_name, Path=self._path,
                   Tags=[{"Key": "letterbox:account", "Value": account_id}], **boundary)
        self.set_domains(user_name, domains)
        return self.new_access_key(user_name)

    def set_domains(self, user_name: str, domains: list[str]) -> None:
        self._call("put_user_policy", UserName=user_name, PolicyName=POLICY_NAME,
                   PolicyDocument=json.dumps(send_raw_policy(domains)))

    def new_access_key(self, user_name: str) -> tuple[str, str]:
        key = self._call("create_access_key", UserName=user_name)["AccessKey"]
        return str(key["AccessKeyId"]), str(key["SecretAccessKey"])

    def delete_access_key(self, user_name: str, access_key_id: str) -> None:
        self._call("delete_access_key", UserName=user_name, AccessKeyId=access_key_id)

    def delete(self, user_name: str) -> None:
        keys = self._call("list_access_keys", UserName=user_name)["AccessKeyMetadata"]
        for key in keys:
            self.delete_access_key(user_name, key["AccessKeyId"])
        self._call("delete_user_policy", UserName=user_name, PolicyName=POLICY_NAME)
        self._call("delete_user", UserName=user_name)

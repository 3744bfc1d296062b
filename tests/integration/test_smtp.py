"""SMTP relay credentials: IAM users limited to SendRawEmail from verified domains."""

from __future__ import annotations

import base64
import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from chalicelib import wiring
from chalicelib.smtp import smtp_password


def _policy(stack, user: str) -> dict:
    document = stack.client("iam").get_user_policy(UserName=user,
                                                   PolicyName="letterbox-ses-send-raw")
    raw = document["PolicyDocument"]
    return json.loads(raw) if isinstance(raw, str) else raw


def _user_of(stack, credential_id: str) -> str:
    return f"lbx-{credential_id}"


def test_password_matches_botocores_sigv4_key_derivation() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    auth = SigV4Auth(Credentials("AKIDEXAMPLE", secret), "ses", "eu-west-1")
    request = AWSRequest(method="POST", url="https://email.eu-west-1.amazonaws.com/")
    request.context["timestamp"] = "11111111T000000Z"
    signature = auth.signature("SendRawEmail", request)  # HMAC(kSigning, string)
    expected = base64.b64encode(b"\x04" + bytes.fromhex(signature)).decode()
    assert smtp_password(secret, "eu-west-1") == expected
    assert smtp_password(secret, "us-east-1") != expected, "the region is part of the key"


def test_create_returns_password_once_and_limits_the_user(api, account, stack) -> None:
    created = api.post("/v1/smtp-credentials", {"name": "legacy app"}, key=account.api_key)
    assert created.status_code == 201
    body = created.json
    assert body["username"].startswith(("AKIA", "ASIA")) or len(body["username"]) == 20
    assert body["server"] == "email-smtp.us-east-1.amazonaws.com" and 587 in body["ports"]
    assert base64.b64decode(body["password"])[0] == 4
    policy = _policy(stack, _user_of(stack, body["id"]))
    (statement,) = policy["Statement"]
    assert statement["Action"] == "ses:SendRawEmail" and statement["Effect"] == "Allow"
    assert statement["Condition"]["StringLike"]["ses:FromAddress"] == [f"*@{account.domain}"]
    user = stack.client("iam").get_user(UserName=_user_of(stack, body["id"]))["User"]
    assert user["Path"] == stack.env["LETTERBOX_SMTP_USER_PATH"]  # the stack's own path
    assert user["Path"].startswith("/letterbox/") and user["Path"].endswith("/smtp/")

    listed = api.get("/v1/smtp-credentials", key=account.api_key).json["data"]
    assert [c["id"] for c in listed] == [body["id"]]
    assert "password" not in json.dumps(listed)
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    assert body["password"] not in str(items)


def test_empty_body_creates_with_defaults(api, account) -> None:
    created = api.post("/v1/smtp-credentials", raw="", key=account.api_key,
                       headers={"Content-Type": "application/json"})
    assert created.status_code == 201 and created.json["name"] is None


def test_rotation_replaces_the_key(api, account, stack) -> None:
    first = api.post("/v1/smtp-credentials", {}, key=account.api_key).json
    rotated = api.post(f"/v1/smtp-credentials/{first['id']}/rotate", key=account.api_key).json
    assert rotated["username"] != first["username"] and rotated["password"] != first["password"]
    keys = stack.client("iam").list_access_keys(UserName=_user_of(stack, first["id"]))
    assert [k["AccessKeyId"] for k in keys["AccessKeyMetadata"]] == [rotated["username"]]


def test_revocation_deletes_the_user(api, account, stack) -> None:
    created = api.post("/v1/smtp-credentials", {}, key=account.api_key).json
    response = api.request("DELETE", f"/v1/smtp-credentials/{created['id']}",
                           key=account.api_key)
    assert response.status_code == 200
    users = stack.client("iam").list_users(PathPrefix="/letterbox/")["Users"]
    assert users == []
    assert api.get("/v1/smtp-credentials", key=account.api_key).json["data"] == []


def test_policy_follows_the_verified_domains(api, account, stack) -> None:
    created = api.post("/v1/smtp-credentials", {}, key=account.api_key).json
    from letterbox.local.seed import add_local_domain
    add_local_domain(wiring.container(), account.account_id, "second.example.com")
    allowed = _policy(stack, _user_of(stack, created["id"]))["Statement"][0]
    assert allowed["Condition"]["StringLike"]["ses:FromAddress"] == [
        f"*@{account.domain}", "*@second.example.com"]
    api.request("DELETE", f"/v1/domains/{account.domain_id}", key=account.api_key)
    api.request("DELETE", "/v1/domains/" + next(
        d["id"] for d in api.get("/v1/domains", key=account.api_key).json["data"]),
        key=account.api_key)
    denied = _policy(stack, _user_of(stack, created["id"]))["Statement"][0]
    assert denied["Effect"] == "Deny", "no verified domains: the user may send nothing"


def test_credentials_are_private_to_their_account(api, account, other_account) -> None:
    created = api.post("/v1/smtp-credentials", {}, key=account.api_key).json
    for method, path in (("POST", f"/v1/smtp-credentials/{created['id']}/rotate"),
                         ("DELETE", f"/v1/smtp-credentials/{created['id']}")):
        assert api.request(method, path, key=other_account.api_key).status_code == 404
    assert api.get("/v1/smtp-credentials", key=other_account.api_key).json["data"] == []


def test_closing_the_account_revokes_smtp_users(api, account, stack) -> None:
    from chalicelib.clock import utcnow
    api.post("/v1/smtp-credentials", {}, key=account.api_key)
    wiring.container().accounts.close_account(account.account_id, utcnow())
    assert stack.client("iam").list_users(PathPrefix="/letterbox/")["Users"] == []


def test_sending_scope_cannot_manage_credentials(api, account) -> None:
    from chalicelib.clock import utcnow
    key = wiring.container().accounts.create_key(account.account_id, "sending", utcnow())
    assert api.post("/v1/smtp-credentials", {}, key=key.token).status_code == 403

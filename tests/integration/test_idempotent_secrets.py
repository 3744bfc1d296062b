"""Idempotent replays of secret-bearing responses never keep the secret in clear (issue 14
item 7)."""

from __future__ import annotations


def test_a_replayed_webhook_creation_returns_its_secret_which_the_table_never_holds(
        api, account, stack) -> None:
    """Bug caught: the ``whsec_`` secret stored in plaintext in the idempotency table (and so
    in its backups and in anyone's reach who can read the table)."""
    body = {"url": "https://hooks.example.com/in"}
    headers = {"Idempotency-Key": "create-hook-1"}
    first = api.post("/v1/webhooks", body, key=account.api_key, headers=headers)
    again = api.post("/v1/webhooks", body, key=account.api_key, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json["secret"] == first.json["secret"] and again.json["id"] == first.json["id"]
    assert first.json["secret"].startswith("whsec_")
    dynamodb = stack.client("dynamodb")
    names = [n for n in dynamodb.list_tables()["TableNames"] if "dempotency" in n]
    (table,) = names
    stored = str(dynamodb.scan(TableName=table)["Items"])
    assert first.json["id"] in stored, "the record is there (the scan would prove nothing)"
    assert "whsec_" not in stored and first.json["secret"][6:] not in stored

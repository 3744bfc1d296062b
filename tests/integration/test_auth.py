"""Bearer keys: shown once, stored hashed, scoped, revocable; accounts closable."""

from __future__ import annotations

from chalicelib import wiring
from chalicelib.clock import utcnow

SEND = {"to": "a@example.net", "subject": "s", "text": "t"}


def _send(api, key, domain):
    return api.post("/v1/emails", {"from": f"x@{domain}", **SEND}, key=key)


def test_no_key_is_401(api, account) -> None:
    response = api.post("/v1/emails", {"from": f"x@{account.domain}", **SEND})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_wrong_key_is_401(api, account) -> None:
    wrong = account.api_key[:-4] + ("AAAA" if not account.api_key.endswith("AAAA") else "BBBB")
    for key in (wrong, "lb_nonsense", "sk_live_123", ""):
        response = api.post("/v1/emails", {"from": f"x@{account.domain}", **SEND},
                            headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401, key
    basic = api.post("/v1/emails", {"from": f"x@{account.domain}", **SEND},
                     headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


def test_revoked_key_is_401(api, account) -> None:
    accounts = wiring.container().accounts
    key = accounts.create_key(account.account_id, "full", utcnow())
    assert _send(api, key.token, account.domain).status_code == 202
    accounts.revoke_key(account.account_id, key.key_id, utcnow())
    response = _send(api, key.token, account.domain)
    assert response.status_code == 401
    assert "revoked" in response.json["error"]["message"]
    assert _send(api, account.api_key, account.domain).status_code == 202, "others unaffected"


def test_revoke_key_refuses_another_accounts_key(api, account, other_account) -> None:
    """Bug caught: the service revoking any key id it is given, leaving the check to each
    caller (a caller that forgets it lets one account switch off another's key)."""
    import pytest

    from chalicelib.errors import NotFound
    accounts = wiring.container().accounts
    [theirs] = [k["key_id"] for k in accounts.list_keys(other_account.account_id)]
    with pytest.raises(NotFound):
        accounts.revoke_key(account.account_id, theirs, utcnow())
    with pytest.raises(NotFound):
        accounts.revoke_key(account.account_id, "key_doesnotexist", utcnow())
    [listed] = accounts.list_keys(other_account.account_id)
    assert listed["revoked_at"] is None, "not revoked in the store"
    assert _send(api, other_account.api_key, other_account.domain).status_code == 202
    accounts.revoke_key(other_account.account_id, theirs, utcnow())
    assert _send(api, other_account.api_key, other_account.domain).status_code == 401


def test_keys_are_stored_only_as_hashes(stack, account) -> None:
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    secret = account.api_key.split("_", 2)[2]
    assert secret not in str(items)
    assert any("secret_hash" in item for item in items)


def test_sending_scope_can_send_but_not_read(api, account) -> None:
    key = wiring.container().accounts.create_key(account.account_id, "sending", utcnow())
    accepted = _send(api, key.token, account.domain)
    assert accepted.status_code == 202
    response = api.get(f"/v1/emails/{accepted.json['id']}", key=key.token)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_sending_key_limited_to_a_domain(api, account, stack) -> None:
    from letterbox.local.seed import add_local_domain
    accounts = wiring.container().accounts
    add_local_domain(wiring.container(), account.account_id, "second.example.com")
    key = accounts.create_key(account.account_id, "sending", utcnow(), [account.domain])
    assert _send(api, key.token, account.domain).status_code == 202
    refused = _send(api, key.token, "second.example.com")
    assert refused.status_code == 403
    assert _send(api, account.api_key, "second.example.com").status_code == 202


def test_closed_account_cannot_call(api, account) -> None:
    wiring.container().accounts.close_account(account.account_id, utcnow())
    response = _send(api, account.api_key, account.domain)
    assert response.status_code == 401, "closing revokes every key"


def test_closing_starts_the_account_data_clock(stack, account) -> None:
    wiring.container().accounts.close_account(account.account_id, utcnow())
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    owned = [i for i in items if i.get("retention_class", {}).get("S") == "account_data"]
    assert owned and all("expires_at" in i for i in owned)

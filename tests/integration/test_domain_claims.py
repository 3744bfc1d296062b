"""Domain squatting: a name is claimed only by verifying it (issue 14 item 25)."""

from __future__ import annotations

from chalicelib import wiring
from chalicelib.domains import MAX_PENDING_DOMAINS
from tests.integration.test_domains import _publish, dns  # noqa: F401


def _items(stack) -> list[dict]:
    return stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]


def test_an_unverified_domain_claims_nothing_and_expires(api, account, other_account, stack,
                                                         dns) -> None:  # noqa: F811
    """Bug caught: an unverified domain claiming its name globally forever, so a squatter
    who adds bigbank.com first locks the real owner out."""
    squat = api.post("/v1/domains", {"name": "bigbank.example"}, key=other_account.api_key)
    assert squat.status_code == 201
    items = _items(stack)
    assert not [i for i in items if i["pk"]["S"] == "DOMAINNAME#bigbank.example"]
    (record,) = [i for i in items if i["sk"]["S"] == "DOMAIN#bigbank.example"]
    assert record["retention_class"]["S"] == "pending_domain" and "expires_at" in record
    identities = stack.client("sesv2").list_email_identities()["EmailIdentities"]
    assert "bigbank.example" not in [i["IdentityName"] for i in identities]

    owner = api.post("/v1/domains", {"name": "bigbank.example"}, key=account.api_key)
    assert owner.status_code == 201, "the real owner is not told someone else added it"
    _publish(dns, owner.json["records"])
    verified = api.post(f"/v1/domains/{owner.json['id']}/verify", key=account.api_key).json
    assert verified["status"] == "verified"
    assert wiring.container().domain_store.verified_owner("bigbank.example") == \
        account.account_id
    (kept,) = [i for i in _items(stack) if i["sk"]["S"] == "DOMAIN#bigbank.example"
               and i["pk"]["S"] == f"ACCT#{account.account_id}"]
    assert kept["retention_class"]["S"] == "account_data" and "expires_at" not in kept
    identities = stack.client("sesv2").list_email_identities()["EmailIdentities"]
    assert "bigbank.example" in [i["IdentityName"] for i in identities]
    # the squatter deleting its pending copy leaves the owner's claim alone
    assert api.request("DELETE", f"/v1/domains/{squat.json['id']}",
                       key=other_account.api_key).status_code == 200
    assert wiring.container().domain_store.verified_owner("bigbank.example") == \
        account.account_id


def test_pending_domains_are_capped_per_account(api, account) -> None:
    """Bug caught: one account adding unverified names without end (each a record and, before,
    a global claim)."""
    for n in range(MAX_PENDING_DOMAINS):
        assert api.post("/v1/domains", {"name": f"d{n}.example.net"},
                        key=account.api_key).status_code == 201
    over = api.post("/v1/domains", {"name": "one-more.example.net"}, key=account.api_key)
    assert over.status_code == 409 and over.json["error"]["details"] == [{"field": "name"}]

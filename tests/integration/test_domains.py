"""Domains over the API: DNS records, verification, DKIM signing end to end, rotation."""

from __future__ import annotations

import json

import dkim
import pytest

from chalicelib import wiring
from chalicelib.adapters.dns_lookup import DnsLookup
from chalicelib.errors import RetryableFailure
from tests.fakes import FakeResolver, txt_rdata


@pytest.fixture
def dns(stack) -> FakeResolver:
    resolver = FakeResolver()
    wiring.use(dns=lambda: DnsLookup(resolver))
    return resolver


def _publish(resolver: FakeResolver, records: list[dict], only: str | None = None) -> None:
    for record in records:
        if only and record["purpose"] != only:
            continue
        value = txt_rdata(record["value"]) if record["type"] == "TXT" else record["value"] + "."
        resolver.add(record["name"], record["type"], value)


def _create(api, key, name="mail.acme-corp.com", dkim_mode="rsa2048") -> dict:
    response = api.post("/v1/domains", {"name": name, "dkim": dkim_mode}, key=key)
    assert response.status_code == 201, response.json
    return response.json


def _dkim_dns(records: list[dict]):
    """A DNS lookup for dkimpy that knows only the TXT records our API returned."""
    table = {f"{r['name']}.".encode(): r["value"].encode() for r in records
             if r["purpose"] == "dkim"}
    return lambda name, timeout=5: table.get(name)


def _send_and_capture(api, key, domain, tmp_path, drain) -> bytes:
    accepted = api.post("/v1/emails", {"from": f"Acme <hi@{domain}>", "to": "a@example.net",
                                       "cc": "c@example.net", "reply_to": "r@example.net",
                                       "subject": "Signed", "html": "<p>signed body</p>"},
                        key=key)
    assert accepted.status_code == 202, accepted.json
    drain()
    return (tmp_path / "outbox" / f"{accepted.json['id']}.eml").read_bytes()


def test_create_returns_exact_records_and_no_secret(api, account, dns) -> None:
    domain = _create(api, account.api_key, "Mail.Acme-Corp.com.")
    assert domain["name"] == "mail.acme-corp.com" and domain["status"] == "pending"
    by_purpose = {r["purpose"]: r for r in domain["records"]}
    selector = by_purpose["dkim"]["selector"]
    assert by_purpose["dkim"]["name"] == f"{selector}._domainkey.mail.acme-corp.com"
    assert by_purpose["dkim"]["value"].startswith("v=DKIM1; k=rsa; p=MIIBIjAN")
    assert by_purpose["mail_from_mx"] == {**by_purpose["mail_from_mx"],
                                          "name": "send.mail.acme-corp.com",
                                          "value": "10 feedback-smtp.us-east-1.amazonses.com"}
    assert by_purpose["spf"]["value"] == "v=spf1 include:amazonses.com ~all"
    assert by_purpose["dmarc"]["required"] is False
    assert "PRIVATE" not in str(domain) and "ciphertext" not in str(domain)


def test_verify_reports_each_record_and_verifies_when_right(api, account, dns) -> None:
    domain = _create(api, account.api_key)
    path = f"/v1/domains/{domain['id']}/verify"
    first = api.post(path, key=account.api_key).json
    assert first["status"] == "pending"
    assert {r["status"] for r in first["records"]} == {"missing"}

    from chalicelib.dkim_signing import generate_key_pair
    dkim_record = next(r for r in domain["records"] if r["purpose"] == "dkim")
    dns.add(dkim_record["name"], "TXT", txt_rdata(generate_key_pair("rsa-sha256").public_record))
    _publish(dns, domain["records"], only="mail_from_mx")
    _publish(dns, domain["records"], only="spf")
    second = api.post(path, key=account.api_key).json
    states = {r["purpose"]: r["status"] for r in second["records"]}
    assert states == {"dkim": "mismatch", "mail_from_mx": "found", "spf": "found",
                      "dmarc": "missing"}
    assert second["status"] == "pending"
    wrong = next(r for r in second["records"] if r["purpose"] == "dkim")
    assert wrong["seen"] and wrong["seen"][0] != wrong["value"]

    dns.records.pop((dkim_record["name"], "TXT"))
    _publish(dns, domain["records"], only="dkim")
    third = api.post(path, key=account.api_key).json
    assert third["status"] == "verified" and third["verified_at"]
    assert api.get(f"/v1/domains/{domain['id']}", key=account.api_key).json["status"] == "verified"


def test_pending_domain_cannot_send(api, account, dns) -> None:
    _create(api, account.api_key)
    response = api.post("/v1/emails", {"from": "x@mail.acme-corp.com", "to": "a@example.net",
                                       "subject": "s", "text": "t"}, key=account.api_key)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "domain_not_verified"


@pytest.mark.parametrize("mode", ["rsa2048", "rsa2048+ed25519"])
def test_worker_signature_verifies_with_only_the_published_record(api, account, dns, drain,
                                                                  tmp_path, mode) -> None:
    domain = _create(api, account.api_key, dkim_mode=mode)
    _publish(dns, domain["records"])
    assert api.post(f"/v1/domains/{domain['id']}/verify", key=account.api_key).json["status"] \
        == "verified"
    raw = _send_and_capture(api, account.api_key, domain["name"], tmp_path, drain)
    lookup = _dkim_dns(domain["records"])
    checker = dkim.DKIM(raw)
    signatures = raw.count(b"DKIM-Signature:")
    assert signatures == (2 if mode.endswith("ed25519") else 1)
    assert all(checker.verify(idx=i, dnsfunc=lookup) for i in range(signatures))
    assert not dkim.verify(raw.replace(b"signed body", b"signed bodx"), dnsfunc=lookup)
    assert not dkim.verify(raw.replace(b"Subject: Signed", b"Subject: Signet"), dnsfunc=lookup)


def test_deleted_domain_cannot_send(api, account) -> None:
    response = api.request("DELETE", f"/v1/domains/{account.domain_id}", key=account.api_key)
    assert response.status_code == 200 and response.json == {"id": account.domain_id,
                                                              "deleted": True}
    refused = api.post("/v1/emails", {"from": f"x@{account.domain}", "to": "a@example.net",
                                      "subject": "s", "text": "t"}, key=account.api_key)
    assert refused.json["error"]["code"] == "domain_not_verified"
    assert api.get(f"/v1/domains/{account.domain_id}", key=account.api_key).status_code == 404


def test_domains_are_private_to_their_account(api, account, other_account, dns) -> None:
    for path in (f"/v1/domains/{account.domain_id}",):
        assert api.get(path, key=other_account.api_key).status_code == 404
    assert api.post(f"/v1/domains/{account.domain_id}/verify",
                    key=other_account.api_key).status_code == 404
    assert api.request("DELETE", f"/v1/domains/{account.domain_id}",
                       key=other_account.api_key).status_code == 404
    listed = api.get("/v1/domains", key=other_account.api_key).json["data"]
    assert [d["name"] for d in listed] == [other_account.domain]


def test_a_domain_belongs_to_one_account(api, account, other_account, dns) -> None:
    """Bug caught (issue 14 item 25): adding a name another account holds answered 409,
    telling one tenant about another; and an account adding its own name twice."""
    taken = api.post("/v1/domains", {"name": account.domain}, key=other_account.api_key)
    assert taken.status_code == 201 and taken.json["status"] == "pending"
    _publish(dns, taken.json["records"])  # even with the records, the name is held
    checked = api.post(f"/v1/domains/{taken.json['id']}/verify", key=other_account.api_key)
    assert checked.status_code == 200 and checked.json["status"] == "pending"
    assert account.account_id not in json.dumps(checked.json)
    again = api.post("/v1/domains", {"name": account.domain}, key=account.api_key)
    assert again.status_code == 409


@pytest.mark.parametrize("name", ["localhost", "no_underscores.example.com", "-a.example.com",
                                  "1.2.3.4", "a" * 64 + ".example.com", ""])
def test_invalid_domain_names_are_refused(api, account, name) -> None:
    response = api.post("/v1/domains", {"name": name}, key=account.api_key)
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "name"


def test_listing_pages_with_a_cursor_bound_to_the_account(api, account, other_account,
                                                          dns) -> None:
    for n in range(3):
        _create(api, account.api_key, f"m{n}.acme-corp.com")
    first = api.get("/v1/domains?limit=2", key=account.api_key).json
    assert len(first["data"]) == 2 and first["has_more"] and first["next_cursor"]
    rest = api.get(f"/v1/domains?limit=2&cursor={first['next_cursor']}",
                   key=account.api_key).json
    names = [d["name"] for d in first["data"] + rest["data"]]
    assert len(names) == 4 and len(set(names)) == 4
    stolen = api.get(f"/v1/domains?cursor={first['next_cursor']}", key=other_account.api_key)
    assert stolen.status_code == 422 and stolen.json["error"]["details"][0]["field"] == "cursor"
    assert api.get("/v1/domains?limit=0", key=account.api_key).status_code == 422
    assert api.get("/v1/domains?cursor=garbage!", key=account.api_key).status_code == 422


def test_rotation_keeps_old_key_until_new_record_verifies(api, account, dns, drain,
                                                          tmp_path) -> None:
    domain = _create(api, account.api_key)
    _publish(dns, domain["records"])
    api.post(f"/v1/domains/{domain['id']}/verify", key=account.api_key)
    old_selector = next(r["selector"] for r in domain["records"] if r["purpose"] == "dkim")

    rotated = api.post(f"/v1/domains/{domain['id']}/rotate-dkim", key=account.api_key).json
    pending = [r for r in rotated["records"] if r["key_state"] == "pending"]
    assert len(pending) == 1 and pending[0]["selector"] != old_selector
    assert api.post(f"/v1/domains/{domain['id']}/rotate-dkim",
                    key=account.api_key).status_code == 409

    api.post(f"/v1/domains/{domain['id']}/verify", key=account.api_key)  # new record absent
    wiring.container().keyring._cache.clear()
    before = _send_and_capture(api, account.api_key, domain["name"], tmp_path, drain)
    assert f"s={old_selector};".encode() in before

    dns.add(pending[0]["name"], "TXT", txt_rdata(pending[0]["value"]))
    done = api.post(f"/v1/domains/{domain['id']}/verify", key=account.api_key).json
    states = {r["selector"]: r["key_state"] for r in done["records"] if r["purpose"] == "dkim"}
    assert states == {old_selector: "retired", pending[0]["selector"]: "active"}
    wiring.container().keyring._cache.clear()  # a warm worker picks this up within a minute
    after = _send_and_capture(api, account.api_key, domain["name"], tmp_path, drain)
    assert f"s={pending[0]['selector']};".encode() in after
    assert dkim.verify(after, dnsfunc=_dkim_dns(done["records"]))


def test_private_keys_are_stored_only_encrypted(api, account, stack, dns) -> None:
    domain = _create(api, account.api_key, dkim_mode="rsa2048+ed25519")
    from chalicelib.domains import _key_context
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    record = next(i for i in items if i["sk"]["S"] == f"DOMAIN#{domain['name']}")
    keys = record["keys"]["L"]
    assert len(keys) == 2
    kms = wiring.container().secrets
    for key in keys:
        fields = key["M"]
        plaintext = kms.decrypt(fields["private_ciphertext"]["B"], _key_context(
            account.account_id, domain["id"], fields["selector"]["S"]))
        body = plaintext.split(b"\n")[1] if b"PRIVATE" in plaintext else plaintext
        assert body[:40].decode() not in str(items), "a private key is stored in plaintext"
        with pytest.raises(RetryableFailure):  # bound to its owner by the encryption context
            kms.decrypt(fields["private_ciphertext"]["B"], _key_context(
                "acct_someoneelse", domain["id"], fields["selector"]["S"]))


def test_no_key_material_in_logs_or_responses(api, account, dns, drain, tmp_path,
                                              capfd) -> None:
    domain = _create(api, account.api_key)
    _publish(dns, domain["records"])
    api.post(f"/v1/domains/{domain['id']}/verify", key=account.api_key)
    _send_and_capture(api, account.api_key, domain["name"], tmp_path, drain)
    keys = wiring.container().keyring.signing_keys(account.account_id, domain["name"])
    secret = keys[0].private.split(b"\n")[1].decode()
    out, err = capfd.readouterr()
    assert "emails_sent" in out, "the capture sees what the functions print"
    assert secret not in out + err
    assert "PRIVATE KEY" not in out + err
    assert "a@example.net" not in out + err, "addresses never reach the logs"

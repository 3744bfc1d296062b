"""Each record's found / missing / mismatch, through dnspython with a fake resolver."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dns_lookup import DnsLookup
from chalicelib.dkim_signing import generate_key_pair
from chalicelib.dns_records import check_record, expected_records, sends_correctly
from tests.fakes import FakeResolver, txt_rdata

KEY = generate_key_pair("rsa-sha256")
OTHER = generate_key_pair("rsa-sha256")
DOMAIN = {"name": "acme.test.example", "mail_from": "send.acme.test.example",
          "keys": [{"selector": "lb1r", "state": "active", "public_record": KEY.public_record}]}


def _check(resolver: FakeResolver, purpose: str):
    (record,) = [r for r in expected_records(DOMAIN, "eu-west-1") if r.purpose == purpose]
    return check_record(record, DnsLookup(resolver))


def test_expected_records_name_the_exact_hosts() -> None:
    records = {(r.purpose, r.type, r.name): r for r in expected_records(DOMAIN, "eu-west-1")}
    assert records[("dkim", "TXT", "lb1r._domainkey.acme.test.example")].value == \
        KEY.public_record
    mx = records[("mail_from_mx", "MX", "send.acme.test.example")]
    assert mx.value == "10 feedback-smtp.eu-west-1.amazonses.com"
    assert records[("spf", "TXT", "send.acme.test.example")].value == \
        "v=spf1 include:amazonses.com ~all"
    assert not records[("dmarc", "TXT", "_dmarc.acme.test.example")].required


def test_dkim_missing_mismatch_found() -> None:
    resolver = FakeResolver()
    assert _check(resolver, "dkim").status == "missing"
    resolver.add("lb1r._domainkey.acme.test.example", "TXT", txt_rdata(OTHER.public_record))
    mismatch = _check(resolver, "dkim")
    assert mismatch.status == "mismatch" and mismatch.seen == [OTHER.public_record]
    resolver.records.clear()
    resolver.add("lb1r._domainkey.acme.test.example", "TXT", txt_rdata(KEY.public_record))
    assert _check(resolver, "dkim").status == "found", "split TXT strings are joined"


def test_dkim_whitespace_inside_the_key_is_tolerated() -> None:
    spaced = KEY.public_record.replace("p=", "p= ").replace("A", "A ", 3)
    resolver = FakeResolver()
    resolver.add("lb1r._domainkey.acme.test.example", "TXT", txt_rdata(spaced))
    assert _check(resolver, "dkim").status == "found"


@pytest.mark.parametrize(("answers", "status"), [
    ([], "missing"),
    (["10 feedback-smtp.us-east-1.amazonses.com."], "mismatch"),
    (["10 feedback-smtp.eu-west-1.amazonses.com."], "found"),
])
def test_mail_from_mx(answers, status) -> None:
    resolver = FakeResolver()
    for answer in answers:
        resolver.add("send.acme.test.example", "MX", answer)
    assert _check(resolver, "mail_from_mx").status == status


@pytest.mark.parametrize(("answers", "status"), [
    ([], "missing"),
    (['"v=spf1 -all"'], "mismatch"),
    (['"v=spf1 include:amazonses.com ~all"', '"v=spf1 include:other.example ~all"'], "mismatch"),
    (['"google-site-verification=x"'], "mismatch"),
    (['"v=spf1 include:amazonses.com -all"'], "found"),
])
def test_spf(answers, status) -> None:
    resolver = FakeResolver()
    for answer in answers:
        resolver.add("send.acme.test.example", "TXT", answer)
    assert _check(resolver, "spf").status == status


def test_dmarc_any_policy_counts() -> None:
    resolver = FakeResolver()
    assert _check(resolver, "dmarc").status == "missing"
    resolver.add("_dmarc.acme.test.example", "TXT", '"v=DMARC1; p=reject"')
    assert _check(resolver, "dmarc").status == "found"


def test_verified_needs_dkim_mx_and_spf_but_not_dmarc() -> None:
    resolver = FakeResolver()
    resolver.add("lb1r._domainkey.acme.test.example", "TXT", txt_rdata(KEY.public_record))
    resolver.add("send.acme.test.example", "MX", "10 feedback-smtp.eu-west-1.amazonses.com.")
    checks = [check_record(r, DnsLookup(resolver))
              for r in expected_records(DOMAIN, "eu-west-1")]
    assert not sends_correctly(checks), "SPF still missing"
    resolver.add("send.acme.test.example", "TXT", '"v=spf1 include:amazonses.com ~all"')
    checks = [check_record(r, DnsLookup(resolver))
              for r in expected_records(DOMAIN, "eu-west-1")]
    assert sends_correctly(checks)


def test_dns_timeout_is_transient() -> None:
    import dns.exception

    from chalicelib.errors import RetryableFailure

    class Slow:
        def resolve(self, qname, rdtype):
            raise dns.exception.Timeout()
    with pytest.raises(RetryableFailure):
        DnsLookup(Slow()).txt("x.example")

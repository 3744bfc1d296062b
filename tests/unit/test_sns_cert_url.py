"""Issue 14, item 4: the SNS certificate URL check accepted sns.s3.amazonaws.com (an S3 bucket
anyone may own) and any path ending in .pem. Only SNS's own regional hosts and certificate
paths are trusted, and an untrusted URL is refused before anything is fetched."""

from __future__ import annotations

import pytest

from chalicelib.errors import Forbidden
from chalicelib.tracking.sns import SnsVerifier, trusted_cert_url
from letterbox.local.simulator import LocalSnsSigner

TOPIC = "arn:aws:sns:us-east-1:123456789012:letterbox"
CERT = "SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"


@pytest.mark.parametrize("url", [
    f"https://sns.us-east-1.amazonaws.com/{CERT}",
    f"https://sns.eu-central-2.amazonaws.com/{CERT}",
    f"https://sns.us-gov-west-1.amazonaws.com/{CERT}",
    f"https://sns.cn-north-1.amazonaws.com.cn/{CERT}",
    f"https://sns.ap-southeast-5.amazonaws.com/{CERT}",
])
def test_sns_regional_certificate_urls_are_trusted(url) -> None:
    assert trusted_cert_url(url)


@pytest.mark.parametrize("url", [
    f"https://sns.s3.amazonaws.com/{CERT}",              # an S3 bucket named "sns"
    f"https://sns.s3-website.amazonaws.com/{CERT}",
    f"https://sns.execute-api.amazonaws.com/{CERT}",
    f"https://sns.us-east-1.elb.amazonaws.com/{CERT}",
    f"https://sns.us-east-1.amazonaws.com.evil.com/{CERT}",
    f"https://evil.com/sns.us-east-1.amazonaws.com/{CERT}",
    "https://sns.us-east-1.amazonaws.com/mybucket/cert.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-xyz.pem",
    f"https://sns.us-east-1.amazonaws.com/a/{CERT}",
    f"https://sns.us-east-1.amazonaws.com/{CERT}?x=1",
    f"https://sns.us-east-1.amazonaws.com/{CERT}#f",
    f"https://sns.us-east-1.amazonaws.com:8443/{CERT}",
    f"https://user@sns.us-east-1.amazonaws.com/{CERT}",
    f"https://SNS.US-EAST-1.AMAZONAWS.COM:x/{CERT}",
    f"http://sns.us-east-1.amazonaws.com/{CERT}",
    f"https://sns.us-east-1.amazonaws.com./{CERT}",
])
def test_other_hosts_and_paths_are_not(url) -> None:
    assert not trusted_cert_url(url)


def test_an_untrusted_url_is_refused_without_any_fetch(tmp_path) -> None:
    signer = LocalSnsSigner(tmp_path / "sns.pem")
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return (tmp_path / "sns.pem").read_bytes()

    verifier = SnsVerifier(fetch, {TOPIC})
    envelope = signer.envelope(TOPIC, {"hello": "world"})
    good = {**envelope, "SigningCertURL": f"https://sns.us-east-1.amazonaws.com/{CERT}"}
    import json
    assert verifier.verify(json.dumps(good)).topic_arn == TOPIC
    assert fetched == [good["SigningCertURL"]]
    bucket = {**envelope, "SigningCertURL": f"https://sns.s3.amazonaws.com/{CERT}"}
    with pytest.raises(Forbidden):
        verifier.verify(json.dumps(bucket))
    assert fetched == [good["SigningCertURL"]]  # nothing more was fetched

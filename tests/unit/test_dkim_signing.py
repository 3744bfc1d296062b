"""DKIM signatures: identical to dkimpy's own, verifiable, and over the right headers."""

from __future__ import annotations

import dkim
import pytest

from chalicelib import dkim_signing
from chalicelib.dkim_signing import SigningKey, generate_key_pair, headers_to_sign, sign_message

RSA = generate_key_pair("rsa-sha256")
ED = generate_key_pair("ed25519-sha256")
MESSAGE = (b"From: Acme <a@acme.example>\r\nTo: b@example.net\r\nSubject: Hi\r\n"
           b"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@acme.example>\r\n"
           b"List-Unsubscribe: <https://u.example/u/t>, <mailto:u@acme.example>\r\n"
           b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n")
DNS = {b"r1._domainkey.acme.example.": RSA.public_record.encode(),
       b"e1._domainkey.acme.example.": ED.public_record.encode()}


def _dns(name, timeout=5):
    return DNS.get(name)


def test_fast_signer_is_byte_identical_to_dkimpy(monkeypatch) -> None:
    monkeypatch.setattr("time.time", lambda: 1_800_000_000)
    ours = sign_message(MESSAGE, "acme.example", [SigningKey("r1", "rsa-sha256", RSA.private)])
    monkeypatch.setattr(dkim, "parse_pem_private_key", dkim_signing.DKIMPY_PARSE_PEM)
    monkeypatch.setattr(dkim, "RSASSA_PKCS1_v1_5_sign", dkim_signing.DKIMPY_RSA_SIGN)
    pure = dkim.sign(MESSAGE, b"r1", b"acme.example", RSA.private,
                     include_headers=headers_to_sign(MESSAGE),
                     canonicalize=(b"relaxed", b"relaxed")) + MESSAGE
    assert ours == pure


def test_dual_signature_both_verify() -> None:
    signed = sign_message(MESSAGE, "acme.example", [SigningKey("r1", "rsa-sha256", RSA.private),
                                                    SigningKey("e1", "ed25519-sha256",
                                                               ED.private)])
    checker = dkim.DKIM(signed)
    assert checker.verify(idx=0, dnsfunc=_dns) and checker.verify(idx=1, dnsfunc=_dns)
    assert b"a=rsa-sha256" in signed and b"a=ed25519-sha256" in signed


@pytest.mark.parametrize("tamper", [
    lambda m: m.replace(b"Subject: Hi", b"Subject: Hj"),
    lambda m: m.replace(b"Hello\r\n", b"Hellp\r\n"),
    lambda m: m.replace(b"To: b@example.net", b"To: c@example.net"),
    lambda m: m.replace(b"List-Unsubscribe: <https://u.example", b"List-Unsubscribe: <https://x.example"),
])
def test_tampering_breaks_verification(tamper) -> None:
    signed = sign_message(MESSAGE, "acme.example", [SigningKey("r1", "rsa-sha256", RSA.private)])
    assert dkim.verify(signed, dnsfunc=_dns)
    assert not dkim.verify(tamper(signed), dnsfunc=_dns)


def test_signed_headers_follow_the_spec() -> None:
    signed = sign_message(MESSAGE, "acme.example", [SigningKey("r1", "rsa-sha256", RSA.private)])
    h_tag = dkim.DKIM(signed)
    h_tag.verify(dnsfunc=_dns)
    signed_names = {h.decode().lower() for h in h_tag.include_headers}
    assert {"from", "to", "subject", "mime-version", "content-type", "list-unsubscribe",
            "list-unsubscribe-post"} <= signed_names
    assert not signed_names & {"message-id", "date", "return-path"}


def test_changing_date_or_message_id_keeps_the_signature_valid() -> None:
    signed = sign_message(MESSAGE, "acme.example", [SigningKey("r1", "rsa-sha256", RSA.private)])
    relayed = signed.replace(b"Message-ID: <x@", b"Message-ID: <y@")
    relayed = relayed.replace(b"10:00:00", b"10:00:01")
    assert dkim.verify(relayed, dnsfunc=_dns)

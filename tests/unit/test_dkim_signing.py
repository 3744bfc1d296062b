"""DKIM signatures: identical to dkimpy's own, verifiable, and over the right headers."""

from __future__ import annotations

import dkim
import pytest

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


# Messages that exercise every canonicalization rule: tabs, runs of spaces, trailing
# whitespace, folded and repeated headers, trailing blank lines, an empty body.
AWKWARD = [
    MESSAGE,
    MESSAGE.replace(b"Subject: Hi", b"Subject:  Hi \t there\r\n\tfolded  twice ")
           .replace(b"Hello\r\n", b"Hello  \t world \r\n\tindented\r\n\r\n\r\n"),
    MESSAGE.replace(b"To: b@example.net", b"To: b@example.net\r\nTo:   c@example.net\t"),
    MESSAGE.replace(b"Hello\r\n", b""),
    MESSAGE.replace(b"Hello\r\n", b"no final line break  "),
    MESSAGE.replace(b"Hello\r\n", b"=3D quoted-printable line that is long enough to be soft=\r\n"
                    b" broken " * 40 + b"\r\n"),
]


@pytest.mark.parametrize("message", AWKWARD)
@pytest.mark.parametrize("key", [SigningKey("r1", "rsa-sha256", RSA.private),
                                 SigningKey("e1", "ed25519-sha256", ED.private)],
                         ids=["rsa", "ed25519"])
def test_own_canonicalization_is_byte_identical_to_dkimpy(monkeypatch, message, key) -> None:
    """Bug caught: a fast canonicalization that differs from RFC 6376 by one byte breaks
    every signature at the receiver; dkimpy is the reference implementation."""
    monkeypatch.setattr("time.time", lambda: 1_800_000_000)
    ours = sign_message(message, "acme.example", [key])
    pure = dkim.sign(message, key.selector.encode(), b"acme.example", key.private,
                     signature_algorithm=key.algorithm.encode(),
                     include_headers=headers_to_sign(message),
                     canonicalize=(b"relaxed", b"relaxed")) + message
    assert ours == pure
    assert dkim.verify(ours, dnsfunc=_dns)


def test_bare_line_feeds_are_refused() -> None:
    """Bug caught: a message with LF-only lines would be hashed differently from what a
    receiver canonicalizes; our MIME is CRLF-only, anything else is a programming error."""
    with pytest.raises(ValueError, match="CRLF"):
        sign_message(MESSAGE.replace(b"Hello\r\n", b"Hello\n"), "acme.example",
                     [SigningKey("r1", "rsa-sha256", RSA.private)])


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

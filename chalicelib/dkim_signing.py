"""DKIM keys and signatures: RSA-2048 (RFC 6376) and Ed25519 (RFC 8463), relaxed/relaxed.

dkimpy canonicalizes in Python (a regex substitution on every space of the body) and
computes RSA in pure Python. Our messages are 7-bit MIME with CRLF line endings that we
build ourselves, so we canonicalize them by the same rules but only touch the bytes a rule
changes, hash once, and sign through OpenSSL (``cryptography``). dkimpy's own header
selection and folding are reused, and a test keeps our output byte-identical to dkimpy's.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from dkim.canonicalization import correct_empty_body, strip_trailing_lines

Algorithm = Literal["rsa-sha256", "ed25519-sha256"]
# SPEC §5: these when present; never Message-ID, Date or Return-Path.
SIGNED_HEADERS = ("from", "to", "cc", "subject", "reply-to", "mime-version", "content-type",
                  "list-unsubscribe", "list-unsubscribe-post")
_SIGNED = tuple(name.encode() for name in SIGNED_HEADERS)
_FIELD_START = re.compile(rb"\r\n(?![ \t])")
_TRAILING_WSP = re.compile(rb"[\t ]+\r\n")
# Only the runs that relaxed canonicalization changes: a tab, or two or more WSP characters.
_WSP_TO_SQUEEZE = re.compile(rb"\t[\t ]*| [\t ]+")
_SIGNATURE_NAME = b"DKIM-Signature"
_PLACEHOLDER = b"0" * 60


@dataclass(frozen=True)
class KeyPair:
    algorithm: Algorithm
    private: bytes  # RSA: PKCS#1 PEM; Ed25519: base64 of the 32-byte seed (dkimpy's forms)
    public_record: str  # the TXT value to publish at <selector>._domainkey.<domain>


@dataclass(frozen=True)
class SigningKey:
    selector: str
    algorithm: Algorithm
    private: bytes


def generate_key_pair(algorithm: Algorithm) -> KeyPair:
    if algorithm == "rsa-sha256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return KeyPair(algorithm, private, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}")
    seed = ed25519.Ed25519PrivateKey.generate()
    raw_private = seed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
    raw_public = seed.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
    return KeyPair(algorithm, base64.b64encode(raw_private),
                   f"v=DKIM1; k=ed25519; p={base64.b64encode(raw_public).decode()}")


PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@lru_cache(maxsize=256)
def _private_key(algorithm: Algorithm, private: bytes) -> PrivateKey:
    """Parsed once per warm Lambda: parsing an RSA key costs more than signing with it."""
    if algorithm == "ed25519-sha256":
        return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(private))
    key = serialization.load_pem_private_key(private, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def headers_to_sign(message: bytes) -> list[bytes]:
    return _present(_parse(message)[0])


def _present(fields: list[tuple[bytes, bytes]]) -> list[bytes]:
    """The signed header names (``SIGNED_HEADERS``) this message has, in that order."""
    present = {name for name, _ in fields}
    return [name for name in _SIGNED if name in present]


def _squeeze(value: bytes) -> bytes:
    return _WSP_TO_SQUEEZE.sub(b" ", value) if b"\t" in value or b"  " in value else value


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4, touching only what a rule changes (most bodies: nothing)."""
    has_tab = b"\t" in body  # one fast byte scan spares the slower pattern scans below
    if b" \r\n" in body or (has_tab and b"\t\r\n" in body):
        body = _TRAILING_WSP.sub(b"\r\n", body)
    return bytes(correct_empty_body(strip_trailing_lines(_squeeze(body))))


def _relaxed_value(value: bytes) -> bytes:
    """RFC 6376 §3.4.2: the value unfolded, WSP squeezed and trimmed."""
    return _squeeze(value.replace(b"\r\n", b"")).strip()


def _parse(message: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Header fields with relaxed (lower-case) names, and the body."""
    head, _, body = message.partition(b"\r\n\r\n")
    fields = []
    for field in _FIELD_START.split(head):
        name, colon, value = field.partition(b":")
        if not colon:
            raise ValueError("a header line without a colon")
        fields.append((name.lower().rstrip(), value))
    return fields, body


def _signature_value(fields: list[tuple[bytes, bytes]], end: bytes = b"") -> bytes:
    """Folded at column 72 exactly as dkimpy folds it (its own ``fold``)."""
    return bytes(dkim.fold(b"; ".join(b"=".join(field) for field in fields) + end,
                           namelen=len(_SIGNATURE_NAME)))


def _sign_one(headers: list[tuple[bytes, bytes]], body_hash: bytes, include: list[bytes],
              domain: bytes, key: SigningKey) -> bytes:
    fields = [(b"v", b"1"), (b"a", key.algorithm.encode()), (b"c", b"relaxed/relaxed"),
              (b"d", domain), (b"i", b"@" + domain), (b"q", b"dns/txt"),
              (b"s", key.selector.encode()), (b"t", str(int(time.time())).encode()),
              (b"h", b" : ".join(include)), (b"bh", body_hash),
              (b"b", _PLACEHOLDER)]  # dkimpy's: b= folds onto a line of its own
    folded = _signature_value(fields)
    # What dkimpy's RE_BTAG substitution leaves, without its regex: the value minus the
    # placeholder, which ends it unbroken (fold breaks only at spaces, and it fits a line).
    assert folded.endswith(_PLACEHOLDER), "the b= placeholder was folded"
    unsigned = folded[:-len(_PLACEHOLDER)]
    hasher = hashlib.sha256()
    for name, value in dkim.select_headers(headers, include):
        hasher.update(name + b":" + _relaxed_value(value) + b"\r\n")
    hasher.update(b"dkim-signature:" + _relaxed_value(b" " + unsigned))  # no CRLF: §3.7
    private = _private_key(key.algorithm, key.private)
    if isinstance(private, rsa.RSAPrivateKey):
        signature = private.sign(hasher.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    else:
        signature = private.sign(hasher.digest())  # RFC 8463: Ed25519 over the SHA-256 hash
    fields[-1] = (b"b", base64.b64encode(signature))
    return _SIGNATURE_NAME + b": " + _signature_value(fields, end=b"\r\n")


def sign_message(message: bytes, domain: str, keys: list[SigningKey]) -> bytes:
    """The message with one DKIM-Signature per key prepended (RSA and, if asked, Ed25519)."""
    if message.count(b"\n") != message.count(b"\r\n"):
        raise ValueError("DKIM signing expects CRLF line endings")
    headers, body = _parse(message)
    include = _present(headers)
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
    return b"".join(_sign_one(headers, body_hash, include, domain.encode(), key)
                    for key in keys) + message

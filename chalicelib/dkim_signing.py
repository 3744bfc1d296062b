"""DKIM keys and signatures: RSA-2048 (RFC 6376) and Ed25519 (RFC 8463), signed with dkimpy.

dkimpy computes RSA in pure Python (~110 signatures/s). Its RSA step is two module-level
functions, so we hand it an OpenSSL-backed key object and route just that step through
``cryptography``: the signature bytes are identical, about ten times faster. Everything
else (canonicalization, header selection, folding) stays dkimpy's.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

Algorithm = Literal["rsa-sha256", "ed25519-sha256"]
# SPEC §5: these when present; never Message-ID, Date or Return-Path.
SIGNED_HEADERS = ("from", "to", "cc", "subject", "reply-to", "mime-version", "content-type",
                  "list-unsubscribe", "list-unsubscribe-post")
_HEADER_NAME = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)


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


# dkimpy's own functions, kept before install_openssl_rsa() replaces them.
DKIMPY_PARSE_PEM = dkim.parse_pem_private_key
DKIMPY_RSA_SIGN = dkim.RSASSA_PKCS1_v1_5_sign


class _OpenSslRsaKey:
    """Given to dkimpy instead of PEM bytes; our two hooks below recognise it."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key


def _parse_private_key(data: Any) -> Any:
    return data if isinstance(data, _OpenSslRsaKey) else DKIMPY_PARSE_PEM(data)


def _rsa_sign(digest: Any, private_key: Any) -> Any:
    if isinstance(private_key, _OpenSslRsaKey):
        return private_key.key.sign(digest.digest(), padding.PKCS1v15(),
                                    Prehashed(hashes.SHA256()))
    return DKIMPY_RSA_SIGN(digest, private_key)


def install_openssl_rsa() -> None:
    """Route dkimpy's RSA step through OpenSSL (idempotent; other callers are unaffected)."""
    dkim.parse_pem_private_key = _parse_private_key
    dkim.RSASSA_PKCS1_v1_5_sign = _rsa_sign


@lru_cache(maxsize=256)
def _load_rsa(pem: bytes) -> _OpenSslRsaKey:
    """Parsed once per warm Lambda: parsing costs more than signing."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return _OpenSslRsaKey(key)


def headers_to_sign(message: bytes) -> list[bytes]:
    head = message.split(b"\r\n\r\n", 1)[0]
    present = {m.group(1).lower() for m in _HEADER_NAME.finditer(head)}
    return [name.encode() for name in SIGNED_HEADERS if name.encode() in present]


def sign_message(message: bytes, domain: str, keys: list[SigningKey]) -> bytes:
    """The message with one DKIM-Signature per key prepended (RSA and, if asked, Ed25519)."""
    install_openssl_rsa()
    include = headers_to_sign(message)
    signatures = []
    for key in keys:
        private: Any = _load_rsa(key.private) if key.algorithm == "rsa-sha256" else key.private
        signatures.append(dkim.DKIM(message).sign(
            key.selector.encode(), domain.encode(), private,
            signature_algorithm=key.algorithm.encode(), include_headers=include,
            canonicalize=(b"relaxed", b"relaxed")))
    return b"".join(signatures) + message

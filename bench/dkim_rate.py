"""DKIM signing rates for a 5 KB message: dkimpy as shipped, our signer, raw cryptography."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from chalicelib.dkim_signing import SigningKey, generate_key_pair, headers_to_sign, sign_message
from chalicelib.mime import Content, build_message
from chalicelib.email_models import SendCommand


def five_kb_message() -> bytes:
    paragraph = "<p>Your order has shipped. Track it any time from your account page.</p>\n"
    command = SendCommand.model_validate({
        "account_id": "acct_bench", "message_id": "em_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "from": "Acme <orders@acme.example>", "to": ["customer@example.net"],
        "subject": "Your order has shipped", "html": paragraph * 32})
    raw = build_message(command, Content(command.subject or "", command.html, command.text))
    assert 4500 < len(raw) < 6500, len(raw)
    return raw


def per_second(work: Callable[[], Any], seconds: float = 2.0) -> float:
    """Operations per CPU-second on one core, measured until ``seconds`` of CPU elapse."""
    work()  # warm caches, as a warm Lambda would
    count, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        work()
        count += 1
    return count / elapsed


def paired_per_second(first: Callable[[], Any], second: Callable[[], Any],
                      seconds: float = 4.0, chunk: int = 10) -> tuple[float, float]:
    """Both rates, measured in alternating chunks of ``chunk`` operations until ``seconds``
    of CPU elapse in all: a figure and its reference then see the same machine (load from
    other jobs moves both alike instead of whichever ran during it)."""
    first(), second()
    counts, spent = [0, 0], [0.0, 0.0]
    while sum(spent) < seconds:
        for index, work in enumerate((first, second)):
            start = time.process_time()
            for _ in range(chunk):
                work()
            spent[index] += time.process_time() - start
            counts[index] += chunk
    return counts[0] / spent[0], counts[1] / spent[1]


def run() -> dict[str, Any]:
    message = five_kb_message()
    rsa, ed = generate_key_pair("rsa-sha256"), generate_key_pair("ed25519-sha256")
    include = headers_to_sign(message)
    raw_key = serialization.load_pem_private_key(rsa.private, password=None)

    def dkimpy_shipped() -> None:
        dkim.sign(message, b"s", b"acme.example", rsa.private, include_headers=include,
                  canonicalize=(b"relaxed", b"relaxed"))

    ours, raw = paired_per_second(
        lambda: sign_message(message, "acme.example",
                             [SigningKey("s", "rsa-sha256", rsa.private)]),
        lambda: raw_key.sign(message, padding.PKCS1v15(), hashes.SHA256()))  # type: ignore[union-attr]
    rates = {
        "dkimpy_rsa_per_s": per_second(dkimpy_shipped, 1.0),
        "ours_rsa_per_s": ours,
        "raw_cryptography_rsa_per_s": raw,
        "ours_ed25519_per_s": per_second(lambda: sign_message(
            message, "acme.example", [SigningKey("e", "ed25519-sha256", ed.private)])),
        "message_bytes": len(message),
    }
    rates["ours_vs_raw"] = rates["ours_rsa_per_s"] / rates["raw_cryptography_rsa_per_s"]
    rates["ours_vs_dkimpy"] = rates["ours_rsa_per_s"] / rates["dkimpy_rsa_per_s"]
    return rates


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:32} {value:12.2f}")

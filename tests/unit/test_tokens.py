"""Token keys: outsiders get derived keys, and root keys rotate without breaking links
already sent (issue 14 item 1)."""

from __future__ import annotations

import json

import pytest

from chalicelib.tokens import PRINT_PARTNER, TokenSigner

OLD, NEW = b"old-root-secret-0123456789", b"new-root-secret-9876543210"


def _rotated(*, keep_old: bool = True) -> TokenSigner:
    keys = {"k1": NEW.decode(), **({"k0": OLD.decode()} if keep_old else {})}
    return TokenSigner(lambda: json.dumps({"current": "k1", "keys": keys,
                                           "hash_key": "k0" if keep_old else "k1"}).encode())


def test_the_print_partner_key_is_not_the_root_and_forges_nothing() -> None:
    """Bug caught: the partner handed the master secret, with which it can forge click,
    unsubscribe and carrier-push tokens."""
    signer = TokenSigner(lambda: OLD)
    partner = signer.partner_key(PRINT_PARTNER).encode()
    assert OLD not in partner and partner != OLD
    forged = TokenSigner(lambda: partner)
    for purpose in ("click", "open", "unsubscribe"):
        assert signer.open(purpose, forged.seal(purpose, {"a": "acc"})) is None
    assert not signer.accepts_purpose_token("carrier-push:usps",
                                            forged.purpose_token("carrier-push:usps"))


def test_links_sent_before_a_rotation_keep_working() -> None:
    """Bug caught: rotating the signing secret breaking every unsubscribe link, click and
    carrier push URL already out there (tokens did not say which key signed them)."""
    before = TokenSigner(lambda: OLD)
    unsubscribe = before.seal("unsubscribe", {"a": "acc", "m": "em_1"})
    legacy = unsubscribe.split("~", 1)[1]  # a token from before key ids existed
    push = before.purpose_token("carrier-push:usps")
    hashed = before.address_hash("acc", "ana@example.net")

    after = _rotated()
    assert after.open("unsubscribe", unsubscribe) == {"a": "acc", "m": "em_1"}
    assert after.open("unsubscribe", legacy) == {"a": "acc", "m": "em_1"}
    assert after.accepts_purpose_token("carrier-push:usps", push)
    assert after.accepts_purpose_token("carrier-push:usps", push.split("~", 1)[1])
    assert after.seal("click", {"u": "x"}).startswith("k1~")
    assert after.address_hash("acc", "ana@example.net") == hashed, "suppressions stay keyed"


def test_a_retired_root_key_verifies_nothing() -> None:
    """Bug caught: a leaked old key still accepted after it was dropped from the key set."""
    token = TokenSigner(lambda: OLD).seal("click", {"u": "x"})
    assert _rotated(keep_old=False).open("click", token) is None


@pytest.mark.parametrize("token", ["", "~", "k9~abc.def", "k1~!!.??", "k1~" + "a" * 10])
def test_malformed_tokens_are_refused_not_raised(token: str) -> None:
    """Bug caught: a key id the deployment does not hold (or junk) raising a KeyError (500)."""
    assert _rotated().open("click", token) is None
    assert not _rotated().accepts_purpose_token("carrier-push:usps", token)

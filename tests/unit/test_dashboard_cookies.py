"""The cookie registry: one declaration behind Set-Cookie, consent and docs/cookies.md."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.dashboard import cookies
from chalicelib.dashboard.consent import cookie_value, read_consent
from chalicelib.retention import DataClass, lifetime_seconds
from letterbox.docs import COOKIES


def test_docs_cookies_md_is_generated_from_the_registry() -> None:
    """Bug caught: a cookie added in code but not disclosed in docs/cookies.md."""
    assert COOKIES.read_text() == cookies.markdown(), "docs/cookies.md is stale: make docs"
    for cookie in cookies.REGISTRY:
        assert f"`{cookie.name}`" in COOKIES.read_text()


def test_a_changed_registry_changes_the_doc_and_the_version(monkeypatch) -> None:
    """Bug caught: a registry change that neither the doc nor stored consents notice."""
    before, version = cookies.markdown(), cookies.registry_version()
    changed = (*cookies.REGISTRY[:-1], replace(cookies.REGISTRY[-1], lifetime="forever"))
    monkeypatch.setattr(cookies, "REGISTRY", changed)
    assert cookies.markdown() != before and cookies.registry_version() != version


def test_set_cookie_lifetimes_come_from_the_registry_and_the_retention_policy() -> None:
    """Bug caught: a hand-typed Max-Age that drifts from the promised lifetime."""
    remembered = cookies.set_cookie("lb_session", "x")
    assert f"Max-Age={lifetime_seconds(DataClass.DASHBOARD_SESSION_REMEMBERED)}" in remembered
    assert "HttpOnly" in remembered and "Secure" in remembered and "SameSite=Lax" in remembered
    assert "Max-Age" not in cookies.set_cookie("lb_session", "x", persistent=False)
    assert "Max-Age=31536000" in cookies.set_cookie("lb_consent", "x")
    assert "HttpOnly" not in cookies.set_cookie("lb_csrf", "x")


def test_consent_cookie_round_trips_and_gpc_means_reject_all() -> None:
    """Bug caught: GPC ignored, or a choice under an old registry still counting."""
    chosen = read_consent(cookie_value(frozenset({"analytics"}), "cns_" + "0" * 26), None)
    assert chosen.decided and chosen.allows("analytics") and not chosen.allows("marketing")
    gpc = read_consent(None, "1")
    assert not gpc.allows("analytics") and not gpc.show_banner
    stale = read_consent("oldversion.analytics.cns_" + "0" * 26, None)
    assert not stale.decided and stale.show_banner and not stale.allows("analytics")
    opted_in = read_consent(cookie_value(frozenset({"analytics"}), "cns_" + "0" * 26), "1")
    assert opted_in.allows("analytics"), "an explicit opt-in overrides GPC"

"""Dashboard sign-in, sessions, links and CSRF, under moto through ``chalice.test.Client``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.dashboard_support import Browser, make_user

PASSWORD = "correct horse battery"


@pytest.fixture
def browser(client: Any) -> Browser:
    return Browser(client)


@pytest.fixture
def mail(monkeypatch: pytest.MonkeyPatch, account: Any) -> Any:
    """Dashboard mail from the seeded account's verified domain, as local mode sets it."""
    from chalicelib import wiring
    monkeypatch.setenv("LETTERBOX_DASHBOARD_MAIL_FROM", f"Letterbox <no-reply@{account.domain}>")
    monkeypatch.setenv("LETTERBOX_DASHBOARD_MAIL_ACCOUNT", account.account_id)
    wiring.reset()
    return account


def _link_from_outbox(outbox: Any, drain: Any, path: str) -> str:
    drain()
    for eml in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        text = re.sub(r"=\r?\n", "", eml.read_text()).replace("=3D", "=")
        found = re.search(rf"https?://\S+{re.escape(path)}\?token=([A-Za-z0-9_-]+)", text)
        if found:
            return found.group(1)
    raise AssertionError(f"no {path} link in the outbox")


def test_password_hashes_are_argon2id(account: Any) -> None:
    """Bug caught: passwords stored with a fast hash (or in clear) instead of argon2id."""
    from chalicelib import wiring
    user, _ = make_user(account.account_id, "owner@example.com")
    item = wiring.container().dashboard.store.get_user(account.account_id, user.user_id)
    assert item["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(item)


def test_sign_in_sets_flags_and_sign_out_revokes_server_side(browser: Browser,
                                                             account: Any) -> None:
    """Bug caught: a session that survives sign-out, or cookies without their flags."""
    make_user(account.account_id, "owner@example.com")
    signed = browser.sign_in("owner@example.com", PASSWORD, remember=True)
    assert signed.status == 303 and signed.location == "/dashboard"
    session_line = next(c for c in signed.set_cookies if c.startswith("lb_session="))
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=2592000"):
        assert flag in session_line
    csrf_line = next(c for c in signed.set_cookies if c.startswith("lb_csrf="))
    assert "HttpOnly" not in csrf_line and "Max-Age=2592000" in csrf_line
    assert browser.get("/dashboard").status == 200
    old = dict(browser.cookies)
    assert browser.post("/dashboard/signout", {}).status == 303
    replay = Browser(browser.client, cookies=old)
    gone = replay.get("/dashboard")
    assert gone.status == 303 and gone.location.startswith("/dashboard/signin")


def test_without_remember_me_the_session_cookie_has_no_max_age(browser: Browser,
                                                               account: Any) -> None:
    """Bug caught: "Remember me" ignored, so an unticked box still keeps 30 days."""
    make_user(account.account_id, "owner@example.com")
    signed = browser.sign_in("owner@example.com", PASSWORD)
    session_line = next(c for c in signed.set_cookies if c.startswith("lb_session="))
    assert "Max-Age" not in session_line and "Expires" not in session_line


def test_wrong_password_and_unknown_address_read_the_same_then_throttle(
        browser: Browser, account: Any) -> None:
    """Bug caught: a message that reveals which addresses exist, or no throttling."""
    make_user(account.account_id, "owner@example.com")
    wrong = browser.sign_in("owner@example.com", "not the password")
    unknown = browser.sign_in("nobody@example.com", "not the password")
    assert wrong.status == unknown.status == 401
    message = "that email, password or code is not right"
    assert message in wrong.text and message in unknown.text
    for _ in range(4):  # the fifth failure in 15 minutes
        browser.sign_in("owner@example.com", "still wrong")
    throttled = browser.sign_in("owner@example.com", PASSWORD)
    assert throttled.status == 429, "the right password waits out the window too"
    for _ in range(4):
        browser.sign_in("nobody@example.com", "x")
    assert browser.sign_in("nobody@example.com", "x").status == 429, \
        "an address without a user is throttled the same way"


def test_csrf_refused_without_token_or_from_another_origin(browser: Browser,
                                                          account: Any) -> None:
    """Bug caught: a cross-site form that signs the user out or changes their profile."""
    make_user(account.account_id, "owner@example.com")
    browser.sign_in("owner@example.com", PASSWORD)
    bare = browser.post("/dashboard/profile", {"name": "Mallory"}, with_csrf=False,
                        headers={"Accept": "application/json"})
    assert bare.status == 403 and '"csrf_failed"' in bare.text
    token = browser.cookies["lb_csrf"]
    foreign = browser.request("POST", "/dashboard/profile",
                              form={"csrf_token": token, "name": "Mallory"},
                              headers={"Origin": "https://evil.example"})
    assert foreign.status == 403 and "csrf_failed" in foreign.text
    accepted = browser.post("/dashboard/profile", {"name": "Olive", "company": "Acme"})
    assert accepted.status == 303
    assert "Olive" in browser.get("/dashboard/profile").text


def test_signed_out_pages_redirect_and_leak_nothing(browser: Browser, account: Any) -> None:
    """Bug caught: a page that renders account data without a session."""
    for path in ("/dashboard", "/dashboard/profile", "/dashboard/profile/export"):
        page = browser.get(path)
        assert page.status == 303 and page.location.startswith("/dashboard/signin?next=")
        assert account.account_id not in page.text
    assert browser.get("/dashboard/cookies").status == 200


def test_invite_is_single_use_and_expires(browser: Browser, account: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug caught: an invite link that can be replayed or used after 7 days."""
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    users = wiring.container().dashboard.users
    _, url = users.create_user(account.account_id, "new@example.com", "member", utcnow())
    path = url.split("://", 1)[1].split("/", 1)[1]
    form = {"token": url.split("token=")[1], "name": "New", "password": PASSWORD}
    assert browser.get(f"/{path}").status == 200
    assert browser.post("/dashboard/invite", form).status == 303
    assert browser.post("/dashboard/invite", form).status == 410
    _, late = users.create_user(account.account_id, "late@example.com", "member", utcnow())
    later = utcnow() + timedelta(days=7, seconds=1)
    monkeypatch.setattr("chalicelib.api.dashboard.frame.utcnow", lambda: later)
    expired = browser.post("/dashboard/invite", {**form, "token": late.split("token=")[1]})
    assert expired.status == 410


def test_signin_link_by_email_is_single_use_and_expires(
        browser: Browser, mail: Any, drain: Any, stack: Any, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug caught: sign-in links that bypass Letterbox's send path, replay, or never expire."""
    from chalicelib.clock import utcnow
    make_user(mail.account_id, "owner@example.com")
    sent = browser.post("/dashboard/signin/link", {"email": "owner@example.com"})
    assert sent.status == 200 and "If a user exists" in sent.text
    token = _link_from_outbox(tmp_path / "outbox", drain, "/dashboard/signin/email")
    assert browser.get(f"/dashboard/signin/email?token={token}").status == 200
    used = browser.post("/dashboard/signin/email", {"token": token})
    assert used.status == 303 and "lb_session" in browser.cookies
    assert browser.post("/dashboard/signin/email", {"token": token}).status == 410
    browser.post("/dashboard/signin/link", {"email": "owner@example.com"})
    second = _link_from_outbox(tmp_path / "outbox", drain, "/dashboard/signin/email")
    later = utcnow() + timedelta(minutes=15, seconds=1)
    monkeypatch.setattr("chalicelib.api.dashboard.frame.utcnow", lambda: later)
    assert browser.post("/dashboard/signin/email", {"token": second}).status == 410


def test_password_reset_is_single_use_and_expires(
        browser: Browser, mail: Any, drain: Any, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug caught: a reset link usable twice, or after its hour."""
    from chalicelib.clock import utcnow
    make_user(mail.account_id, "owner@example.com")
    browser.post("/dashboard/forgot", {"email": "owner@example.com"})
    token = _link_from_outbox(tmp_path / "outbox", drain, "/dashboard/reset")
    new = "a brand new passphrase"
    assert browser.post("/dashboard/reset", {"token": token, "password": new}).status == 303
    assert browser.post("/dashboard/reset", {"token": token, "password": new}).status == 410
    fresh = Browser(browser.client)
    assert fresh.sign_in("owner@example.com", new).status == 303
    browser.post("/dashboard/forgot", {"email": "owner@example.com"})
    second = _link_from_outbox(tmp_path / "outbox", drain, "/dashboard/reset")
    later = utcnow() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr("chalicelib.api.dashboard.frame.utcnow", lambda: later)
    assert browser.post("/dashboard/reset", {"token": second, "password": new}).status == 410


def test_totp_is_required_once_turned_on(browser: Browser, account: Any) -> None:
    """Bug caught: two-step sign-in that a password alone still passes."""
    import pyotp
    make_user(account.account_id, "owner@example.com")
    browser.sign_in("owner@example.com", PASSWORD)
    secret = pyotp.random_base32()
    on = browser.post("/dashboard/profile/totp", {"secret": secret,
                                                  "code": pyotp.TOTP(secret).now()})
    assert on.status == 303
    fresh = Browser(browser.client)
    assert fresh.sign_in("owner@example.com", PASSWORD).status == 401
    assert fresh.sign_in("owner@example.com", PASSWORD,
                         code=pyotp.TOTP(secret).now()).status == 303


def test_sign_in_flows_log_no_address_password_or_token(
        browser: Browser, mail: Any, drain: Any, tmp_path: Any, logs: Any) -> None:
    """Bug caught: an email address, password or link token written to the logs."""
    make_user(mail.account_id, "owner@example.com")
    browser.sign_in("owner@example.com", "wrong password here")
    browser.sign_in("owner@example.com", PASSWORD)
    browser.post("/dashboard/signin/link", {"email": "owner@example.com"})
    token = _link_from_outbox(tmp_path / "outbox", drain, "/dashboard/signin/email")
    browser.post("/dashboard/signin/email", {"token": token})
    text = logs.text()
    for secret in ("owner@example.com", PASSWORD, "wrong password here", token):
        assert secret not in text


def test_one_client_trying_many_addresses_is_throttled(browser: Browser, account: Any) -> None:
    """Bug caught: password spraying across addresses, which per-address limits miss."""
    for n in range(30):
        assert browser.sign_in(f"user{n}@example.com", "guess").status == 401
    assert browser.sign_in("fresh@example.com", "guess").status == 429

"""The dashboard's data: tenancy, expiries, consent proof, analytics, the user's own rights,
notices and account closure; under moto through ``chalice.test.Client``."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.retention import RULES, DataClass
from tests.dashboard_support import PASSWORD, Browser, make_user, signed_in
from tests.flows import scan

NEW_CLASSES = {DataClass.DASHBOARD_SESSION, DataClass.DASHBOARD_SESSION_REMEMBERED,
               DataClass.SIGNIN_LINK, DataClass.INVITE, DataClass.PASSWORD_RESET,
               DataClass.CONSENT_RECORD, DataClass.DASHBOARD_ANALYTICS,
               DataClass.MARKETING_ATTRIBUTION, DataClass.OPERATOR_NOTICE}


def _pageview(browser: Browser, path: str = "/dashboard/cookies", **extra: Any) -> Any:
    body = json.dumps({"path": path, "visitor_id": "v" * 32, "session_id": "s" * 32, **extra})
    return browser.request("POST", "/dashboard/analytics/pageview", body=body, headers={
        "Content-Type": "application/json", "Origin": browser.origin,
        "X-CSRF-Token": browser.cookies["lb_csrf"]})


def test_a_user_of_one_account_never_reaches_another_accounts_user(
        client: Any, account: Any, other_account: Any) -> None:
    """Bug caught: an owner handing ownership to (or reading) another account's user."""
    from chalicelib import wiring
    ours = signed_in(client, account.account_id, "owner@example.com")
    theirs, _ = make_user(other_account.account_id, "them@example.org", role="member")
    crossed = ours.post("/dashboard/profile/handover", {"user_id": theirs.user_id})
    assert crossed.status == 404 and "Not found" in crossed.text
    users = wiring.container().dashboard.users
    assert users.get(other_account.account_id, theirs.user_id).role == "member"
    exported = json.loads(ours.get("/dashboard/profile/export").text)
    assert "them@example.org" not in json.dumps(exported)
    assert other_account.account_id not in ours.get("/dashboard").text


def test_roles_guard_pages_a_member_cannot_hand_over(client: Any, account: Any) -> None:
    """Bug caught: role checks missing from owner-only actions."""
    signed_in(client, account.account_id, "owner@example.com")
    member = signed_in(client, account.account_id, "member@example.com", role="member")
    denied = member.post("/dashboard/profile/handover", {"user_id": "usr_x"},
                         headers={"Accept": "application/json"})
    assert denied.status == 403 and '"forbidden"' in denied.text


def test_every_new_item_carries_its_expiry_from_the_policy(
        client: Any, account: Any, stack: Any) -> None:
    """Bug caught: a session, link, consent record or page view stored without its TTL."""
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    browser = signed_in(client, account.account_id, "owner@example.com")
    Browser(client).sign_in("owner@example.com", PASSWORD, remember=True)
    browser.post("/dashboard/consent", {"choice": "accept_all"})
    assert _pageview(browser, new_visitor=True,
                     first_touch={"referrer": "https://news.example/x?secret=1",
                                  "utm_source": "newsletter"}).status == 202
    users = wiring.container().dashboard.users
    _, _ = users.create_user(account.account_id, "invited@example.com", "member", utcnow())
    wiring.container().dashboard.notices.post("Policy", "A change.", None, utcnow())
    seen = set()
    for item in scan(stack, "LETTERBOX_TABLE_NAME"):
        data_class = DataClass(item["retention_class"]["S"])
        if data_class not in NEW_CLASSES:
            continue
        seen.add(data_class)
        rule = RULES[data_class]
        lifetime = (rule.minutes or 0) * 60 or (rule.days or 0) * 86400
        assert int(item["expires_at"]["N"]) - int(item["clock_at"]["N"]) == lifetime, \
            data_class
        assert item["expiry_bucket"]["S"], "the purge index lists it"
        text = json.dumps(item)
        assert "127.0.0.1" not in text, f"{data_class} stored an IP address"
    assert NEW_CLASSES - {DataClass.SIGNIN_LINK, DataClass.PASSWORD_RESET} <= seen
    touch = [i for i in scan(stack, "LETTERBOX_TABLE_NAME")
             if i["retention_class"]["S"] == "marketing_attribution"]
    assert touch[0]["referrer_host"]["S"] == "news.example", "host only, never the query"


def test_consent_is_recorded_as_proof_and_analytics_refused_without_it(
        client: Any, account: Any, stack: Any) -> None:
    """Bug caught: page views stored without consent (or under GPC); no proof of a choice."""
    from chalicelib import wiring
    from chalicelib.dashboard.cookies import registry_version
    browser = Browser(client)
    browser.get("/dashboard/cookies")
    refused = _pageview(browser)
    assert refused.status == 202 and json.loads(refused.text) == {"recorded": False}
    browser.post("/dashboard/consent", {"choice": "accept_all"})
    assert json.loads(_pageview(browser).text) == {"recorded": True}
    consent_id = browser.cookies["lb_consent"].rsplit(".", 1)[1]
    browser.post("/dashboard/consent", {"choice": "reject_all"})
    assert json.loads(_pageview(browser).text) == {"recorded": False}, "withdrawal stops it"
    proofs = wiring.container().dashboard.store.consents(consent_id)
    assert [p["categories"] for p in proofs] == [
        ["essential", "analytics", "marketing", "preferences"], ["essential"]]
    assert all(p["registry_version"] == registry_version() for p in proofs)
    today = wiring.container().dashboard.analytics.daily(date.today().isoformat())
    assert today["page_views"] == 1 and today["by_page"] == {"/dashboard/cookies": 1}

    gpc_browser = Browser(client)
    gpc_browser.get("/dashboard/cookies", headers={"Sec-GPC": "1"})
    body = json.dumps({"path": "/dashboard", "visitor_id": "v" * 32, "session_id": "s" * 32})
    refused_gpc = gpc_browser.request("POST", "/dashboard/analytics/pageview", body=body,
                                      headers={"Content-Type": "application/json",
                                               "Origin": gpc_browser.origin, "Sec-GPC": "1",
                                               "X-CSRF-Token": gpc_browser.cookies["lb_csrf"]})
    assert json.loads(refused_gpc.text) == {"recorded": False}


def test_page_views_never_keep_ids_or_queries(client: Any, account: Any) -> None:
    """Bug caught: analytics that store object ids or tokens from the URL."""
    from chalicelib import wiring
    browser = Browser(client)
    browser.post("/dashboard/consent", {"choice": "accept_all"})
    _pageview(browser, path="/dashboard/emails/em_01JABCDEFGHJKMNPQRSTVWXYZ0?token=secret")
    day = wiring.container().dashboard.analytics.daily(date.today().isoformat())
    assert day["by_page"] == {"/dashboard/emails/{id}": 1}


def test_profile_export_correct_email_change_and_delete(
        client: Any, account: Any, drain: Any, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug caught: the user's rights (see, correct, export, delete) missing or leaky."""
    from chalicelib import wiring
    monkeypatch.setenv("LETTERBOX_DASHBOARD_MAIL_FROM", f"no-reply@{account.domain}")
    monkeypatch.setenv("LETTERBOX_DASHBOARD_MAIL_ACCOUNT", account.account_id)
    wiring.reset()
    owner = signed_in(client, account.account_id, "owner@example.com")
    second, _ = make_user(account.account_id, "second@example.com", role="admin")
    owner.post("/dashboard/profile", {"name": "Olive", "company": "Acme",
                                      "email": "olive@example.com"})
    exported = json.loads(owner.get("/dashboard/profile/export").text)
    assert exported["user"]["name"] == "Olive" and exported["user"]["company"] == "Acme"
    assert exported["user"]["email"] == "owner@example.com", "unchanged until confirmed"
    assert "password_hash" not in json.dumps(exported) and exported["sessions"]
    drain()
    raw = "".join(p.read_text() for p in (tmp_path / "outbox").glob("*.eml"))
    token = re.search(r"confirm-email\?token=3D([A-Za-z0-9_-]+)|confirm-email\?token=(\S+)",
                      re.sub(r"=\r?\n", "", raw))
    assert token is not None
    value = token.group(1) or token.group(2)
    assert owner.post("/dashboard/profile/confirm-email", {"token": value}).status == 303
    assert "olive@example.com" in owner.get("/dashboard/profile").text
    refused = owner.post("/dashboard/profile/delete", {"confirm": "delete"})
    assert refused.status == 409 and "hand over" in refused.text
    assert owner.post("/dashboard/profile/handover", {"user_id": second.user_id}).status == 303
    assert owner.post("/dashboard/profile/delete", {"confirm": "delete"}).status == 303
    assert Browser(client).sign_in("olive@example.com", PASSWORD).status == 401
    remaining = wiring.container().dashboard.users.list_users(account.account_id)
    assert [(u.email, u.role) for u in remaining] == [("second@example.com", "owner")]


def test_notices_show_until_dismissed(client: Any, account: Any) -> None:
    """Bug caught: a policy-change notice that never shows, or never goes away."""
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    posted = wiring.container().dashboard.notices.post(
        "Privacy policy update", "Retention of webhook logs drops to 14 days.",
        (utcnow() + timedelta(days=20)).date(), utcnow())
    assert posted["warning"] is None
    browser = signed_in(client, account.account_id, "owner@example.com")
    assert "Privacy policy update" in browser.get("/dashboard").text
    dismissed = browser.post(f"/dashboard/notices/{posted['notice_id']}/dismiss",
                             {"back": "/dashboard"})
    assert dismissed.status == 303
    assert "Privacy policy update" not in browser.get("/dashboard").text
    assert browser.post("/dashboard/notices/ntc_nope/dismiss", {}).status == 404


def test_closing_the_account_ends_sessions_and_starts_the_clocks(
        client: Any, account: Any, stack: Any) -> None:
    """Bug caught: dashboard sessions that outlive their account, or address claims kept
    forever after closure."""
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    browser = signed_in(client, account.account_id, "owner@example.com")
    wiring.container().accounts.close_account(account.account_id, utcnow())
    assert browser.get("/dashboard").status == 303
    assert Browser(client).sign_in("owner@example.com", PASSWORD).status == 401
    claims = [i for i in scan(stack, "LETTERBOX_TABLE_NAME") if i["pk"]["S"].startswith(
        "USEREMAIL#")]
    assert claims and all("expires_at" in c for c in claims)

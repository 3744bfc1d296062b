"""The dashboard in a real browser: cookies, CSRF, sessions, consent, analytics, storage.

Each test names the bug it catches. Tests in this module share one stack and run in order;
the last one checks the cookie page against everything the others saw.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from chalicelib.dashboard.cookies import BY_NAME, REGISTRY
from tests.browser.conftest import Portal
from tests.stack import ROOT

DAY = 86400
JOURNEY = {"lb_journey_visitor_id", "lb_journey_first_touch", "lb_journey_session_id"}


def held(context: Any, page: Any, portal: Portal) -> dict[str, set[str]]:
    """Every cookie and storage key the browser holds for the app, checked against the
    registry; all of them are remembered for the cookie-page test."""
    found = {"cookie": {c["name"] for c in context.cookies()},
             "localStorage": set(page.evaluate("Object.keys(localStorage)")),
             "sessionStorage": set(page.evaluate("Object.keys(sessionStorage)"))}
    for storage, names in found.items():
        for name in names:
            assert name in BY_NAME, f"{storage} {name!r} is not declared in the registry"
            assert BY_NAME[name].storage == storage, f"{name} is declared as another storage"
        portal.seen |= names
    return found


def non_essential(found: dict[str, set[str]]) -> set[str]:
    return {n for names in found.values() for n in names if BY_NAME[n].category != "essential"}


def sign_in(page: Any, portal: Portal, remember: bool) -> None:
    page.goto(portal.url("/dashboard/signin"))
    page.get_by_label("Email").fill(portal.dev["dashboard_email"])
    page.get_by_label("Password").fill(portal.dev["dashboard_password"])
    if remember:
        page.get_by_label("Remember me for 30 days").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(portal.url("/dashboard"))


def page_views(portal: Portal) -> int:
    return int(portal.cli("analytics", "daily")["page_views"])


def test_cookie_flags_and_lifetimes_for_both_sign_in_modes(new_context: Any,
                                                          portal: Portal) -> None:
    """Bug caught: lb_session readable by scripts, cross-site, or kept 30 days without
    "Remember me" (or dropped at browser close with it)."""
    for remember in (True, False):
        context = new_context()
        page = context.new_page()
        sign_in(page, portal, remember)
        cookies = {c["name"]: c for c in context.cookies()}
        session, csrf = cookies["lb_session"], cookies["lb_csrf"]
        assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
        assert session["path"] == "/" and not csrf["httpOnly"] and csrf["secure"]
        if remember:
            for cookie in (session, csrf):
                assert abs(cookie["expires"] - (time.time() + 30 * DAY)) < 120
        else:
            assert session["expires"] == -1 and csrf["expires"] == -1, "browser-session only"
        held(context, page, portal)


def test_csrf_refused_without_token_or_from_a_foreign_origin(new_context: Any,
                                                            portal: Portal) -> None:
    """Bug caught: a mutating request accepted on the strength of the session cookie alone."""
    context = new_context()
    page = context.new_page()
    sign_in(page, portal, remember=False)
    post = """async ([token]) => {
        const headers = {"Content-Type": "application/json", "Accept": "application/json"};
        if (token) headers["X-CSRF-Token"] = token;
        const r = await fetch("/dashboard/analytics/pageview", {method: "POST", headers,
            body: JSON.stringify({path: "/dashboard"})});
        return [r.status, await r.text()];
    }"""
    status, body = page.evaluate(post, [None])
    assert status == 403 and "csrf_failed" in body
    token = next(c["value"] for c in context.cookies() if c["name"] == "lb_csrf")
    status, body = page.evaluate(post, [token])
    assert status == 202, body
    foreign = context.request.post(portal.url("/dashboard/analytics/pageview"),
                                   data='{"path": "/dashboard"}',
                                   headers={"Content-Type": "application/json",
                                            "X-CSRF-Token": token,
                                            "Origin": "https://evil.example"})
    assert foreign.status == 403 and "csrf_failed" in foreign.text()


def test_sign_out_revokes_the_session_on_the_server(new_context: Any, portal: Portal) -> None:
    """Bug caught: sign-out that only deletes the browser's cookie, so a copied cookie
    still works."""
    context = new_context()
    page = context.new_page()
    sign_in(page, portal, remember=True)
    stolen = [c for c in context.cookies() if c["name"] in ("lb_session", "lb_csrf")]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/dashboard/signin")
    replay = new_context()
    replay.add_cookies(stolen)
    again = replay.new_page()
    again.goto(portal.url("/dashboard/profile"))
    assert "/dashboard/signin" in again.url
    assert portal.dev["dashboard_email"] not in again.content()


def test_nothing_non_essential_before_consent_after_reject_all_or_with_gpc(
        new_context: Any, portal: Portal) -> None:
    """Bug caught: analytics or preference storage written before (or without) consent."""
    before = page_views(portal)
    context = new_context()
    page = context.new_page()
    for path in ("/dashboard/signin", "/dashboard/cookies"):
        page.goto(portal.url(path))
        assert page.get_by_role("region", name="Cookies on Letterbox").is_visible()
        assert non_essential(held(context, page, portal)) == set()
    page.get_by_role("button", name="Reject all").first.click()
    page.wait_for_load_state()
    assert not page.get_by_role("region", name="Cookies on Letterbox").is_visible()
    sign_in(page, portal, remember=False)
    page.goto(portal.url("/dashboard/profile"))
    assert non_essential(held(context, page, portal)) == set()

    gpc = new_context(extra_http_headers={"Sec-GPC": "1"})
    gpc_page = gpc.new_page()
    gpc_page.goto(portal.url("/dashboard/cookies"))
    assert not gpc_page.get_by_role("region", name="Cookies on Letterbox").is_visible()
    assert "Global Privacy Control" in gpc_page.content()
    sign_in(gpc_page, portal, remember=False)
    assert non_essential(held(gpc, gpc_page, portal)) == set()
    gpc_page.wait_for_timeout(500)
    assert page_views(portal) == before, "no page view without analytics consent"


def test_accept_all_keeps_journey_keys_and_page_views_then_withdrawal_clears_them(
        new_context: Any, portal: Portal) -> None:
    """Bug caught: consent that does not start first-party analytics, or withdrawal that
    leaves the journey keys behind and keeps counting."""
    before = page_views(portal)
    context = new_context()
    page = context.new_page()
    page.goto(portal.url("/dashboard/signin?utm_source=newsletter"))
    with page.expect_response("**/dashboard/analytics/pageview") as posted:
        page.get_by_role("button", name="Accept all").click()
    assert posted.value.status == 202  # (what it recorded is counted below, server-side)
    found = held(context, page, portal)
    assert found["localStorage"] | found["sessionStorage"] >= JOURNEY
    assert "lb_journey_session_id" in found["sessionStorage"]
    with page.expect_response("**/dashboard/analytics/pageview"):
        page.goto(portal.url("/dashboard/cookies"))
    assert page_views(portal) >= before + 2
    daily = portal.cli("analytics", "daily")
    assert "/dashboard/cookies" in daily["by_page"] and daily["visitors"] >= 1

    page.goto(portal.url("/dashboard/cookies"))
    page.get_by_role("button", name="Reject all").click()
    page.wait_for_url("**/dashboard/cookies?saved=1")
    counted = page_views(portal)
    assert non_essential(held(context, page, portal)) == set(), "withdrawal clears storage"
    page.goto(portal.url("/dashboard/signin"))
    page.wait_for_timeout(500)
    assert page_views(portal) == counted, "collection stops at once"


def test_preferences_only_with_consent_and_themes_and_focus(new_context: Any,
                                                           portal: Portal) -> None:
    """Bug caught: a preference cookie set without consent; a dark theme that does not
    apply; focus that keyboard users cannot see."""
    context = new_context()
    page = context.new_page()
    sign_in(page, portal, remember=False)
    page.goto(portal.url("/dashboard/profile"))
    page.get_by_label("Theme").select_option("dark")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/dashboard/profile")
    assert page.locator("html").get_attribute("data-theme") == "dark", "kept for the visit"
    assert "lb_prefs" not in held(context, page, portal)["cookie"]
    page.goto(portal.url("/dashboard/cookies"))
    page.get_by_role("checkbox", name=re.compile(r"^preferences:")).check()
    page.get_by_role("button", name="Save my choice").click()
    page.goto(portal.url("/dashboard/profile"))
    page.get_by_label("Theme").select_option("dark")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/dashboard/profile")
    assert "lb_prefs" in held(context, page, portal)["cookie"]
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 25)", "the dark theme's background"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "keyboard focus is visible"


def _link_in_outbox(portal: Portal, path: str, after: float) -> str:
    import email
    from email import policy
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for eml in (portal.state / "outbox").glob("*.eml"):
            if eml.stat().st_mtime < after:
                continue
            message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
            body = message.get_body(("plain",))
            found = re.search(rf"\S+{re.escape(path)}\?token=\S+", body.get_content()) \
                if body else None
            if found:
                return found.group(0)
        time.sleep(0.3)
    raise AssertionError(f"no {path} link reached the outbox")


def test_sign_in_link_goes_through_letterbox_into_the_outbox(new_context: Any,
                                                             portal: Portal) -> None:
    """Bug caught: sign-in links that bypass Letterbox's own send path, or do not sign in."""
    started = time.time() - 1
    context = new_context()
    page = context.new_page()
    page.goto(portal.url("/dashboard/signin/link"))
    page.get_by_label("Email").fill(portal.dev["dashboard_email"])
    page.get_by_role("button", name="Send the link").click()
    # waits for the answer's page: content() read mid-navigation is "" on a loaded machine
    page.get_by_text("If a user exists for that address").first.wait_for()
    link = _link_in_outbox(portal, "/dashboard/signin/email", started)
    assert link.startswith(portal.origin)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(portal.url("/dashboard"))
    assert portal.dev["dashboard_email"] in page.content()


def test_screenshots_of_sign_in_and_consent(new_context: Any, portal: Portal) -> None:
    """Bug caught: a sign-in page or banner that does not render (and the README's images
    going stale: ``make screenshots`` writes them into docs/)."""
    out = Path(os.environ.get("LETTERBOX_SCREENSHOTS_DIR") or ROOT / "build" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    context = new_context(viewport={"width": 1100, "height": 720})
    page = context.new_page()
    page.goto(portal.url("/dashboard/signin"))
    banner = page.get_by_role("region", name="Cookies on Letterbox")
    assert banner.is_visible() and page.get_by_label("Password").is_visible()
    page.screenshot(path=str(out / "dashboard-consent.png"))
    page.get_by_role("button", name="Reject all").click()
    page.wait_for_load_state()
    page.screenshot(path=str(out / "dashboard-signin.png"))
    assert (out / "dashboard-signin.png").stat().st_size > 1000


def test_cookie_page_lists_every_cookie_and_key_the_browser_saw(new_context: Any,
                                                                portal: Portal) -> None:
    """Bug caught: a cookie or storage key in use that the policy page does not disclose."""
    context = new_context()
    page = context.new_page()
    page.goto(portal.url("/dashboard/cookies"))
    listed = set(page.locator("table tbody tr td:first-child").all_inner_texts())
    assert portal.seen <= listed, portal.seen - listed
    assert {c.name for c in REGISTRY} == listed
    footer = page.get_by_role("contentinfo")
    assert footer.get_by_role("link", name="Cookie preferences").is_visible()

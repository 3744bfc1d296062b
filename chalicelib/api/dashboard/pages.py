"""The portal's own pages: overview, cookies and consent, preferences, analytics, notices,
the profile (see, correct, export, delete) and the static assets."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalice.app import Response

# Each module registers its pages; the navigation follows this order, the profile last.
from chalicelib.api.dashboard import auth_pages  # noqa: F401
from chalicelib.api.dashboard import activity_pages  # noqa: F401
from chalicelib.api.dashboard import setup_pages  # noqa: F401
from chalicelib.api.dashboard import content_pages  # noqa: F401
from chalicelib.api.dashboard import marketing_pages  # noqa: F401
from chalicelib.api.dashboard import broadcast_pages  # noqa: F401
from chalicelib.api.dashboard import account_pages  # noqa: F401
from chalicelib.dashboard.cookies import OPTIONAL
from chalicelib.api.dashboard.frame import JSON, Visit, blueprint, encode_prefs, page
from chalicelib.dashboard.users import InvalidLink
from chalicelib.errors import NotFound, ValidationFailed

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"dashboard.css": "text/css; charset=utf-8",
          "dashboard.js": "text/javascript; charset=utf-8"}
THEMES, DENSITIES = ("system", "light", "dark"), ("comfortable", "compact")


@page("/dashboard/profile", nav="Profile")
def profile(visit: Visit) -> Response:
    import pyotp
    users = visit.services.users
    others = [u for u in users.list_users(visit.user.account_id)
              if u.user_id != visit.user.user_id and u.status == "active"]
    return visit.render("profile.html", others=others, totp_secret=pyotp.random_base32(),
                        message=visit.query("done"))


@page("/dashboard/profile", ("POST",))
def update_profile(visit: Visit) -> Response:
    profile = visit.services.profile
    profile.update_profile(visit.user, visit.field("name"), visit.field("company"))
    new_email = visit.field("email").strip()
    if new_email and new_email.lower() != visit.user.email:
        profile.request_email_change(visit.user, new_email, visit.now)
        return visit.redirect("/dashboard/profile?done=confirm-email")
    return visit.redirect("/dashboard/profile?done=saved")


@page("/dashboard/profile/confirm-email", ("GET", "POST"), signed_in=False)
def confirm_email(visit: Visit) -> Response:
    token = visit.query("token") or visit.field("token")
    try:
        if visit.request.method == "GET":
            visit.services.users.peek_link("email", token, visit.now)
            return visit.render("confirm_link.html", token=token, action=visit.request.path,
                                title="Confirm your new email", button="Confirm")
        visit.services.profile.confirm_email_change(token, visit.now)
    except InvalidLink as err:
        return visit.render("error.html", status=err.status, error=err)
    return visit.redirect("/dashboard/profile?done=email-changed")


@page("/dashboard/profile/export")
def export_profile(visit: Visit) -> Response:
    data = visit.services.profile.export(visit.user)
    return visit.respond(json.dumps(data, indent=2, default=str), 200, JSON, {
        "Content-Disposition": 'attachment; filename="letterbox-my-data.json"'})


@page("/dashboard/profile/delete", ("POST",))
def delete_profile(visit: Visit) -> Response:
    if visit.field("confirm") != "delete":
        raise ValidationFailed("confirm: tick the box to delete your user")
    visit.services.profile.delete_self(visit.user)  # ends every session of the user too
    visit.clear_cookie("lb_session")
    visit.clear_cookie("lb_csrf")
    return visit.redirect("/dashboard/signin")


@page("/dashboard/profile/handover", ("POST",), role="owner")
def hand_over(visit: Visit) -> Response:
    visit.services.profile.hand_over(visit.user, visit.field("user_id"))
    return visit.redirect("/dashboard/profile?done=handed-over")


@page("/dashboard/profile/totp", ("POST",))
def enable_totp(visit: Visit) -> Response:
    if visit.field("disable") == "on":
        visit.services.users.disable_totp(visit.user)
        return visit.redirect("/dashboard/profile?done=totp-off")
    visit.services.users.enable_totp(visit.user, visit.field("secret"), visit.field("code"))
    return visit.redirect("/dashboard/profile?done=totp-on")


@page("/dashboard/notices/{notice_id}/dismiss", ("POST",))
def dismiss_notice(visit: Visit, notice_id: str) -> Response:
    if notice_id not in {n["notice_id"] for n in visit.services.notices.all()}:
        raise NotFound("no such notice")
    visit.services.profile.dismiss_notice(visit.user, notice_id)
    return visit.redirect(_back(visit))


@page("/dashboard/cookies", signed_in=False)
def cookie_policy(visit: Visit) -> Response:
    return visit.render("cookies.html", saved=visit.query("saved"))


@page("/dashboard/consent", ("POST",), signed_in=False)
def consent(visit: Visit) -> Response:
    choice = visit.field("choice")
    optional: set[str] = set(OPTIONAL)
    chosen = {"accept_all": optional, "reject_all": set()}.get(
        choice, {c for c in optional if visit.field(c) == "on"})
    user_id = visit.session.user.user_id if visit.session else None
    previous = visit.consent
    now_consent, value = visit.services.consent.record(
        previous, chosen, choice if choice in ("accept_all", "reject_all") else "customize",
        user_id, visit.now)
    visit.set_cookie("lb_consent", value)
    if not now_consent.allows("preferences"):
        visit.clear_cookie("lb_prefs")  # withdrawn: its storage goes at once
    if wants_fetch(visit):
        return visit.respond(json.dumps({"categories": sorted(now_consent.categories)}), 200,
                             JSON)
    return visit.redirect(_back(visit))


@page("/dashboard/preferences", ("POST",), signed_in=False)
def preferences(visit: Visit) -> Response:
    prefs = {"theme": visit.field("theme", "system"),
             "density": visit.field("density", "comfortable"),
             "timezone": visit.field("timezone", "UTC") or "UTC"}
    if prefs["theme"] not in THEMES or prefs["density"] not in DENSITIES:
        raise ValidationFailed("theme or density: not one of the offered choices")
    try:
        ZoneInfo(prefs["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValidationFailed("timezone: not a known time zone",
                               details=[{"field": "timezone"}]) from err
    if visit.consent.allows("preferences"):
        visit.set_cookie("lb_prefs", encode_prefs(prefs))
    elif visit.session is not None:
        visit.services.sessions.keep_prefs(visit.session, prefs)
    return visit.redirect(_back(visit))


@page("/dashboard/analytics/pageview", ("POST",), signed_in=False)
def page_view(visit: Visit) -> Response:
    recorded = visit.services.analytics.record(visit.consent, visit.form, visit.now)
    return visit.respond(json.dumps({"recorded": recorded}), 202, JSON)


@page("/dashboard/static/{name}", signed_in=False)
def static(visit: Visit, name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("no such asset")
    return visit.respond((STATIC / name).read_text(), 200, ASSETS[name],
                         {"Cache-Control": "public, max-age=300"})


def wants_fetch(visit: Visit) -> bool:
    return (visit.request.headers.get("content-type") or "").startswith(JSON)


def _back(visit: Visit) -> str:
    target = visit.field("back")
    return target if target.startswith("/dashboard") and not target.startswith("//") \
        else "/dashboard/cookies?saved=1"



__all__ = ["blueprint"]

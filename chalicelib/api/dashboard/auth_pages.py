"""Sign-in, sign-out, sign-in links, password reset and invites."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.api.dashboard.frame import Visit, page
from chalicelib.dashboard.sessions import SignInFailed
from chalicelib.dashboard.users import InvalidLink, User
from chalicelib.errors import RateLimited, ValidationFailed

SENT = ("If a user exists for that address, we have sent it a link. It works once; check "
        "your inbox.")


def _safe_next(target: str) -> str:
    """Only our own pages: never an open redirect."""
    ok = target.startswith("/dashboard") and not target.startswith("//") and "\\" not in target
    return target if ok else "/dashboard"


def _signed_in(visit: Visit, user: User, remember: bool, to: str = "/dashboard") -> Response:
    issued = visit.services.sessions.start(user, remember, visit.now)
    visit.set_cookie("lb_session", issued.session_id, persistent=remember)
    visit.set_cookie("lb_csrf", issued.csrf, persistent=remember)
    return visit.redirect(_safe_next(to))


def _client(visit: Visit) -> str:
    identity = (visit.request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


@page("/dashboard/signin", ("GET", "POST"), signed_in=False)
def signin(visit: Visit) -> Response:
    target = visit.query("next") or visit.field("next")
    if visit.request.method == "GET":
        if visit.session is not None:
            return visit.redirect(_safe_next(target))
        return visit.render("signin.html", next=target)
    email = visit.field("email")
    try:
        user = visit.services.sessions.sign_in(email, visit.field("password"),
                                               visit.field("code"), _client(visit), visit.now)
    except (SignInFailed, RateLimited) as err:
        return visit.render("signin.html", status=err.status, error=err.message, email=email,
                            next=target)
    return _signed_in(visit, user, visit.field("remember") == "on", target)


@page("/dashboard/signout", ("POST",), signed_in=False)
def signout(visit: Visit) -> Response:
    if visit.session is not None:
        visit.services.sessions.revoke(visit.session)
    visit.clear_cookie("lb_session")
    visit.clear_cookie("lb_csrf")
    return visit.redirect("/dashboard/signin")


@page("/dashboard/signout-everywhere", ("POST",))
def signout_everywhere(visit: Visit) -> Response:
    visit.services.sessions.revoke_everywhere(visit.user)
    visit.clear_cookie("lb_session")
    visit.clear_cookie("lb_csrf")
    return visit.redirect("/dashboard/signin")


def _request_link(visit: Visit, kind: str, template: str) -> Response:
    if visit.request.method == "GET":
        return visit.render(template)
    visit.services.users.send_link(kind, visit.field("email").strip(), visit.now)
    return visit.render(template, sent=SENT)


@page("/dashboard/signin/link", ("GET", "POST"), signed_in=False)
def request_signin_link(visit: Visit) -> Response:
    return _request_link(visit, "signin", "request_link.html")


@page("/dashboard/forgot", ("GET", "POST"), signed_in=False)
def forgot(visit: Visit) -> Response:
    return _request_link(visit, "reset", "forgot.html")


@page("/dashboard/signin/email", ("GET", "POST"), signed_in=False)
def signin_with_link(visit: Visit) -> Response:
    """GET only asks to confirm (mail scanners follow links); POST uses the link up."""
    token = visit.query("token") or visit.field("token")
    try:
        if visit.request.method == "GET":
            visit.services.users.peek_link("signin", token, visit.now)
            return visit.render("confirm_link.html", token=token, action=visit.request.path,
                                title="Sign in", button="Sign in")
        user, _ = visit.services.users.take_link("signin", token, visit.now)
    except InvalidLink as err:
        return visit.render("error.html", status=err.status, error=err)
    return _signed_in(visit, user, visit.field("remember") == "on")


@page("/dashboard/reset", ("GET", "POST"), signed_in=False)
def reset(visit: Visit) -> Response:
    token = visit.query("token") or visit.field("token")
    try:
        if visit.request.method == "GET":
            visit.services.users.peek_link("reset", token, visit.now)
            return visit.render("set_password.html", token=token, title="Choose a new password",
                                action="/dashboard/reset")
        user = visit.services.users.reset_password(token, visit.field("password"), visit.now)
    except InvalidLink as err:
        return visit.render("error.html", status=err.status, error=err)
    except ValidationFailed as err:
        return visit.render("set_password.html", status=422, token=token, error=err.message,
                            title="Choose a new password", action="/dashboard/reset")
    return _signed_in(visit, user, remember=False)


@page("/dashboard/invite", ("GET", "POST"), signed_in=False)
def accept_invite(visit: Visit) -> Response:
    token = visit.query("token") or visit.field("token")
    values: dict[str, Any] = {"token": token, "title": "Join your team on Letterbox",
                              "invite": True, "action": "/dashboard/invite"}
    try:
        if visit.request.method == "GET":
            user = visit.services.users.peek_link("invite", token, visit.now)
            return visit.render("set_password.html", email=user.email, **values)
        user = visit.services.users.accept_invite(token, visit.field("name"),
                                                  visit.field("password"), visit.now)
    except InvalidLink as err:
        return visit.render("error.html", status=err.status, error=err)
    except ValidationFailed as err:
        return visit.render("set_password.html", status=422, error=err.message, **values)
    return _signed_in(visit, user, remember=False)

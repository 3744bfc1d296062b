"""The page frame: one decorator per page gives it sign-in, roles, CSRF, consent, the
navigation and the error contract. Issue 17's pages plug in the same way:

    @page("/dashboard/domains", role="admin", nav="Domains")
    def domains(visit: Visit) -> Response:
        return visit.render("domains.html", domains=...)
"""

from __future__ import annotations

import base64
import functools
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from chalice.app import Blueprint, Request, Response

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.dashboard.consent import Consent, read_consent
from chalicelib.dashboard.cookies import (CATEGORIES, REGISTRY, clear_cookie, set_cookie,
                                          storage_keys)
from chalicelib.api.dashboard.services import Dashboard
from chalicelib.dashboard.sessions import Session
from chalicelib.dashboard.users import RANK, Role, User, new_token
from chalicelib.errors import Forbidden, LetterboxError, RetryableFailure, Unauthorized
from chalicelib.observability import logger

blueprint = Blueprint(__name__)
FORM, JSON = "application/x-www-form-urlencoded", "application/json"
TEMPLATES = Path(__file__).resolve().parent / "templates"
# Everything is first-party: the browser refuses any other origin, so nothing can leak out.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    role: Role


NAV: list[NavItem] = []  # filled by ``page(nav=...)``, in declaration order


class CsrfFailed(Forbidden):
    code = "csrf_failed"


@dataclass
class Visit:
    """One request to a page: who, their consent, the form, and the cookies to set."""

    request: Request
    services: Dashboard
    session: Session | None
    consent: Consent
    csrf: str
    now: datetime
    cookies: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    _form: dict[str, str] | None = None

    @property
    def user(self) -> User:
        assert self.session is not None, "signed-in pages only"
        return self.session.user

    @property
    def form(self) -> dict[str, str]:
        if self._form is None:
            self._form = parse_body(self.request)
        return self._form

    def field(self, name: str, default: str = "") -> str:
        return self.form.get(name, default)

    def fields(self, name: str) -> list[str]:
        """Every value of a repeated field (a group of checkboxes), in the order sent."""
        return parse_all(self.request).get(name, [])

    def query(self, name: str) -> str:
        params: dict[str, str] = dict(self.request.query_params or {})
        return str(params.get(name) or "")

    def set_cookie(self, name: str, value: str, persistent: bool = True) -> None:
        self.cookies.append(set_cookie(name, value, persistent=persistent))

    def clear_cookie(self, name: str) -> None:
        self.cookies.append(clear_cookie(name))

    @property
    def prefs(self) -> dict[str, str]:
        if self.consent.allows("preferences"):
            stored = decode_prefs(cookie_of(self.request, "lb_prefs"))
            if stored:
                return stored
        return self.session.prefs if self.session else {}

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        user = self.session.user if self.session else None
        notices = (self.services.notices.active_for(user.dismissed) if user else [])
        html = environment().get_template(template).render(
            visit=self, user=user, csrf=self.csrf, consent=self.consent, notices=notices,
            nav=[n for n in NAV if user and user.at_least(n.role)], path=self.request.path,
            theme=self.prefs.get("theme", "system"), density=self.prefs.get("density", ""),
            categories=CATEGORIES, registry=REGISTRY,
            consent_json=json.dumps({c: self.consent.allows(c) for c in CATEGORIES}),
            storage_json=json.dumps({c: storage_keys({c}) for c in CATEGORIES}), **values)
        return self.respond(html, status, "text/html; charset=utf-8")

    def redirect(self, to: str) -> Response:
        return self.respond("", 303, "text/html; charset=utf-8", {"Location": to})

    def respond(self, body: Any, status: int, content_type: str,
                headers: dict[str, str] | None = None) -> Response:
        merged: dict[str, Any] = {**SECURITY_HEADERS, "Content-Type": content_type,
                                  **(headers or {})}
        if self.cookies:
            merged["Set-Cookie"] = list(self.cookies)
        return Response(body=body, status_code=status, headers=merged)


@functools.cache
def environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    return Environment(loader=FileSystemLoader(str(TEMPLATES)),
                       autoescape=select_autoescape(default=True, default_for_string=True))


def cookie_of(request: Request, name: str) -> str | None:
    """One cookie's value. Parsed by hand: 127.0.0.1 shares its jar across ports, and one
    malformed cookie from another local tool must not hide ours."""
    for pair in (request.headers.get("cookie") or "").split(";"):
        key, sep, value = pair.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def _form_text(request: Request) -> tuple[str, dict[str, Any] | None]:
    """The body as text, and the object it holds when it was sent as JSON ({} for JSON that
    is not an object); None for a form."""
    raw = request.raw_body or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not (request.headers.get("content-type") or "").startswith(JSON):
        return text, None
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return text, {}
    return text, data if isinstance(data, dict) else {}


def parse_body(request: Request) -> dict[str, str]:
    text, data = _form_text(request)
    if data is not None:
        return dict(data)
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def parse_all(request: Request) -> dict[str, list[str]]:
    """The form with every value of each field; a JSON list counts as repeated values."""
    text, data = _form_text(request)
    if data is not None:
        return {k: [str(i) for i in v] if isinstance(v, list) else [str(v)]
                for k, v in data.items()}
    return parse_qs(text)


def encode_prefs(prefs: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(prefs, sort_keys=True).encode()).decode()


def decode_prefs(raw: str | None) -> dict[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(raw or "")) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def own_origin(request: Request) -> str:
    """The app's origin as this request reached it (API Gateway terminates TLS)."""
    host = request.headers.get("host") or ""
    local = host.startswith(("127.0.0.1:", "localhost:"))
    scheme = request.headers.get("x-forwarded-proto") or ("http" if local else "https")
    return f"{scheme}://{host}"


def check_csrf(request: Request, visit: Visit) -> None:
    """A session's mutating request carries ``lb_csrf`` (header or field) from our origin."""
    origin = request.headers.get("origin")
    if origin is None and request.headers.get("referer"):
        parts = urlsplit(request.headers["referer"])
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin != own_origin(request):
        raise CsrfFailed("this request did not come from the dashboard's own origin")
    cookie = cookie_of(request, "lb_csrf") or ""
    sent = request.headers.get("x-csrf-token") or str(visit.form.get("csrf_token") or "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfFailed("the CSRF token is missing or does not match; reload the page")
    if not visit.services.sessions.csrf_matches(visit.session, sent):
        raise CsrfFailed("the CSRF token does not belong to this session; reload the page")


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept") or ""
    content = request.headers.get("content-type") or ""
    return content.startswith(JSON) or (JSON in accept and "text/html" not in accept)


def error_page(visit: Visit, err: LetterboxError) -> Response:
    if wants_json(visit.request):
        return visit.respond(json.dumps(err.to_body()), err.status, JSON, err.headers)
    response = visit.render("error.html", status=err.status, error=err)
    response.headers.update(err.headers)
    return response


def page(path: str, methods: tuple[str, ...] = ("GET",), *, signed_in: bool = True,
         role: Role = "member", nav: str | None = None
         ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Register a dashboard page: signed-out visitors go to sign-in, lower roles get 403,
    every mutating request passes the CSRF check, errors render as pages (or JSON)."""
    if nav is not None:
        NAV.append(NavItem(nav, path, role))

    def decorator(handler: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def view(**params: str) -> Response:
            request = blueprint.current_request
            services = wiring.container().dashboard
            now = utcnow()
            visit = Visit(request=request, services=services, session=None, now=now,
                          consent=read_consent(cookie_of(request, "lb_consent"),
                                               request.headers.get("sec-gpc")),
                          csrf=cookie_of(request, "lb_csrf") or "", params=params)
            try:
                visit.session = services.sessions.resolve(cookie_of(request, "lb_session"), now)
                if not visit.csrf:  # signed-out forms are protected too (login CSRF)
                    visit.csrf = new_token()
                    visit.set_cookie("lb_csrf", visit.csrf, persistent=False)
                if request.method not in ("GET", "HEAD"):
                    check_csrf(request, visit)
                if signed_in and visit.session is None:
                    if request.method == "GET" or not wants_json(request):
                        return visit.redirect(f"/dashboard/signin?next={quote(request.path)}")
                    raise Unauthorized("your session has ended; sign in again")
                if signed_in and RANK[visit.user.role] < RANK[role]:
                    raise Forbidden(f"this page needs the {role} role")
                return handler(visit, **params)
            except LetterboxError as err:
                return error_page(visit, err)
            except RetryableFailure:
                return error_page(visit, _Busy("a dependency is busy; retry shortly",
                                               headers={"Retry-After": "1"}))
            except Exception:  # never a stack trace to the browser
                logger.exception("unhandled dashboard error", extra={"page": path})
                return error_page(visit, _Internal("an internal error occurred"))

        blueprint.route(path, methods=list(methods), content_types=[FORM, JSON])(view)
        return handler

    return decorator


class _Busy(LetterboxError):
    status = 503
    code = "service_unavailable"


class _Internal(LetterboxError):
    status = 500
    code = "internal_error"

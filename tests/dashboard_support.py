"""A tiny cookie-keeping browser over ``chalice.test.Client`` for the dashboard's tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

ORIGIN = "http://127.0.0.1:8000"


@dataclass
class Page:
    status: int
    headers: dict[str, Any]
    text: str
    set_cookies: list[str]

    @property
    def location(self) -> str:
        return str(self.headers.get("location", ""))

    def hidden(self, name: str) -> str:
        match = re.search(rf'name="{name}" value="([^"]*)"', self.text)
        assert match, f"no hidden field {name}"
        return match.group(1)


@dataclass
class Browser:
    client: Any
    cookies: dict[str, str] = field(default_factory=dict)
    origin: str = ORIGIN

    def request(self, method: str, path: str, form: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, body: str | None = None) -> Page:
        sent = {"Host": self.origin.split("://", 1)[1], "Accept": "text/html", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
            sent.setdefault("Origin", self.origin)
            body = urlencode(form, doseq=True)  # a list: a repeated field (checkboxes)
        raw = self.client.http.request(method, path, headers=sent, body=(body or "").encode())
        headers_out = {k.lower(): v for k, v in raw.headers.items()}
        set_cookies = headers_out.get("set-cookie") or []
        if isinstance(set_cookies, str):
            set_cookies = [set_cookies]
        for line in set_cookies:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        text = raw.body.decode() if isinstance(raw.body, bytes) else str(raw.body or "")
        return Page(raw.status_code, headers_out, text, list(set_cookies))

    def get(self, path: str, **kw: Any) -> Page:
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict[str, Any], with_csrf: bool = True, **kw: Any) -> Page:
        if with_csrf:
            if "lb_csrf" not in self.cookies:
                self.get("/dashboard/cookies")
            form = {"csrf_token": self.cookies["lb_csrf"], **form}
        return self.request("POST", path, form=form, **kw)

    def sign_in(self, email: str, password: str, remember: bool = False,
                code: str = "") -> Page:
        form = {"email": email, "password": password, "code": code}
        if remember:
            form["remember"] = "on"
        return self.post("/dashboard/signin", form)


PASSWORD = "correct horse battery"


def make_user(account_id: str, email: str, password: str = PASSWORD,
              role: str = "owner") -> Any:
    """A dashboard user who accepted the invite: (user, invite_url)."""
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    users = wiring.container().dashboard.users
    _, url = users.create_user(account_id, email, role, utcnow())  # type: ignore[arg-type]
    token = url.split("token=", 1)[1]
    return users.accept_invite(token, "Test User", password, utcnow()), url


def signed_in(client: Any, account_id: str, email: str, role: str = "owner") -> Browser:
    """A new user of ``role`` on the account, signed in through the sign-in page."""
    make_user(account_id, email, role=role)
    browser = Browser(client)
    assert browser.sign_in(email, PASSWORD).status == 303
    return browser

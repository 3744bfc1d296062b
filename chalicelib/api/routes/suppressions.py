"""/v1/suppressions and the recipients' /u/{token} unsubscribe and preference page."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from chalice.app import Response

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.routes.pages import recipient_page as _page
from chalicelib.api.web import Call, ERROR, body_text

if TYPE_CHECKING:
    from chalicelib.preferences import Preferences
    from chalicelib.models import Deleted, SuppressionOut, SuppressionPage


api = blueprint_api(__name__)
TAGS = ("suppressions",)
ONE_CLICK = "List-Unsubscribe=One-Click"
FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]


@api.operation("GET", "/v1/suppressions", summary="List suppressed addresses",
               responses={200: "models:SuppressionPage", 422: ERROR}, tags=TAGS)
def list_suppressions(call: Call) -> SuppressionPage:
    return wiring.container().suppressions.list(
        call.account.account_id, call.query_int("limit", 50, 1, 100), call.query("cursor"))


@api.operation("POST", "/v1/suppressions", summary="Suppress an address",
               body="models:SuppressionCreate", responses={201: "models:SuppressionOut"}, tags=TAGS)
def add_suppression(call: Call) -> SuppressionOut:
    return wiring.container().suppressions.add(call.account.account_id, call.body.email,
                                               "manual", call.body.scope, utcnow())


@api.operation("DELETE", "/v1/suppressions/{email}", summary="Let an address receive mail again",
               responses={200: "models:Deleted", 404: ERROR}, tags=TAGS)
def remove_suppression(call: Call, email: str) -> Deleted:
    from chalicelib.models import Deleted
    address = unquote(email)
    wiring.container().suppressions.remove(call.account.account_id, address)
    return Deleted(id=address)


def _preference_form(token: str, preferences: Preferences) -> str:
    """The recipient's topics as checkboxes, and a separate unsubscribe-from-everything."""
    boxes = "".join(
        f"<p><label><input type=checkbox name=topic value='{html.escape(t.topic_id)}'"
        f"{' checked' if t.subscribed else ''}> {html.escape(t.name)}</label>"
        + (f"<br><small>{html.escape(t.description)}</small>" if t.description else "")
        + "</p>" for t in preferences.topics)
    everything = (f"<form method=post action='{html.escape(token)}'>"
                  f"<input type=hidden name=List-Unsubscribe value=One-Click>"
                  f"<button type=submit>Unsubscribe from everything</button></form>")
    if not preferences.topics:
        return "<p>Stop receiving marketing email from this sender?</p>" + everything
    return (f"<form method=post action='{html.escape(token)}'>{boxes}"
            f"<input type=hidden name=action value=save>"
            f"<button type=submit>Save my choices</button></form><hr>" + everything)


@api.operation("GET", "/u/{token}", summary="Unsubscribe page (confirms with a button)",
               responses={200: None, 404: None}, scope=None, tags=("recipients",))
def unsubscribe_page(call: Call, token: str) -> Response:
    # A GET never unsubscribes: link scanners follow links; people press buttons.
    container = wiring.container()
    if not container.unsubscribe.valid(token):
        return _page("Link not recognised", "<p>This unsubscribe link is not valid.</p>", 404)
    preferences = container.preferences.view(token)
    if preferences is not None:
        return _page("Your email preferences", _preference_form(token, preferences))
    form = (f"<form method=post action='{html.escape(token)}'>"
            f"<input type=hidden name=List-Unsubscribe value=One-Click>"
            f"<button type=submit>Unsubscribe</button></form>")
    return _page("Unsubscribe", "<p>Stop receiving marketing email from this sender?</p>" + form)


@api.operation("POST", "/u/{token}", summary="One-click unsubscribe (RFC 8058)",
               responses={200: None, 400: None, 404: None}, scope=None,
               tags=("recipients",), content_types=FORM_TYPES)
def unsubscribe_one_click(call: Call, token: str) -> Response:
    body = body_text(call.request)
    container = wiring.container()
    form = parse_qs(body)
    if ONE_CLICK not in body and form.get("action") == ["save"]:
        saved = container.preferences.save(token, set(form.get("topic", [])), utcnow())
        if saved is None:
            return _page("Link not recognised", "<p>This link is not valid.</p>", 404)
        return _page("Your choices are saved", _preference_form(token, saved))
    if ONE_CLICK not in body:
        return _page("Unsubscribe", f"<p>The request must carry {ONE_CLICK}.</p>", 400)
    done = container.unsubscribe.unsubscribe(token, utcnow())
    if done is None:
        return _page("Link not recognised", "<p>This unsubscribe link is not valid.</p>", 404)
    container.preferences.unsubscribe_all(token, utcnow())
    return _page("You are unsubscribed",
                 "<p>You will not receive marketing email from this sender any more.</p>")

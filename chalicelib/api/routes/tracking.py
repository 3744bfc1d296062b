"""/t/o/{token} (open pixel) and /t/c/{token} (click redirect)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call

if TYPE_CHECKING:
    from chalicelib.tracking.opens_clicks import Hit

api = blueprint_api(__name__)
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
            "Pragma": "no-cache", "Expires": "0", "Referrer-Policy": "no-referrer"}


def _hit(call: Call) -> Hit:
    from chalicelib.tracking.opens_clicks import Hit
    header = wiring.container().settings.trusted_country_header
    country = call.request.headers.get(header) if header else None
    valid = country if country and len(country) == 2 and country.isalpha() else None
    return Hit(user_agent=call.request.headers.get("user-agent"),
               country=valid.upper() if valid else None)


@api.operation("GET", "/t/o/{token}", summary="Open pixel (1×1 GIF)", responses={200: None},
               scope=None, tags=("recipients",), any_accept=True)
def open_pixel(call: Call, token: str) -> Response:
    from chalicelib.tracking.opens_clicks import GIF
    wiring.container().tracking.opened(token, _hit(call), utcnow())
    return Response(body=GIF, status_code=200, headers={"Content-Type": "image/gif", **NO_STORE})


@api.operation("GET", "/t/c/{token}", summary="Click redirect to the sealed destination",
               responses={302: None, 404: None}, scope=None, tags=("recipients",))
def click(call: Call, token: str) -> Response:
    destination = wiring.container().tracking.clicked(token, _hit(call), utcnow())
    if destination is None:  # a tampered token: no open redirect
        return Response(body="not found", status_code=404,
                        headers={"Content-Type": "text/plain", **NO_STORE})
    return Response(body="", status_code=302, headers={"Location": destination, **NO_STORE})

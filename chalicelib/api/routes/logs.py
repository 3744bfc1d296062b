"""GET /v1/emails, /v1/events, /v1/stats"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import utcnow
from chalicelib.api.routes import blueprint_api
from chalicelib.api.web import Call, ERROR

if TYPE_CHECKING:
    from chalicelib.log_models import EmailPage, EventPage, Stats


api = blueprint_api(__name__)


@api.operation("GET", "/v1/emails",
               summary="The message log (filters: status, recipient, tag=name:value, from, to)",
               responses={200: "log_models:EmailPage", 422: ERROR}, tags=("emails",))
def list_emails(call: Call) -> EmailPage:
    query = {k: call.query(k) for k in ("status", "recipient", "tag", "from", "to")}
    return wiring.container().logs.emails(call.account, call.query_int("limit", 20, 1, 100),
                                          call.query("cursor"), query)


@api.operation("GET", "/v1/events", summary="Events, newest first (filters: type, email_id, "
                                            "from, to)",
               responses={200: "log_models:EventPage", 422: ERROR}, tags=("events",))
def list_events(call: Call) -> EventPage:
    query = {k: call.query(k) for k in ("type", "email_id", "from", "to")}
    return wiring.container().logs.events(call.account, call.query_int("limit", 50, 1, 100),
                                          call.query("cursor"), query)


@api.operation("GET", "/v1/stats", summary="Per-day counts and rates (from, to: YYYY-MM-DD)",
               responses={200: "log_models:Stats", 422: ERROR}, tags=("events",))
def stats(call: Call) -> Stats:
    return wiring.container().logs.stats(call.account, call.query("from"), call.query("to"),
                                         utcnow().date())

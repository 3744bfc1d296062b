"""Broadcasts: compose (with a preview for a chosen or sample contact, rendered by the
sender's own sandbox), save, schedule, send now, cancel; then watch the progress, the stats
and the recipients by status. The rules are ``BroadcastService``'s, as for ``/v1``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from chalice.app import Response

from chalicelib.api.dashboard.frame import Visit, page
from chalicelib.api.dashboard.marketing_pages import all_segments, all_topics, every
from chalicelib.clock import iso
from chalicelib.api.dashboard.portal import PAGE_SIZE, cursor_of, model, principal
from chalicelib.errors import LetterboxError, ValidationFailed

FIELDS = ("name", "from", "reply_to", "subject", "preview_text", "html", "text", "template_id",
          "segment_id", "topic_id", "rate_per_minute")
LIVE = ("scheduled", "sending")  # the page refreshes itself while these last
# Each recipient has one status; opened and clicked are flags beside it.
PROGRESS = ("queued", "sent", "delivered", "bounced", "complained", "unsubscribed",
            "suppressed", "failed", "skipped")


def _fields(visit: Visit) -> dict[str, Any]:
    values: dict[str, Any] = {name: visit.field(name).strip() or None for name in FIELDS}
    for name in ("html", "text"):  # the body keeps its own spacing
        values[name] = visit.field(name) or None
    rate = values["rate_per_minute"]
    if rate is not None and not rate.isdigit():
        raise ValidationFailed("rate_per_minute: a whole number",
                               details=[{"field": "rate_per_minute"}])
    values["rate_per_minute"] = int(rate) if rate else None
    return values


def _compose(visit: Visit, broadcast: Any, values: dict[str, Any], *, preview: bool = False,
             error: str = "", status: int = 200) -> Response:
    container = visit.services.container
    account_id = visit.user.account_id
    shown: dict[str, Any] | None = None
    if preview:
        shown = _preview(visit, values)
    templates = every(lambda limit, cursor: container.templates.list(account_id, limit, cursor))
    return visit.render("broadcast_compose.html", status=status, broadcast=broadcast,
                        values=values, segments=all_segments(visit), topics=all_topics(visit),
                        templates=templates, shown=shown, error=error,
                        preview_contact=visit.field("preview_contact"),
                        done=visit.query("done"))


def _preview(visit: Visit, values: dict[str, Any]) -> dict[str, Any]:
    """The content for one contact, as the sender renders it, or the reason it would fail."""
    from chalicelib.templates import TemplateError
    container = visit.services.container
    account_id = visit.user.account_id
    try:
        chosen = visit.field("preview_contact").strip()
        contact_id = container.contacts.get(account_id, chosen).id if chosen else None
        contact, content = container.broadcasts.preview(account_id, values, contact_id)
    except TemplateError as err:
        return {"error": str(err)}
    except LetterboxError as err:
        return {"error": err.message}
    return {"subject": content.subject, "html": content.html, "text": content.text,
            "contact": contact["email"] if contact else None}


@page("/dashboard/broadcasts", nav="Broadcasts")
def broadcasts(visit: Visit) -> Response:
    listed = visit.services.container.broadcasts.list(visit.user.account_id, PAGE_SIZE,
                                                      cursor_of(visit))
    segments = {s.id: s.name for s in all_segments(visit)}
    return visit.render("broadcasts.html", page=listed, cursor=cursor_of(visit),
                        segments=segments, done=visit.query("done"))


@page("/dashboard/broadcasts/new", ("GET", "POST"))
def new_broadcast(visit: Visit) -> Response:
    if visit.request.method == "GET":
        return _compose(visit, None, {})
    values = _fields(visit)
    if visit.field("action") == "preview":
        return _compose(visit, None, values, preview=True)
    from chalicelib.marketing_models import BroadcastCreate
    created_fields = {k: v for k, v in values.items() if v is not None}
    try:
        made = visit.services.container.broadcasts.create(
            visit.user.account_id, model(BroadcastCreate, created_fields), visit.now)
    except ValidationFailed as err:
        return _compose(visit, None, values, error=err.message, status=err.status)
    return visit.redirect(f"/dashboard/broadcasts/{made.id}?done=saved")


@page("/dashboard/broadcasts/{broadcast_id}", ("GET", "POST"))
def broadcast(visit: Visit, broadcast_id: str) -> Response:
    service = visit.services.container.broadcasts
    account_id = visit.user.account_id
    found = service.get(account_id, broadcast_id)
    if visit.request.method == "GET":
        # A scheduled broadcast stays editable (content, audience, time) until it starts.
        if found.status in ("draft", "scheduled") and visit.query("view") != "progress":
            return _compose(visit, found, found.model_dump(by_alias=True))
        return _progress(visit, found)
    action = visit.field("action")
    if action == "cancel":
        service.cancel(account_id, broadcast_id, visit.now)
        return visit.redirect(f"/dashboard/broadcasts/{broadcast_id}?done=cancelled")
    values = _fields(visit)
    if action == "preview":
        return _compose(visit, found, values, preview=True)
    from chalicelib.marketing_models import BroadcastSend, BroadcastUpdate
    # Required fields are never cleared by an empty box; optional ones are.
    changes: dict[str, Any] = {k: v for k, v in values.items()
                               if v is not None or k not in ("from", "segment_id",
                                                             "rate_per_minute")}
    if found.status == "scheduled":  # a new time rides on the same conditional write
        when = visit.field("scheduled_at").strip()
        if action == "send":
            changes["scheduled_at"] = iso(visit.now)
        elif when:
            changes["scheduled_at"] = _moment(when)
    try:
        service.update(account_id, broadcast_id, model(BroadcastUpdate, changes), visit.now)
        if action in ("send", "schedule") and found.status == "draft":
            at = _moment(visit.field("scheduled_at")) if action == "schedule" else None
            service.send(principal(visit), broadcast_id,
                         model(BroadcastSend, {"scheduled_at": at}), visit.now)
            return visit.redirect(f"/dashboard/broadcasts/{broadcast_id}?done={action}")
    except ValidationFailed as err:
        return _compose(visit, found, values, error=err.message, status=err.status)
    if found.status == "scheduled":
        done = "send" if action == "send" else "rescheduled"
        return visit.redirect(f"/dashboard/broadcasts/{broadcast_id}?done={done}"
                              + ("&view=progress" if action == "send" else ""))
    return visit.redirect(f"/dashboard/broadcasts/{broadcast_id}?done=saved")


def _moment(raw: str) -> str:
    """A ``datetime-local`` value, read as UTC (the page says so)."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError as err:
        raise ValidationFailed("scheduled_at: a date and time (UTC)",
                               details=[{"field": "scheduled_at"}]) from err
    return moment.replace(tzinfo=None).isoformat() + "Z"


def _progress(visit: Visit, found: Any) -> Response:
    from chalicelib.broadcasts import STAT_KEYS
    service = visit.services.container.broadcasts
    chosen = visit.query("status")
    if chosen and chosen not in STAT_KEYS:
        raise ValidationFailed(f"status must be one of {', '.join(STAT_KEYS)}",
                               details=[{"field": "status"}])
    recipients = service.recipients(visit.user.account_id, found.id, PAGE_SIZE,
                                    cursor_of(visit), chosen or None)
    segments = {s.id: s.name for s in all_segments(visit)}
    topics = {t.id: t.name for t in all_topics(visit)}
    stats = found.stats
    processed = sum(stats.get(k, 0) for k in PROGRESS)
    counts = {"queued": stats.get("queued", 0),
              "sent": sum(stats.get(k, 0) for k in ("sent", "delivered", "bounced",
                                                      "complained", "unsubscribed")),
              "not_sent": stats.get("skipped", 0) + stats.get("suppressed", 0),
              "failed": stats.get("failed", 0)}
    return visit.render("broadcast.html", broadcast=found, page=recipients,
                        cursor=cursor_of(visit), chosen=chosen, statuses=STAT_KEYS,
                        counts=counts, processed=processed, segments=segments,
                        topics=topics, live=found.status in LIVE, done=visit.query("done"),
                        keep=urlencode({"status": chosen}) if chosen else "")

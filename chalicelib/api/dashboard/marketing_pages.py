"""Who marketing mail goes to: contacts (with CSV import, topic subscriptions and the double
opt-in proof), segments and topics. Every rule is the services' (the same as ``/v1``); the
pages only turn forms into the API's own models."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from chalice.app import Response

from chalicelib.api.dashboard.frame import Visit, page
from chalicelib.api.dashboard.portal import PAGE_SIZE, cursor_of, model, principal
from chalicelib.errors import NotFound, ValidationFailed

# A state filter: what the store is asked for, then each contact's effective state decides.
STATES: dict[str, dict[str, Any]] = {"subscribed": {"status": "subscribed", "unsubscribed": False},
          "unsubscribed": {"unsubscribed": True}, "pending": {"status": "pending"},
          "suppressed": {}}
CHOICES = 100  # one store page of segments, topics or templates: pickers read every page


def every(fetch: Callable[[int, str | None], Any]) -> list[Any]:
    """Every item of a paged listing (``fetch(limit, cursor)``), a store page at a time, so
    a picker offers all of an account's segments or topics, not the first hundred."""
    found: list[Any] = []
    cursor: str | None = None
    while True:
        listed = fetch(CHOICES, cursor)
        found += listed.data
        if not listed.has_more or not listed.next_cursor:
            return found
        cursor = listed.next_cursor


def all_segments(visit: Visit) -> list[Any]:
    audiences, account_id = visit.services.container.audiences, visit.user.account_id
    found = every(lambda limit, cursor: audiences.segments(account_id, limit, cursor))
    return sorted(found, key=lambda s: (s.name.casefold(), s.id))


def all_topics(visit: Visit) -> list[Any]:
    audiences, account_id = visit.services.container.audiences, visit.user.account_id
    found = every(lambda limit, cursor: audiences.topics(account_id, limit, cursor))
    return sorted(found, key=lambda t: (t.name.casefold(), t.id))


def effective_states(visit: Visit, contacts: list[Any]) -> dict[str, dict[str, Any]]:
    """Each contact's state as a broadcast sees it (the API's own rule and its one batched
    suppression lookup), with the entry's reason when suppressed."""
    stated = visit.services.container.contact_states(visit.user.account_id, contacts)
    return {c.id: {"state": c.state, **(c.suppressed.model_dump() if c.suppressed else {})}
            for c in stated}


def opt_in_of(visit: Visit) -> dict[str, Any] | None:
    """The form's "confirm by email first" choice, as the API's ``double_opt_in``."""
    if visit.field("double_opt_in") != "on":
        return None
    subject = visit.field("opt_in_subject").strip()
    return {"from": visit.field("opt_in_from").strip(), **({"subject": subject} if subject
                                                             else {})}


def _text(visit: Visit, name: str) -> str | None:
    return visit.field(name).strip() or None


# Contacts

@page("/dashboard/contacts", ("GET", "POST"), nav="Contacts")
def contacts(visit: Visit) -> Response:
    container = visit.services.container
    account_id = visit.user.account_id
    if visit.request.method == "POST":
        from chalicelib.marketing_models import ContactCreate
        segment = visit.field("segment_id")
        request = model(ContactCreate, {
            "email": visit.field("email").strip(), "first_name": _text(visit, "first_name"),
            "last_name": _text(visit, "last_name"), "segment_ids": [segment] if segment else [],
            "unsubscribed": visit.field("unsubscribed") == "on",
            # Per request, whatever the segment says: the confirmation email goes first.
            "double_opt_in": opt_in_of(visit)})
        made = container.contacts.create(principal(visit), request, visit.now)
        return visit.redirect(f"/dashboard/contacts/{made.id}?done=created")
    chosen = {name: visit.query(name).strip() for name in ("search", "state", "segment")}
    if chosen["state"] and chosen["state"] not in STATES:
        raise ValidationFailed("state: subscribed, unsubscribed, pending or suppressed",
                               details=[{"field": "state"}])
    found: Any = None
    if chosen["search"]:
        try:
            found = container.contacts.get(account_id, chosen["search"])
        except NotFound:
            found = False
    state = STATES.get(chosen["state"], {})
    listed = container.contacts.list(account_id, PAGE_SIZE, cursor_of(visit),
                                     segment_id=chosen["segment"] or None,
                                     unsubscribed=state.get("unsubscribed"),
                                     status=state.get("status"))
    states = effective_states(visit, [*listed.data, *([found] if found else [])])
    if chosen["state"]:  # the effective state: a suppressed contact is not "subscribed"
        listed = listed.model_copy(update={"data": [
            c for c in listed.data if states[c.id]["state"] == chosen["state"]]})
    segments = all_segments(visit)
    return visit.render("contacts.html", page=listed, chosen=chosen, found=found,
                        states=states,
                        segments=segments, names={s.id: s.name for s in segments},
                        cursor=cursor_of(visit),
                        keep=urlencode({k: v for k, v in chosen.items()
                                        if v and k != "search"}))


def _contact_page(visit: Visit, contact_id: str) -> Response:
    container = visit.services.container
    account_id = visit.user.account_id
    contact = container.contacts.get(account_id, contact_id)
    segments = all_segments(visit)
    names = {s.id: s.name for s in segments}
    topics = container.contacts.subscriptions(account_id, contact.id).data
    return visit.render("contact.html", contact=contact, segments=segments, names=names,
                        state=effective_states(visit, [contact])[contact.id],
                        topics=topics, done=visit.query("done"),
                        properties=json.dumps(contact.properties, indent=2, sort_keys=True))


@page("/dashboard/contacts/{contact_id}", ("GET", "POST"))
def contact(visit: Visit, contact_id: str) -> Response:
    if visit.request.method == "GET":
        return _contact_page(visit, contact_id)
    service = visit.services.container.contacts
    account_id = visit.user.account_id
    if visit.field("action") == "delete":
        service.delete(account_id, contact_id, visit.now)
        return visit.redirect("/dashboard/contacts?done=deleted")
    from chalicelib.marketing_models import ContactUpdate
    before = service.get(account_id, contact_id)
    try:
        properties = json.loads(visit.field("properties") or "{}")
    except ValueError:
        properties = None
    if not isinstance(properties, dict):
        raise ValidationFailed('properties: a JSON object, such as {"plan": "pro"}',
                               details=[{"field": "properties"}])
    # The form shows every property: one left out of it is one removed.
    properties.update({k: None for k in before.properties if k not in properties})
    service.update(account_id, contact_id, model(ContactUpdate, {
        "first_name": _text(visit, "first_name"), "last_name": _text(visit, "last_name"),
        "properties": properties, "unsubscribed": visit.field("unsubscribed") == "on"}),
        visit.now)
    return visit.redirect(f"/dashboard/contacts/{contact_id}?done=saved")


@page("/dashboard/contacts/{contact_id}/topics", ("POST",))
def contact_topics(visit: Visit, contact_id: str) -> Response:
    service = visit.services.container.contacts
    account_id = visit.user.account_id
    offered = service.subscriptions(account_id, contact_id).data
    choices = {t.topic_id: "opt_in" if visit.field(f"topic_{t.topic_id}") == "on" else "opt_out"
               for t in offered}
    changed = {k: v for k, v in choices.items()
               if (v == "opt_in") != next(t.subscribed for t in offered if t.topic_id == k)}
    if changed:
        from chalicelib.marketing_models import SubscriptionChange
        service.change_subscriptions(account_id, contact_id,
                                     model(SubscriptionChange, {"topics": changed}), visit.now)
    return visit.redirect(f"/dashboard/contacts/{contact_id}?done=topics")


@page("/dashboard/contacts/{contact_id}/segments", ("POST",))
def contact_segments(visit: Visit, contact_id: str) -> Response:
    audiences = visit.services.container.audiences
    segment_id = visit.field("segment_id")
    if not segment_id:
        raise ValidationFailed("segment_id: choose a segment", details=[{"field": "segment_id"}])
    if visit.field("action") == "remove":
        audiences.remove_member(visit.user.account_id, segment_id, contact_id, visit.now)
        return visit.redirect(f"/dashboard/contacts/{contact_id}?done=segment-removed")
    audiences.add_member(visit.user.account_id, segment_id, contact_id, visit.now)
    return visit.redirect(f"/dashboard/contacts/{contact_id}?done=segment-added")


# CSV import: the file goes to S3 and the marketing queue works it, off the request path.

@page("/dashboard/contact-imports/new", ("GET", "POST"))
def new_import(visit: Visit) -> Response:
    if visit.request.method == "GET":
        return visit.render("contact_import_new.html", segments=all_segments(visit))
    from chalicelib.marketing_models import ImportCreate
    request = model(ImportCreate, {"csv": visit.field("csv"),
                                   "segment_id": visit.field("segment_id") or None,
                                   "double_opt_in": opt_in_of(visit)})
    started = visit.services.container.audiences.start_import(principal(visit), request,
                                                              visit.now)
    return visit.redirect(f"/dashboard/contact-imports/{started.id}")


@page("/dashboard/contact-imports/{import_id}")
def contact_import(visit: Visit, import_id: str) -> Response:
    found = visit.services.container.audiences.get_import(visit.user.account_id, import_id)
    return visit.render("contact_import.html", job=found,
                        live=found.status in ("queued", "processing"))


# Segments

@page("/dashboard/segments", ("GET", "POST"), nav="Segments")
def segments(visit: Visit) -> Response:
    audiences = visit.services.container.audiences
    if visit.request.method == "POST":
        from chalicelib.marketing_models import SegmentCreate
        data: dict[str, Any] = {"name": visit.field("name").strip()}
        if opt_in_of(visit):
            data["double_opt_in"] = opt_in_of(visit)
        made = audiences.create_segment(visit.user.account_id, model(SegmentCreate, data),
                                        visit.now)
        return visit.redirect(f"/dashboard/segments/{made.id}?done=created")
    listed = audiences.segments(visit.user.account_id, PAGE_SIZE, cursor_of(visit))
    return visit.render("segments.html", page=listed, cursor=cursor_of(visit),
                        done=visit.query("done"))


@page("/dashboard/segments/{segment_id}", ("GET", "POST"))
def segment(visit: Visit, segment_id: str) -> Response:
    container = visit.services.container
    account_id = visit.user.account_id
    if visit.request.method == "POST":
        action = visit.field("action")
        if action == "delete":
            container.audiences.delete_segment(account_id, segment_id, visit.now)
            return visit.redirect("/dashboard/segments?done=deleted")
        if action == "rename":
            container.audiences.rename_segment(account_id, segment_id, visit.field("name"))
            return visit.redirect(f"/dashboard/segments/{segment_id}?done=renamed")
        contact = visit.field("contact").strip()
        if not contact:
            raise ValidationFailed("contact: an address or contact id",
                                   details=[{"field": "contact"}])
        if action == "remove":
            container.audiences.remove_member(account_id, segment_id, contact, visit.now)
            return visit.redirect(f"/dashboard/segments/{segment_id}?done=removed")
        container.audiences.add_member(account_id, segment_id, contact, visit.now)
        return visit.redirect(f"/dashboard/segments/{segment_id}?done=added")
    found = container.audiences.segment(account_id, segment_id)
    members = container.audiences.members(account_id, segment_id, PAGE_SIZE, cursor_of(visit))
    return visit.render("segment.html", segment=found, page=members, cursor=cursor_of(visit),
                        done=visit.query("done"))


# Topics

@page("/dashboard/topics", ("GET", "POST"), nav="Topics")
def topics(visit: Visit) -> Response:
    audiences = visit.services.container.audiences
    if visit.request.method == "POST":
        from chalicelib.marketing_models import TopicCreate
        made = audiences.create_topic(visit.user.account_id, model(TopicCreate, {
            "name": visit.field("name").strip(), "description": _text(visit, "description"),
            "default": visit.field("default") or "opt_in"}), visit.now)
        return visit.redirect(f"/dashboard/topics?done=created&topic={quote(made.id)}")
    listed = audiences.topics(visit.user.account_id, PAGE_SIZE, cursor_of(visit))
    return visit.render("topics.html", page=listed, cursor=cursor_of(visit),
                        done=visit.query("done"))


@page("/dashboard/topics/{topic_id}", ("GET", "POST"))
def topic(visit: Visit, topic_id: str) -> Response:
    audiences = visit.services.container.audiences
    account_id = visit.user.account_id
    if visit.request.method == "POST":
        if visit.field("action") == "delete":
            audiences.delete_topic(account_id, topic_id)
            return visit.redirect("/dashboard/topics?done=deleted")
        from chalicelib.marketing_models import TopicUpdate
        audiences.update_topic(account_id, topic_id, model(TopicUpdate, {
            "name": visit.field("name").strip(), "description": _text(visit, "description"),
            "default": visit.field("default") or None}))
        return visit.redirect(f"/dashboard/topics/{topic_id}?done=saved")
    return visit.render("topic.html", topic=audiences.topic(account_id, topic_id),
                        done=visit.query("done"))


"""/v1/contacts (with imports and topic subscriptions), /v1/segments, /v1/topics, and the
recipients' /c/{token} double opt-in confirmation page."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from chalice.app import Response

from chalicelib import wiring
from chalicelib.api.routes import blueprint_api
from chalicelib.api.routes.pages import recipient_page
from chalicelib.api.web import Call, ERROR
from chalicelib.clock import utcnow
from chalicelib.errors import ValidationFailed

if TYPE_CHECKING:
    from chalicelib.marketing_models import (ContactOut, ContactPage, ImportOut, SegmentOut,
                                             SegmentPage, SubscriptionList, TopicOut, TopicPage)
    from chalicelib.models import Deleted

api = blueprint_api(__name__)
TAGS = ("contacts",)
M = "marketing_models:"
FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]
STATES = ("subscribed", "pending", "unsubscribed", "suppressed")


def _flag(call: Call, name: str) -> bool | None:
    raw = call.query(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ValidationFailed(f"{name} must be true or false", details=[{"field": name}])
    return raw == "true"


def _stated(account_id: str, contact: ContactOut) -> ContactOut:
    return wiring.container().contact_states(account_id, [contact])[0]


def _stated_page(account_id: str, page: ContactPage, state: str | None = None) -> ContactPage:
    """The page with each contact's effective state (one suppression lookup for the page),
    kept to one state if asked (within the page: it may come back short)."""
    stated = wiring.container().contact_states(account_id, page.data)
    return page.model_copy(update={"data": [c for c in stated
                                            if state is None or c.state == state]})


@api.operation("POST", "/v1/contacts", summary="Create a contact (optionally double opt-in)",
               body=M + "ContactCreate", responses={201: M + "ContactOut", 409: ERROR,
                                                    422: ERROR}, tags=TAGS, idempotent=True)
def create_contact(call: Call) -> ContactOut:
    return _stated(call.account.account_id,
                   wiring.container().contacts.create(call.account, call.body, utcnow()))


@api.operation("GET", "/v1/contacts", summary="List contacts (segment_id, unsubscribed, status, "
               "state: subscribed, pending, unsubscribed or suppressed)",
               responses={200: M + "ContactPage", 422: ERROR}, tags=TAGS)
def list_contacts(call: Call) -> ContactPage:
    status, state = call.query("status"), call.query("state")
    if status not in (None, "pending", "subscribed"):
        raise ValidationFailed("status must be pending or subscribed",
                               details=[{"field": "status"}])
    if state not in (None, *STATES):
        raise ValidationFailed("state must be subscribed, pending, unsubscribed or suppressed",
                               details=[{"field": "state"}])
    account_id = call.account.account_id
    return _stated_page(account_id, wiring.container().contacts.list(
        account_id, call.query_int("limit", 50, 1, 100), call.query("cursor"),
        segment_id=call.query("segment_id"), unsubscribed=_flag(call, "unsubscribed"),
        status=status), state)


@api.operation("GET", "/v1/contacts/{contact}", summary="A contact, by id or address",
               responses={200: M + "ContactOut", 404: ERROR}, tags=TAGS)
def get_contact(call: Call, contact: str) -> ContactOut:
    account_id = call.account.account_id
    return _stated(account_id, wiring.container().contacts.get(account_id, unquote(contact)))


@api.operation("PATCH", "/v1/contacts/{contact}", summary="Change a contact",
               body=M + "ContactUpdate", responses={200: M + "ContactOut", 404: ERROR,
                                                    422: ERROR}, tags=TAGS)
def update_contact(call: Call, contact: str) -> ContactOut:
    account_id = call.account.account_id
    return _stated(account_id, wiring.container().contacts.update(
        account_id, unquote(contact), call.body, utcnow()))


@api.operation("DELETE", "/v1/contacts/{contact}", summary="Delete a contact everywhere",
               responses={200: "models:Deleted", 404: ERROR}, tags=TAGS)
def delete_contact(call: Call, contact: str) -> Deleted:
    from chalicelib.models import Deleted
    return Deleted(id=wiring.container().contacts.delete(call.account.account_id,
                                                         unquote(contact), utcnow()))


@api.operation("GET", "/v1/contacts/{contact}/topics", summary="A contact's topic subscriptions",
               responses={200: M + "SubscriptionList", 404: ERROR}, tags=TAGS)
def contact_topics(call: Call, contact: str) -> SubscriptionList:
    return wiring.container().contacts.subscriptions(call.account.account_id, unquote(contact))


@api.operation("PATCH", "/v1/contacts/{contact}/topics", summary="Change topic subscriptions",
               body=M + "SubscriptionChange",
               responses={200: M + "SubscriptionList", 404: ERROR, 422: ERROR}, tags=TAGS)
def change_contact_topics(call: Call, contact: str) -> SubscriptionList:
    return wiring.container().contacts.change_subscriptions(
        call.account.account_id, unquote(contact), call.body, utcnow())


@api.operation("POST", "/v1/contact-imports", summary="Import contacts from CSV (processed "
               "in the background)", body=M + "ImportCreate",
               responses={202: M + "ImportOut", 422: ERROR}, tags=TAGS, idempotent=True)
def start_import(call: Call) -> ImportOut:
    return wiring.container().audiences.start_import(call.account, call.body, utcnow())


@api.operation("GET", "/v1/contact-imports/{import_id}", summary="An import and its report",
               responses={200: M + "ImportOut", 404: ERROR}, tags=TAGS)
def get_import(call: Call, import_id: str) -> ImportOut:
    return wiring.container().audiences.get_import(call.account.account_id, import_id)


# Segments

@api.operation("POST", "/v1/segments", summary="Create a segment", body=M + "SegmentCreate",
               responses={201: M + "SegmentOut", 422: ERROR}, tags=("segments",),
               idempotent=True)
def create_segment(call: Call) -> SegmentOut:
    return wiring.container().audiences.create_segment(call.account.account_id, call.body,
                                                       utcnow())


@api.operation("GET", "/v1/segments", summary="List segments",
               responses={200: M + "SegmentPage", 422: ERROR}, tags=("segments",))
def list_segments(call: Call) -> SegmentPage:
    return wiring.container().audiences.segments(
        call.account.account_id, call.query_int("limit", 50, 1, 100), call.query("cursor"))


@api.operation("GET", "/v1/segments/{segment_id}", summary="A segment",
               responses={200: M + "SegmentOut", 404: ERROR}, tags=("segments",))
def get_segment(call: Call, segment_id: str) -> SegmentOut:
    return wiring.container().audiences.segment(call.account.account_id, segment_id)


@api.operation("DELETE", "/v1/segments/{segment_id}", summary="Delete a segment (not its "
               "contacts)", responses={200: "models:Deleted", 404: ERROR}, tags=("segments",))
def delete_segment(call: Call, segment_id: str) -> Deleted:
    from chalicelib.models import Deleted
    wiring.container().audiences.delete_segment(call.account.account_id, segment_id, utcnow())
    return Deleted(id=segment_id)


@api.operation("GET", "/v1/segments/{segment_id}/contacts", summary="A segment's contacts",
               responses={200: M + "ContactPage", 404: ERROR, 422: ERROR}, tags=("segments",))
def segment_contacts(call: Call, segment_id: str) -> ContactPage:
    account_id = call.account.account_id
    return _stated_page(account_id, wiring.container().audiences.members(
        account_id, segment_id, call.query_int("limit", 50, 1, 100), call.query("cursor")))


@api.operation("PUT", "/v1/segments/{segment_id}/contacts/{contact}",
               summary="Add a contact to a segment",
               responses={200: M + "ContactOut", 404: ERROR}, tags=("segments",))
def add_to_segment(call: Call, segment_id: str, contact: str) -> ContactOut:
    container = wiring.container()
    container.audiences.add_member(call.account.account_id, segment_id, unquote(contact),
                                   utcnow())
    return _stated(call.account.account_id,
                   container.contacts.get(call.account.account_id, unquote(contact)))


@api.operation("DELETE", "/v1/segments/{segment_id}/contacts/{contact}",
               summary="Remove a contact from a segment",
               responses={200: "models:Deleted", 404: ERROR}, tags=("segments",))
def remove_from_segment(call: Call, segment_id: str, contact: str) -> Deleted:
    from chalicelib.models import Deleted
    wiring.container().audiences.remove_member(call.account.account_id, segment_id,
                                               unquote(contact), utcnow())
    return Deleted(id=unquote(contact))


# Topics

@api.operation("POST", "/v1/topics", summary="Create a topic", body=M + "TopicCreate",
               responses={201: M + "TopicOut", 422: ERROR}, tags=("topics",), idempotent=True)
def create_topic(call: Call) -> TopicOut:
    return wiring.container().audiences.create_topic(call.account.account_id, call.body,
                                                     utcnow())


@api.operation("GET", "/v1/topics", summary="List topics",
               responses={200: M + "TopicPage", 422: ERROR}, tags=("topics",))
def list_topics(call: Call) -> TopicPage:
    return wiring.container().audiences.topics(
        call.account.account_id, call.query_int("limit", 50, 1, 100), call.query("cursor"))


@api.operation("GET", "/v1/topics/{topic_id}", summary="A topic",
               responses={200: M + "TopicOut", 404: ERROR}, tags=("topics",))
def get_topic(call: Call, topic_id: str) -> TopicOut:
    return wiring.container().audiences.topic(call.account.account_id, topic_id)


@api.operation("PATCH", "/v1/topics/{topic_id}", summary="Change a topic",
               body=M + "TopicUpdate", responses={200: M + "TopicOut", 404: ERROR, 422: ERROR},
               tags=("topics",))
def update_topic(call: Call, topic_id: str) -> TopicOut:
    return wiring.container().audiences.update_topic(call.account.account_id, topic_id,
                                                     call.body)


@api.operation("DELETE", "/v1/topics/{topic_id}", summary="Delete a topic",
               responses={200: "models:Deleted", 404: ERROR}, tags=("topics",))
def delete_topic(call: Call, topic_id: str) -> Deleted:
    from chalicelib.models import Deleted
    wiring.container().audiences.delete_topic(call.account.account_id, topic_id)
    return Deleted(id=topic_id)


# The confirmation link of double opt-in

@api.operation("GET", "/c/{token}", summary="Double opt-in confirmation page (a button)",
               responses={200: None, 404: None}, scope=None, tags=("recipients",))
def confirmation_page(call: Call, token: str) -> Response:
    # A GET never confirms: mail scanners follow links; people press buttons.
    if wiring.container().contacts.confirmable(token, utcnow()) is None:
        return recipient_page("Link not valid", "<p>This confirmation link is not valid, "
                              "was already used, or has expired.</p>", 404)
    return recipient_page("Confirm your subscription", "<form method=post>"
                          "<button type=submit name=confirm value=yes>Confirm</button></form>")


@api.operation("POST", "/c/{token}", summary="Confirm a double opt-in subscription",
               responses={200: None, 404: None}, scope=None, tags=("recipients",),
               content_types=FORM_TYPES)
def confirm_subscription(call: Call, token: str) -> Response:
    if not wiring.container().contacts.confirm(token, utcnow()):
        return recipient_page("Link not valid", "<p>This confirmation link is not valid, "
                              "was already used, or has expired.</p>", 404)
    return recipient_page("Subscribed", "<p>Thank you: your subscription is confirmed.</p>")

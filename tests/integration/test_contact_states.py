"""A contact's effective state on the API (/v1 and Resend's /resend), under moto through
``chalice.test.Client``: a contact whose address is on the suppression list says so (reason,
scope, since), filters as ``state=suppressed``, and the Resend SDK sees it unsubscribed; one
batched suppression lookup per page, one account's list never another's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import resend

from chalicelib import wiring
from tests.integration.test_resend_sdk import sdk  # noqa: F401  (the fixture)


def _contacts(api: Any, key: str, query: str = "") -> dict[str, dict[str, Any]]:
    answer = api.get(f"/v1/contacts{query}", key=key)
    assert answer.status_code == 200, answer.json
    return {c["email"]: c for c in answer.json["data"]}


def _seed(api: Any, account: Any) -> None:
    """Six contacts: fine, bounced, complained, suppressed by hand (marketing only, typed in
    another case), unsubscribed by its link (also a suppression), and pending."""
    key, now = account.api_key, datetime.now(UTC)
    for address in ("ok@example.org", "bounced@example.org", "complained@example.org",
                    "manual@example.org"):
        assert api.post("/v1/contacts", {"email": address}, key=key).status_code == 201
    assert api.post("/v1/contacts", {"email": "left@example.org", "unsubscribed": True},
                    key=key).status_code == 201
    suppressions = wiring.container().suppressions
    suppressions.add(account.account_id, "bounced@example.org", "bounce", "all", now)
    suppressions.add(account.account_id, "complained@example.org", "complaint", "all", now)
    suppressions.add(account.account_id, "MANUAL@Example.org", "manual", "marketing", now)
    suppressions.add(account.account_id, "left@example.org", "unsubscribe", "marketing", now)


def test_a_bounced_contact_is_not_listed_as_subscribed(api, account, suppression_reads) -> None:
    """Bug caught: GET /v1/contacts (and one contact, and a segment's) showing a contact whose
    address bounced, complained or was suppressed by hand as subscribed although no
    broadcast reaches it; or each row's suppression read on its own."""
    _seed(api, account)
    key = account.api_key
    suppression_reads.update(get_many=0, get=0)
    listed = _contacts(api, key)
    assert suppression_reads == {"get_many": 1, "get": 0}, "one batched lookup for the page of five"
    assert {a: c["state"] for a, c in listed.items()} == {
        "ok@example.org": "subscribed", "bounced@example.org": "suppressed",
        "complained@example.org": "suppressed", "manual@example.org": "suppressed",
        "left@example.org": "unsubscribed"}
    bounced = listed["bounced@example.org"]
    assert bounced["status"] == "subscribed" and bounced["unsubscribed"] is False
    assert bounced["suppressed"]["reason"] == "bounce"
    assert bounced["suppressed"]["scope"] == "all"
    assert bounced["suppressed"]["since"].startswith(str(datetime.now(UTC).year))
    assert listed["manual@example.org"]["suppressed"]["scope"] == "marketing"
    assert listed["ok@example.org"]["suppressed"] is None
    assert listed["left@example.org"]["suppressed"] is None, "its unsubscribe, shown once"
    assert "address_hash" not in bounced["suppressed"] and "email" not in bounced["suppressed"]

    one = api.get(f"/v1/contacts/{quote('complained@example.org')}", key=key).json
    assert one["state"] == "suppressed" and one["suppressed"]["reason"] == "complaint"
    segment = api.post("/v1/segments", {"name": "All"}, key=key).json["id"]
    put = api.request("PUT", f"/v1/segments/{segment}/contacts/{bounced['id']}", key=key)
    assert put.json["state"] == "suppressed"
    members = api.get(f"/v1/segments/{segment}/contacts", key=key).json["data"]
    assert [(c["email"], c["state"]) for c in members] == [("bounced@example.org",
                                                            "suppressed")]
    # A contact created for an address already suppressed says so at once.
    wiring.container().suppressions.add(account.account_id, "bounced3@example.org", "bounce",
                                        "all", datetime.now(UTC))
    made = api.post("/v1/contacts", {"email": "bounced3@example.org"}, key=key).json
    assert made["state"] == "suppressed" and made["suppressed"]["reason"] == "bounce"

    # Off the list again: subscribed, on the API as in the sender.
    wiring.container().suppressions.remove(account.account_id, "bounced@example.org")
    again = api.get(f"/v1/contacts/{bounced['id']}", key=key).json
    assert again["state"] == "subscribed" and again["suppressed"] is None


def test_state_filter(api, account) -> None:
    """Bug caught: ?state=subscribed returning suppressed contacts (the stored status says
    subscribed), ?state=suppressed missing one, or an unknown state answered as a 500 or
    silently ignored."""
    _seed(api, account)
    key = account.api_key
    assert sorted(_contacts(api, key, "?state=suppressed")) == [
        "bounced@example.org", "complained@example.org", "manual@example.org"]
    assert sorted(_contacts(api, key, "?state=subscribed")) == ["ok@example.org"]
    assert sorted(_contacts(api, key, "?state=unsubscribed")) == ["left@example.org"]
    wrong = api.get("/v1/contacts?state=bounced", key=key)
    assert wrong.status_code == 422
    assert wrong.json["error"]["details"] == [{"field": "state"}]
    assert "state must be" in wrong.json["error"]["message"]


def test_state_filter_never_leaks_another_accounts_contacts(api, account,
                                                           other_account) -> None:
    """Bug caught: the suppression lookup or the state filter reaching another account's
    list: its contacts listed here, or its suppression of an address marking this account's
    contact of the same address as suppressed."""
    _seed(api, account)
    theirs = other_account.api_key
    for address in ("ok@example.org", "bounced@example.org", "their@example.org"):
        assert api.post("/v1/contacts", {"email": address}, key=theirs).status_code == 201
    wiring.container().suppressions.add(other_account.account_id, "ok@example.org", "bounce",
                                        "all", datetime.now(UTC))
    mine = _contacts(api, account.api_key, "?state=suppressed")
    assert sorted(mine) == ["bounced@example.org", "complained@example.org",
                            "manual@example.org"]
    ids = {c["id"] for c in _contacts(api, theirs).values()}
    assert not ids & {c["id"] for c in mine.values()}
    assert _contacts(api, account.api_key)["ok@example.org"]["state"] == "subscribed"
    # Theirs: only their own suppression counts (not this account's bounce).
    assert _contacts(api, theirs, "?state=suppressed").keys() == {"ok@example.org"}
    assert _contacts(api, theirs)["bounced@example.org"]["state"] == "subscribed"


def test_resend_sdk_sees_a_suppressed_contact_unsubscribed(sdk, api, account,  # noqa: F811
                                                           suppression_reads) -> None:
    """Bug caught: the Resend surface answering ``unsubscribed: false`` for a contact whose
    address bounced (a Resend user's code would keep mailing or counting it), adding fields
    Resend's contact does not have, or reading the suppression list once a row."""
    _seed(api, account)
    suppression_reads.update(get_many=0, get=0)
    listed = {c["email"]: c for c in resend.Contacts.list()["data"]}
    assert suppression_reads == {"get_many": 1, "get": 0}, "one batched lookup for the page"
    assert {a: c["unsubscribed"] for a, c in listed.items()} == {
        "ok@example.org": False, "bounced@example.org": True,
        "complained@example.org": True, "manual@example.org": True,
        "left@example.org": True}
    assert set(listed["bounced@example.org"]) == {
        "object", "id", "email", "first_name", "last_name", "created_at", "unsubscribed",
        "properties"}, "Resend's contact object, nothing of ours"
    got = resend.Contacts.get(email="bounced@example.org")
    assert got["unsubscribed"] is True
    assert resend.Contacts.get(email="ok@example.org")["unsubscribed"] is False
    wiring.container().suppressions.remove(account.account_id, "bounced@example.org")
    assert resend.Contacts.get(id=got["id"])["unsubscribed"] is False


def test_openapi_describes_the_state_and_its_filter(api) -> None:
    """Bug caught: a generated client (built from /v1/openapi.json) not knowing ``state``,
    ``suppressed`` or the ``?state=`` filter, so its users cannot read or ask for them."""
    document = api.get("/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    contact = schemas["ContactOut"]["properties"]
    assert contact["state"]["enum"] == ["subscribed", "pending", "unsubscribed", "suppressed"]
    assert "suppressed" in contact and "ContactSuppression" in schemas
    assert set(schemas["ContactSuppression"]["properties"]) == {"reason", "scope", "since"}
    listing = document["paths"]["/v1/contacts"]["get"]
    assert "state" in {p["name"] for p in listing["parameters"] if p["in"] == "query"}

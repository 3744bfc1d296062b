"""Issue 17's pages under moto through ``chalice.test.Client``: each capability through the
same services as the API, roles, tenancy, CSRF, pagination and the secrets shown once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.dashboard_support import make_user, signed_in

PAGES = ["/dashboard", "/dashboard?days=7", "/dashboard?days=90", "/dashboard/emails",
         "/dashboard/letters", "/dashboard/domains", "/dashboard/keys", "/dashboard/smtp",
         "/dashboard/webhooks", "/dashboard/suppressions", "/dashboard/templates",
         "/dashboard/templates/new", "/dashboard/settings", "/dashboard/team"]


@pytest.fixture
def api_of(client: Any) -> ApiClient:
    import app as app_module
    return ApiClient(client, app_module)


def send(api: ApiClient, account: Any, to: str = "ada@example.net", **extra: Any) -> Any:
    body = {"from": f"hello@{account.domain}", "to": to, "subject": "Hello page",
            "text": "secret body text", "tags": [{"name": "kind", "value": "welcome"}],
            "metadata": {"order": "42"}, **extra}
    return api.post("/v1/emails", body, key=account.api_key)


def test_every_page_renders_for_an_owner(client: Any, account: Any) -> None:
    """Bug caught: a page that fails to render (500) or leaves the navigation."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    for path in PAGES:
        page = owner.get(path)
        assert page.status == 200, (path, page.text[:400])
        assert 'aria-label="Main"' in page.text and "Sign out" in page.text
    nav = re.findall(r'<li><a href="(/dashboard[^"]*)"', owner.get("/dashboard").text)
    assert nav[:3] == ["/dashboard", "/dashboard/emails", "/dashboard/letters"]
    assert nav[-1] == "/dashboard/profile" and "/dashboard/keys" in nav


def test_a_member_cannot_manage_keys_smtp_users_or_closure(client: Any, account: Any) -> None:
    """Bug caught: key, credential, user or closure management open to the member role."""
    member = signed_in(client, account.account_id, "member@example.com", role="member")
    for path in ("/dashboard/keys", "/dashboard/smtp"):
        assert member.get(path).status == 403
    assert member.post("/dashboard/keys", {"scope": "full"}).status == 403
    invite = member.post("/dashboard/team", {"email": "x@example.com", "role": "admin"})
    assert invite.status == 403
    closing = member.post("/dashboard/settings/close", {"confirm": account.account_id})
    assert closing.status == 403
    nav = member.get("/dashboard").text
    assert 'href="/dashboard/keys"' not in nav and 'href="/dashboard/emails"' in nav
    from chalicelib import wiring
    assert wiring.container().accounts.describe(account.account_id).status == "active"


def test_the_log_lists_a_sent_email_and_its_detail_shows_the_timeline_not_the_body(
        client: Any, account: Any, api_of: ApiClient, drain: Any) -> None:
    """Bug caught: the log missing an email, a filter that does not filter, or a detail page
    that shows (or pretends to have) the body."""
    sent = send(api_of, account)
    assert sent.status_code == 202
    drain()
    owner = signed_in(client, account.account_id, "owner@example.com")
    log = owner.get("/dashboard/emails")
    assert sent.json["id"] in log.text and "Hello page" in log.text
    assert sent.json["id"] in owner.get("/dashboard/emails?status=sent&tag=kind:welcome").text
    assert sent.json["id"] not in owner.get("/dashboard/emails?status=bounced").text
    assert sent.json["id"] not in owner.get("/dashboard/emails?recipient=zed@example.net").text
    assert owner.get("/dashboard/emails?status=nonsense").status == 422
    assert owner.get("/dashboard/emails?from=yesterday").status == 422
    detail = owner.get(f"/dashboard/emails/{sent.json['id']}")
    assert detail.status == 200
    assert "queued" in detail.text and "sent" in detail.text
    assert "kind:welcome" in detail.text and "order=42" in detail.text
    assert "body is not stored" in detail.text and "secret body text" not in detail.text


def test_another_accounts_objects_are_not_found(client: Any, account: Any, other_account: Any,
                                                api_of: ApiClient) -> None:
    """Bug caught: a page that reads an object by id without checking the account."""
    theirs = send(api_of, other_account, to="bob@example.net").json["id"]
    owner = signed_in(client, account.account_id, "owner@example.com")
    assert owner.get(f"/dashboard/emails/{theirs}").status == 404
    their_key = "key_" + other_account.api_key.removeprefix("lb_").split("_", 1)[0]
    assert owner.post(f"/dashboard/keys/{their_key}/revoke", {}).status == 404
    assert api_of.get("/v1/domains", key=other_account.api_key).status_code == 200
    assert owner.get(f"/dashboard/domains/{other_account.domain_id}").status == 404
    assert owner.post(f"/dashboard/domains/{other_account.domain_id}/rotate", {}).status == 404
    listed = owner.get("/dashboard/emails").text
    assert theirs not in listed


def test_a_key_made_on_the_page_is_shown_once_works_and_stops_when_revoked(
        client: Any, account: Any, api_of: ApiClient) -> None:
    """Bug caught: a key shown again later, or a revoked key the API still accepts."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    made = owner.post("/dashboard/keys", {"scope": "full", "domains": ""})
    assert made.status == 200 and "only once" in made.text
    token = re.search(r'data-copy="(lb_[^"]+)"', made.text).group(1)  # type: ignore[union-attr]
    assert api_of.get("/v1/domains", key=token).status_code == 200
    assert token not in owner.get("/dashboard/keys").text, "shown once"
    key_id = "key_" + token.removeprefix("lb_").split("_", 1)[0]
    revoked = owner.post(f"/dashboard/keys/{key_id}/revoke", {})
    assert revoked.status == 303
    assert api_of.get("/v1/domains", key=token).status_code == 401
    refused = owner.post("/dashboard/keys", {"scope": "full", "domains": "x.example"})
    assert refused.status == 422


def test_a_suppression_added_on_the_page_blocks_the_next_send_and_exports(
        client: Any, account: Any, api_of: ApiClient, drain: Any) -> None:
    """Bug caught: a page that writes its own suppression record the send path ignores."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    assert owner.post("/dashboard/suppressions", {"email": "blocked@example.net",
                                                  "scope": "all"}).status == 303
    assert "blocked@example.net" in owner.get("/dashboard/suppressions?search="
                                              "blocked@example.net").text
    email_id = send(api_of, account, to="blocked@example.net").json["id"]
    drain()
    assert "suppressed" in owner.get(f"/dashboard/emails/{email_id}").text
    csv_text = owner.get("/dashboard/suppressions/export.csv").text
    assert "blocked@example.net" in csv_text.splitlines()[1]
    assert owner.post("/dashboard/suppressions", {"email": "not an address"}).status == 422
    assert owner.post("/dashboard/suppressions/remove",
                      {"email": "blocked@example.net"}).status == 303
    assert "blocked@example.net" not in owner.get("/dashboard/suppressions").text


def test_an_erased_recipient_is_listed_as_a_hash_with_an_audit_record(
        client: Any, account: Any, api_of: ApiClient, drain: Any, drain_privacy: Any) -> None:
    """Bug caught: an erased address still shown, or an erasure without an audit record."""
    send(api_of, account, to="gone@example.net")
    drain()
    owner = signed_in(client, account.account_id, "owner@example.com")
    refused = owner.post("/dashboard/settings/recipient", {"email": "gone@example.net",
                                                           "action": "erase"})
    assert refused.status == 422, "erasure needs the confirmation box"
    erased = owner.post("/dashboard/settings/recipient", {
        "email": "gone@example.net", "action": "erase", "confirm": "erase"})
    assert erased.status == 200 and "Erasure started" in erased.text
    drain_privacy()
    assert "erasure (done)" in owner.get("/dashboard/settings").text
    assert "messages: 1" in owner.get("/dashboard/settings").text
    listed = owner.get("/dashboard/suppressions").text
    assert "gone@example.net" not in listed and "erased" in listed
    assert re.search(r'<code class="hash"[^>]*>[0-9a-f]{16}…', listed)
    trail = owner.get("/dashboard/settings").text
    assert "erasure" in trail and "dashboard:usr_" in trail


def test_suppressions_page_through_with_a_cursor(client: Any, account: Any) -> None:
    """Bug caught: a list that shows only its first page, with no way to the rest."""
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    service = wiring.container().suppressions
    for n in range(25):
        service.add(account.account_id, f"p{n:02d}@example.net", "manual", "all", utcnow())
    owner = signed_in(client, account.account_id, "owner@example.com")
    first = owner.get("/dashboard/suppressions")
    nxt = re.search(r'href="(/dashboard/suppressions\?cursor=[^"]+)">Next page', first.text)
    assert nxt, "a next-page link"
    second = owner.get(nxt.group(1).replace("&amp;", "&"))
    seen = set(re.findall(r"p\d\d@example.net", first.text + second.text))
    assert len(seen) == 25


def test_template_preview_renders_in_the_sandbox_and_explains_a_failure(
        client: Any, account: Any) -> None:
    """Bug caught: a preview that skips the worker's sandbox or hides why a template fails."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    source = {"name": "Welcome", "subject": "Hi {{ name }}", "html": "<p>Hello {{ name }}</p>",
              "text": "Hello {{ name }}", "sample": '{"name": "Ada"}'}
    shown = owner.post("/dashboard/templates/new", {**source, "action": "preview"})
    assert shown.status == 200 and "Hi Ada" in shown.text and "Hello Ada" in shown.text
    missing = owner.post("/dashboard/templates/new", {**source, "sample": "{}",
                                                      "action": "preview"})
    assert "This template would fail" in missing.text and "name" in missing.text
    unsafe = owner.post("/dashboard/templates/new", {
        **source, "html": "{{ ''.__class__.__mro__ }}", "action": "preview"})
    assert "sandbox forbids" in unsafe.text
    saved = owner.post("/dashboard/templates/new", {**source, "action": "save"})
    assert saved.status == 303
    assert "Welcome" in owner.get("/dashboard/templates").text
    broken = owner.post("/dashboard/templates/new", {**source, "html": "{% if %}",
                                                     "action": "save"})
    assert broken.status == 422 and "syntax error" in broken.text


def test_webhook_created_tested_and_rotated_on_the_page(client: Any, account: Any) -> None:
    """Bug caught: a signing secret shown twice, or a test event that is never queued."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    made = owner.post("/dashboard/webhooks", {"url": "http://127.0.0.1:9/hook",
                                              "event_types": ["email.delivered",
                                                              "email.bounced"]})
    assert made.status == 200 and "only once" in made.text
    secret = re.search(r'data-copy="(whsec_[^"]+)"', made.text).group(1)  # type: ignore[union-attr]
    hook_id = re.search(r'/dashboard/webhooks/(wh_\w+)', made.text).group(1)  # type: ignore[union-attr]
    page = owner.get(f"/dashboard/webhooks/{hook_id}")
    assert secret not in page.text and "email.delivered, email.bounced" in page.text
    assert owner.post(f"/dashboard/webhooks/{hook_id}/test", {}).status == 303
    rotated = owner.post(f"/dashboard/webhooks/{hook_id}/rotate", {})
    assert "whsec_" in rotated.text and secret not in rotated.text
    off = owner.post(f"/dashboard/webhooks/{hook_id}/update", {"enabled": "false"})
    assert off.status == 303 and "disabled" in owner.get(f"/dashboard/webhooks/{hook_id}").text
    owner.post(f"/dashboard/webhooks/{hook_id}/update", {"enabled": "true"})
    assert "Disable" in owner.get(f"/dashboard/webhooks/{hook_id}").text
    assert owner.post("/dashboard/webhooks", {"url": "ftp://x", "event_types": "*"}).status == 422


def test_webhook_filter_is_the_ticked_boxes_of_the_one_vocabulary(
        client: Any, account: Any, api_of: ApiClient) -> None:
    """Bug caught: filter boxes that are a copy of the event list (a type the API takes but
    the page cannot tick, or the reverse), a stored filter that differs from the ticked boxes,
    or an empty filter silently taken as "all events"."""
    from chalicelib.webhook_models import EVENT_TYPES
    owner = signed_in(client, account.account_id, "owner@example.com")

    def boxes(text: str) -> dict[str, bool]:
        found = re.findall(r'<input id="[^"]+" type="checkbox" name="event_types" '
                           r'value="([^"]+)"( checked)?>', text)
        return {value: bool(checked) for value, checked in found}

    offered = boxes(owner.get("/dashboard/webhooks").text)
    assert set(offered) == {"*", *EVENT_TYPES} and len(offered) == len(EVENT_TYPES) + 1
    assert [t for t, on in offered.items() if on] == ["*"], "a new endpoint: all events"

    def stored(hook_id: str) -> list[str]:
        got = api_of.get(f"/v1/webhooks/{hook_id}", key=account.api_key)
        return list(got.json["event_types"])

    made = owner.post("/dashboard/webhooks", {"url": "http://127.0.0.1:9/hook",
                                              "event_types": ["letter.delivered"]})
    assert made.status == 200, made.text[:300]
    hook_id = re.search(r'/dashboard/webhooks/(wh_\w+)', made.text).group(1)  # type: ignore[union-attr]
    assert stored(hook_id) == ["letter.delivered"]
    shown = boxes(owner.get(f"/dashboard/webhooks/{hook_id}").text)
    assert [t for t, on in shown.items() if on] == ["letter.delivered"]

    update = f"/dashboard/webhooks/{hook_id}/update"
    assert owner.post(update, {"event_types": ["email.bounced", "contact.created"]}).status == 303
    assert stored(hook_id) == ["email.bounced", "contact.created"]
    empty = owner.post(update, {})
    assert empty.status == 422 and "tick at least one event type" in empty.text
    assert stored(hook_id) == ["email.bounced", "contact.created"], "unchanged"
    assert owner.post(update, {"event_types": ["*", "email.sent"]}).status == 303
    assert stored(hook_id) == ["*"]
    unknown = owner.post("/dashboard/webhooks", {"url": "http://127.0.0.1:9/hook",
                                                 "event_types": ["email.nope"]})
    assert unknown.status == 422 and "email.nope" in unknown.text


def test_settings_retention_is_checked_by_the_api_rule(client: Any, account: Any) -> None:
    """Bug caught: a page accepting a retention the API refuses (0 or 366 days)."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    for bad in ("0", "366", "ten"):
        assert owner.post("/dashboard/settings/retention",
                          {"recipient_data_days": bad}).status == 422
    assert owner.post("/dashboard/settings/retention",
                      {"recipient_data_days": "45"}).status == 303
    assert "kept 45 days" in owner.get("/dashboard/settings").text


def test_forms_without_the_csrf_token_are_refused(client: Any, account: Any) -> None:
    """Bug caught: a capability form accepted on the session cookie alone."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    for path, form in [("/dashboard/keys", {"scope": "full"}),
                       ("/dashboard/suppressions", {"email": "a@example.net"}),
                       ("/dashboard/settings/close", {"confirm": account.account_id})]:
        refused = owner.post(path, form, with_csrf=False)
        assert refused.status == 403 and "csrf_failed" in refused.text


def test_team_invite_and_closure(client: Any, account: Any) -> None:
    """Bug caught: an admin inviting an owner, or closure without typing the account id."""
    admin = signed_in(client, account.account_id, "admin@example.com", role="admin")
    assert admin.post("/dashboard/team", {"email": "o@example.com", "role": "owner"}).status == 403
    invited = admin.post("/dashboard/team", {"email": "new@example.com", "role": "member"})
    assert invited.status == 200 and "/dashboard/invite?token=" in invited.text
    assert "new@example.com" in admin.get("/dashboard/team").text
    assert admin.post("/dashboard/settings/close", {"confirm": "nope"}).status == 422
    closed = admin.post("/dashboard/settings/close", {"confirm": account.account_id})
    assert closed.status == 303 and "signin" in closed.location
    from chalicelib import wiring
    assert wiring.container().accounts.describe(account.account_id).status == "closed"


def test_role_changes_follow_the_role_rules(client: Any, account: Any, other_account: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug caught: a member or admin raising anyone to owner, an admin demoting an owner, a
    user changing their own role, another account's user reachable, or the last owner
    demoted by two owners demoting each other at once."""
    from chalicelib import wiring
    from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationFailed
    users = wiring.container().dashboard.users
    owner, _ = make_user(account.account_id, "owner@example.com", role="owner")
    admin, _ = make_user(account.account_id, "admin@example.com", role="admin")
    member, _ = make_user(account.account_id, "member@example.com", role="member")
    outsider, _ = make_user(other_account.account_id, "out@example.com", role="member")

    def role_of(user: Any) -> str:
        return str(users.get(user.account_id, user.user_id).role)

    with pytest.raises(Forbidden):
        users.change_role(member, admin.user_id, "member")  # members change nothing
    with pytest.raises(Forbidden):
        users.change_role(admin, member.user_id, "owner")  # only an owner makes an owner
    with pytest.raises(Forbidden):
        users.change_role(admin, owner.user_id, "admin")  # ... or demotes one
    with pytest.raises(ValidationFailed):
        users.change_role(admin, admin.user_id, "member")  # never one's own role
    with pytest.raises(ValidationFailed):
        users.change_role(owner, owner.user_id, "admin")  # an owner hands over instead
    with pytest.raises(ValidationFailed):
        users.change_role(owner, member.user_id, "superuser")
    with pytest.raises(NotFound):
        users.change_role(owner, outsider.user_id, "admin")
    assert (role_of(owner), role_of(admin), role_of(member), role_of(outsider)) == (
        "owner", "admin", "member", "member"), "nothing changed by a refused request"

    assert users.change_role(admin, member.user_id, "admin").role == "admin"
    assert users.change_role(admin, member.user_id, "member").role == "member"
    second = users.change_role(owner, admin.user_id, "owner")
    assert second.role == "owner" and sorted(users.owners(account.account_id)) == sorted(
        [owner.user_id, admin.user_id])
    # Two owners demote each other at once: both read two owners; the second write finds
    # its actor no longer an owner (the store's transaction), so one owner remains.
    users.change_role(owner, second.user_id, "admin")
    with monkeypatch.context() as interleaved:
        interleaved.setattr(users, "owners", lambda _: [owner.user_id, second.user_id])
        with pytest.raises(Conflict):
            users.change_role(second, owner.user_id, "admin")  # ``second`` as read: an owner
    with pytest.raises(Conflict):  # read after the first write: the last-owner rule
        users.change_role(second, owner.user_id, "admin")
    assert users.owners(account.account_id) == [owner.user_id]

    page = signed_in(client, account.account_id, "admin2@example.com", role="admin")
    team = page.get("/dashboard/team").text
    assert f'action="/dashboard/team/{member.user_id}/role"' in team
    assert f'action="/dashboard/team/{owner.user_id}/role"' not in team, "admins see no control"
    assert '<option value="owner"' not in team.split('<h2>Invite a user</h2>')[0]
    changed = page.post(f"/dashboard/team/{member.user_id}/role", {"role": "admin"})
    assert changed.status == 303 and role_of(member) == "admin"
    assert "Role changed" in page.get(changed.location).text
    refused = page.post(f"/dashboard/team/{owner.user_id}/role", {"role": "member"})
    assert refused.status == 403 and role_of(owner) == "owner"
    assert page.post(f"/dashboard/team/{outsider.user_id}/role", {"role": "admin"}).status == 404
    assert page.post(f"/dashboard/team/{member.user_id}/role", {"role": "root"}).status == 422
    assert page.post(f"/dashboard/team/{member.user_id}/role", {"role": "member"},
                     with_csrf=False).status == 403
    assert role_of(member) == "admin"


def test_bad_query_values_are_4xx_pages_not_500(client: Any, account: Any) -> None:
    """Bug caught: a tampered cursor, page number or period answered with a 500."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    for path in ("/dashboard/emails?cursor=garbage", "/dashboard/suppressions?cursor=x",
                 "/dashboard/templates?cursor=%%%", "/dashboard/domains?cursor=e30",
                 "/dashboard/letters?cursor=zz", "/dashboard/keys?page=0",
                 "/dashboard/team?page=two", "/dashboard?days=8", "/dashboard?days=x",
                 "/dashboard/emails/em_nope", "/dashboard/letters/ltr_nope",
                 "/dashboard/webhooks/wh_nope", "/dashboard/templates/tpl_nope"):
        status = owner.get(path).status
        assert 400 <= status < 500, (path, status)


def test_a_letter_shows_its_carrier_timeline_and_address_while_retained(
        client: Any, account: Any, api_of: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug caught: a letter page without its carrier and timeline, or one that invents an
    address after it was purged."""
    from tests.integration.test_letters import FROM, PDF, TO
    created = api_of.post("/v1/letters", {"to": TO, "from": FROM, "pdf": PDF,
                                          "description": "Renewal notice"},
                          key=account.api_key)
    assert created.status_code == 201, created.json
    letter_id = created.json["id"]
    owner = signed_in(client, account.account_id, "owner@example.com")
    assert "Renewal notice" in owner.get("/dashboard/letters").text
    detail = owner.get(f"/dashboard/letters/{letter_id}").text
    assert "sandbox" in detail and "1600 PENNSYLVANIA AVE NW" in detail
    assert "created" in detail
    from chalicelib import wiring
    service = wiring.container().letters
    real = service.get
    monkeypatch.setattr(service, "get", lambda principal, letter_id: real(
        principal, letter_id).model_copy(update={"to": None}))  # as after the purge
    purged = owner.get(f"/dashboard/letters/{letter_id}").text
    assert "No longer kept" in purged and "PENNSYLVANIA" not in purged


def test_the_overview_warns_before_a_pause(client: Any, account: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug caught: rates shown without the thresholds, or no warning as they near them."""
    from datetime import date

    from chalicelib import wiring
    from chalicelib.log_models import StatsDay
    today = date.today().isoformat()
    logs = wiring.container().logs
    monkeypatch.setattr(logs, "daily_counts", lambda account_id, first, last: [
        StatsDay(date=today, counts={"sent": 1000, "delivered": 950, "bounced": 45,
                                     "complained": 0})])
    owner = signed_in(client, account.account_id, "owner@example.com")
    page = owner.get("/dashboard?days=7").text
    assert "Warning: the bounce rate is 4.50 %; sending pauses at 5 %" in page
    assert "complaint rate is" not in page
    assert "bounced: 45 in all" in page and "sent: 1000 in all" in page
    from chalicelib.costs import per_email_cost
    per_1000 = per_email_cost() * 1000
    assert 0.10 <= per_1000 <= 0.13, "the model: SES's $0.10 a thousand plus a little"
    assert f"about ${per_1000:.4f} per 1,000 emails" in page, "the cost model's price"


def test_a_domain_added_on_the_page_lists_its_records_and_reports_them_missing(
        client: Any, account: Any) -> None:
    """Bug caught: an added domain without its DNS records, or a verify without per-record
    results; tracking and rotation not reaching the service."""
    owner = signed_in(client, account.account_id, "owner@example.com")
    added = owner.post("/dashboard/domains", {"name": "news.example.org", "dkim": "rsa2048"})
    assert added.status == 303 and "/dashboard/domains/" in added.location
    path = added.location.split("?")[0].removeprefix("http://127.0.0.1:8000")
    detail = owner.get(path).text
    assert "._domainkey.news.example.org" in detail and "v=DKIM1" in detail
    checked = owner.post(f"{path}/verify", {})
    assert checked.status == 200 and checked.text.count("✗ Missing") >= 3
    assert owner.post(f"{path}/tracking", {"track_opens": "on"}).status == 303
    page = owner.get(path).text
    assert re.search(r'id="t-opens" name="track_opens" type="checkbox" checked', page)
    assert owner.post(f"{path}/rotate", {}).status == 303
    assert "(pending)" in owner.get(path).text
    assert owner.post(f"{path}/rotate", {}).status == 409, "one rotation at a time"
    assert owner.post("/dashboard/domains", {"name": "not a domain"}).status == 422


def test_a_long_email_timeline_pages_on_its_detail_page(client: Any, account: Any,
                                                        api_of: ApiClient) -> None:
    """Bug caught: the email page showing only the timeline's first page, with no way to
    the rest of its events (the API pages them since issue 14 item 19)."""
    from html import unescape

    from tests.integration.test_email_timeline import _sent_with_opens
    email_id = _sent_with_opens(api_of, account, 130)
    owner = signed_in(client, account.account_id, "owner@example.com")
    first = owner.get(f"/dashboard/emails/{email_id}")
    assert first.status == 200 and "Next page" in first.text
    seen = first.text.count("<strong class=\"status\">")
    cursor = re.search(r'cursor=([^"&]+)"', first.text)
    while cursor:
        page = owner.get(f"/dashboard/emails/{email_id}?cursor={unescape(cursor.group(1))}")
        assert page.status == 200
        seen += page.text.count("<strong class=\"status\">")
        cursor = re.search(r'cursor=([^"&]+)"', page.text)
    assert seen == 131  # queued and 130 opens (the worker has not run)

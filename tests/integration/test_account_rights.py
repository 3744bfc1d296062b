"""Per-account retention, account export and closure: enforced by the purge with a frozen
clock, never by a table scan."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import wiring
from chalicelib.clock import utcnow
from tests.flows import bucket_objects, dump, scan

DAY = 86400


def _send(api, account, **fields) -> str:
    body = {"from": f"hi@{account.domain}", "to": "reader@example.net", "subject": "s",
            "text": "t", **fields}
    return api.post("/v1/emails", body, key=account.api_key).json["id"]


def _events(stack, email_id: str) -> list[dict]:
    return [i for i in scan(stack, "LETTERBOX_TABLE_NAME")
            if i["sk"]["S"].startswith(f"EM#{email_id}#EVT#")]


def _purge(now):
    return wiring.container().purger().run(now, first_run_days=400)


@pytest.mark.parametrize("days", [0, 366, "7", None])
def test_retention_outside_its_range_is_refused_by_name(api, account, days) -> None:
    answer = api.request("PATCH", "/v1/account", {"retention": {"recipient_data_days": days}},
                         key=account.api_key)
    assert answer.status_code == 422
    assert answer.json["error"]["details"][0]["field"] == "retention.recipient_data_days"


def test_shorter_retention_applies_to_new_events_at_once_and_old_ones_by_purge(
        api, account, drain, stack) -> None:
    old = _send(api, account)
    drain()
    shown = api.request("PATCH", "/v1/account", {"retention": {"recipient_data_days": 7}},
                        key=account.api_key)
    assert shown.status_code == 200 and shown.json["retention"]["recipient_data_days"] == 7
    assert api.get("/v1/account", key=account.api_key).json["retention"] == {
        "recipient_data_days": 7, "message_log_days": 90, "default_recipient_data_days": 90}
    new = _send(api, account)
    (event,) = _events(stack, new)
    assert int(event["expires_at"]["N"]) == int(event["clock_at"]["N"]) + 7 * DAY

    now = utcnow()
    early = _purge(now)  # other warm Lambdas may still write with the old period
    assert early.events_restamped == 0 and len(_events(stack, old)) == 2
    report = _purge(now + timedelta(minutes=2))
    assert report.events_restamped == 2, "both old events now expire after 7 days"
    for item in _events(stack, old):
        assert int(item["expires_at"]["N"]) == int(item["clock_at"]["N"]) + 7 * DAY
    assert _purge(now + timedelta(minutes=3)).events_restamped == 0, "the job is done"

    _purge(now + timedelta(days=8))
    assert _events(stack, old) == [] and _events(stack, new) == []
    assert api.get(f"/v1/emails/{old}", key=account.api_key).status_code == 200, (
        "the message log keeps its own 90 days")


def test_longer_retention_reaches_stored_events_and_a_past_period_deletes_them(
        api, account, drain, stack) -> None:
    email_id = _send(api, account)
    drain()
    api.request("PATCH", "/v1/account", {"retention": {"recipient_data_days": 365}},
                key=account.api_key)
    _purge(utcnow() + timedelta(minutes=2))
    for item in _events(stack, email_id):
        assert int(item["expires_at"]["N"]) == int(item["clock_at"]["N"]) + 365 * DAY
    api.request("PATCH", "/v1/account", {"retention": {"recipient_data_days": 1}},
                key=account.api_key)
    report = _purge(utcnow() + timedelta(days=2))
    assert report.items_deleted >= 2 and _events(stack, email_id) == []


def test_a_closed_account_is_erased_90_days_later_everywhere(api, account, other_account,
                                                              drain, stack) -> None:
    _send(api, account, scheduled_at=(utcnow() + timedelta(days=3)).isoformat())
    api.post("/v1/templates", {"name": "t", "subject": "s", "text": "x"}, key=account.api_key)
    closed = api.request("DELETE", "/v1/account", key=account.api_key)
    assert closed.status_code == 200 and closed.json["erased"] is False
    assert api.get("/v1/account", key=account.api_key).status_code in (401, 403)
    now = utcnow()
    _purge(now + timedelta(days=89))
    assert account.account_id in dump(scan(stack, "LETTERBOX_TABLE_NAME"))
    report = _purge(now + timedelta(days=90, minutes=1))
    assert report.accounts_erased == 1 and report.finished
    assert account.account_id not in dump(scan(stack, "LETTERBOX_TABLE_NAME"))
    assert not [k for k in bucket_objects(stack) if account.account_id in k]
    again = api.post("/v1/domains", {"name": account.domain}, key=other_account.api_key)
    assert again.status_code == 201, "the domain name was released"


def test_erase_now_deletes_the_account_within_the_call(api, account, drain, stack) -> None:
    _send(api, account)
    drain()
    erased = api.request("DELETE", "/v1/account?erase=now", key=account.api_key)
    assert erased.status_code == 200 and erased.json["erased"] is True
    assert account.account_id not in dump(scan(stack, "LETTERBOX_TABLE_NAME"))
    assert api.request("DELETE", "/v1/account?erase=later",
                       key=account.api_key).status_code in (401, 403)


def test_bad_erase_value_is_named(api, account) -> None:
    answer = api.request("DELETE", "/v1/account?erase=soon", key=account.api_key)
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] == "erase"


def test_account_export_pages_through_everything_without_secrets(api, account, drain) -> None:
    for _ in range(3):
        _send(api, account)
    drain()
    api.post("/v1/webhooks", {"url": "https://hooks.example.com/x"}, key=account.api_key)
    items, cursor = [], None
    while True:
        page = api.get("/v1/account/export?limit=4" + (f"&cursor={cursor}" if cursor else ""),
                       key=account.api_key).json
        items.extend(page["items"])
        assert page["account"]["id"] == account.account_id
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    kinds = {i["type"] for i in items}
    assert {"api_key", "domain", "message", "event", "stats", "webhook"} <= kinds
    assert sum(i["type"] == "message" for i in items) == 3
    text = dump(items)
    assert "ciphertext" not in text and "secret" not in text and "private" not in text


def test_old_objects_are_purged_from_s3_by_their_class(stack) -> None:
    content = wiring.container().content
    content.put("offload/acct_x/em_1.json", b"{}")
    content.put("scheduled/acct_x/em_2.json", b"{}")
    report = _purge(utcnow() + timedelta(days=2))
    assert report.objects_deleted == 1
    assert list(bucket_objects(stack)) == ["scheduled/acct_x/em_2.json"]
    _purge(utcnow() + timedelta(days=32))
    assert bucket_objects(stack) == {}

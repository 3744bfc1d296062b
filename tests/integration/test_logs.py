"""GET /v1/emails, /v1/events and /v1/stats: filters, pagination, aggregates without addresses."""

from __future__ import annotations

import json

import pytest

from letterbox.local.simulator import LocalSnsSigner, SimulatingSender


def _send(api, account, to: str, **fields) -> str:
    return api.post("/v1/emails", {"from": f"hi@{account.domain}", "to": to, "subject": "s",
                                   "text": "t", **fields}, key=account.api_key).json["id"]


def test_email_log_filters_and_pages(api, account, other_account, drain) -> None:
    first = _send(api, account, "a@example.net", tags=[{"name": "kind", "value": "receipt"}])
    second = _send(api, account, "b@example.net")
    drain()
    third = _send(api, account, "a@example.net")
    _send(api, other_account, "a@example.net")
    everything = api.get("/v1/emails", key=account.api_key).json["data"]
    assert [e["id"] for e in everything] == [third, second, first], "newest first, own only"
    by_recipient = api.get("/v1/emails?recipient=A@Example.net", key=account.api_key).json
    assert {e["id"] for e in by_recipient["data"]} == {first, third}
    by_status = api.get("/v1/emails?status=queued", key=account.api_key).json
    assert [e["id"] for e in by_status["data"]] == [third]
    by_tag = api.get("/v1/emails?tag=kind:receipt", key=account.api_key).json
    assert [e["id"] for e in by_tag["data"]] == [first]
    page = api.get("/v1/emails?limit=2", key=account.api_key).json
    assert len(page["data"]) == 2 and page["has_more"]
    rest = api.get(f"/v1/emails?limit=2&cursor={page['next_cursor']}", key=account.api_key).json
    assert [e["id"] for e in rest["data"]] == [first]
    stolen = api.get(f"/v1/emails?cursor={page['next_cursor']}", key=other_account.api_key)
    assert stolen.status_code == 422
    future = api.get("/v1/emails?from=2999-01-01T00:00:00Z", key=account.api_key).json
    assert future["data"] == []
    assert api.get("/v1/emails?from=yesterday", key=account.api_key).status_code == 422


def test_event_stream_filters_by_type_and_email(api, account, drain) -> None:
    email_id = _send(api, account, "a@example.net")
    drain()
    events = api.get("/v1/events", key=account.api_key).json["data"]
    assert [e["type"] for e in events] == ["sent", "queued"]
    sent = api.get("/v1/events?type=sent", key=account.api_key).json["data"]
    assert [e["email_id"] for e in sent] == [email_id]
    only = api.get(f"/v1/events?email_id={email_id}", key=account.api_key).json["data"]
    assert len(only) == 2


@pytest.fixture
def simulate(api, account, drain, stack, tmp_path, monkeypatch):
    """Send to simulator addresses and feed the events back through /webhooks/ses."""
    from chalicelib import wiring

    def run(recipients: list[str], **settings: str) -> None:
        monkeypatch.setenv("LETTERBOX_SNS_LOCAL_CERT_FILE", str(tmp_path / "sns.pem"))
        for name, value in settings.items():
            monkeypatch.setenv(f"LETTERBOX_{name.upper()}", value)
        wiring.reset()
        signer = LocalSnsSigner(tmp_path / "sns.pem")
        posted: list[dict] = []
        wiring.use(email_sender=SimulatingSender(wiring.container().email_sender, signer,
                                                 stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"],
                                                 posted.append))
        for to in recipients:
            _send(api, account, to)
        drain()
        for envelope in posted:
            api.post("/webhooks/ses", raw=json.dumps(envelope),
                     headers={"Content-Type": "text/plain"})
    return run


MIX = ["success@simulator.amazonses.com"] * 3 + ["bounce@simulator.amazonses.com"]


def test_stats_count_per_day_and_hold_no_addresses(api, account, stack, simulate) -> None:
    simulate(MIX)
    stats = api.get("/v1/stats", key=account.api_key).json
    assert stats["totals"] == {**stats["totals"], "queued": 4, "sent": 4, "delivered": 3,
                               "bounced": 1}
    assert stats["rates"]["bounce_rate"] == 0.25 and stats["rates"]["delivery_rate"] == 0.75
    assert stats["rates"]["open_rate"] == 0.0
    assert len(stats["days"]) == 1
    assert "clock_at" not in stats["totals"], "bookkeeping is never reported as a count"
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    shards = [i for i in items if i["pk"]["S"].startswith(f"STATS#{account.account_id}#")]
    assert shards, "the day's counts live in the account's counter shards"
    for day in shards:
        assert "@" not in json.dumps(day) and day["retention_class"]["S"] == "daily_stats"
    assert api.get("/v1/stats?from=2026-01-10&to=2026-01-01",
                   key=account.api_key).status_code == 422


def test_high_bounce_rate_pauses_sending_until_an_operator_resumes(api, account,
                                                                   simulate) -> None:
    from chalicelib import wiring
    simulate(MIX, protection_min_volume="4")
    refused = api.post("/v1/emails", {"from": f"hi@{account.domain}", "to": "a@example.net",
                                      "subject": "s", "text": "t"}, key=account.api_key)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "account_paused"
    (paused,) = api.get("/v1/events?type=account.paused", key=account.api_key).json["data"]
    assert paused["data"]["bounce_rate"] == 0.25 and paused["email_id"] is None
    wiring.container().accounts.resume_sending(account.account_id)
    assert _send(api, account, "a@example.net").startswith("em_")


def test_low_volume_never_pauses(api, account, simulate) -> None:
    simulate(["bounce@simulator.amazonses.com"])
    assert _send(api, account, "a@example.net").startswith("em_"), "1 send is no signal"

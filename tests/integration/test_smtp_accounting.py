"""SMTP mail obeys the account's pause and its events reach the account (issue 14 item 3)."""

from __future__ import annotations

import json

from chalicelib import wiring
from tests.integration.test_ses_events import _fixture, _post, signer  # noqa: F401
from tests.integration.test_smtp import _policy


def _smtp_fixture(name: str, account, credential_id: str) -> dict:
    """An SES event for mail sent over SMTP: no letterbox_* tags, SES's own tags only."""
    event = _fixture(name)
    tags = event["mail"]["tags"]
    for ours in ("letterbox_id", "letterbox_account"):
        tags.pop(ours)
    tags["ses:caller-identity"] = [f"lbx-{credential_id}"]
    tags["ses:from-domain"] = [account.domain]
    event["mail"]["source"] = f"app@{account.domain}"
    event["mail"]["headers"] = [h for h in event["mail"].get("headers", [])
                                if h["name"].lower() != "x-letterbox-id"]
    return event


def _pause(account) -> None:
    from chalicelib.clock import utcnow
    from chalicelib.vocabulary import Event
    container = wiring.container()
    now = utcnow()
    container.account_store.pause_account(account.account_id, "test",
                                          Event.account_paused(now, reason="test").item(), now)
    container.smtp.suspend(account.account_id)


def test_a_paused_account_cannot_send_over_smtp_until_resumed(api, account, stack) -> None:
    """Bug caught: protection pausing the API while the account's SMTP credentials keep
    sending (SES only sees IAM, never our pause flag)."""
    created = api.post("/v1/smtp-credentials", {"name": "app"}, key=account.api_key).json
    user = f"lbx-{created['id']}"
    _pause(account)
    (statement,) = _policy(stack, user)["Statement"]
    assert statement["Effect"] == "Deny"
    later = api.post("/v1/smtp-credentials", {"name": "new"}, key=account.api_key)
    if later.status_code == 201:  # a credential made while paused is denied from the start
        (fresh,) = _policy(stack, f"lbx-{later.json['id']}")["Statement"]
        assert fresh["Effect"] == "Deny"
    wiring.container().accounts.resume_sending(account.account_id)
    (statement,) = _policy(stack, user)["Statement"]
    assert statement["Effect"] == "Allow"


def test_protection_pausing_an_account_suspends_its_smtp_users(api, account, stack) -> None:
    """Bug caught: the protection pause (not an operator) leaving SMTP users untouched."""
    from chalicelib.clock import utcnow
    created = api.post("/v1/smtp-credentials", {"name": "app"}, key=account.api_key).json
    container = wiring.container()
    protection = container.provider_events._after[0]
    container.message_store.count_once(account.account_id, "seed",
                                       {"sent": 1000, "recipients_sent": 1000,
                                        "bounced_permanent": 400}, utcnow())
    protection(account.account_id, {"type": "bounced"}, utcnow())
    (statement,) = _policy(stack, f"lbx-{created['id']}")["Statement"]
    assert statement["Effect"] == "Deny"


def test_smtp_bounces_suppress_and_count_for_the_account(api, account, stack,
                                                         signer) -> None:  # noqa: F811
    """Bug caught: SMTP mail's bounces and complaints dropped (no letterbox tags), so the
    address is never suppressed and protection never sees the account's SMTP traffic."""
    created = api.post("/v1/smtp-credentials", {"name": "app"}, key=account.api_key).json
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    sent = _post(api, signer.envelope(topic, _smtp_fixture("send", account, created["id"])))
    bounce = signer.envelope(topic, _smtp_fixture("bounce_permanent", account, created["id"]))
    assert sent.json["recorded"] == 1 and _post(api, bounce).json["recorded"] == 1
    assert _post(api, bounce).json["recorded"] == 0, "SNS redelivery counted once"
    listed = api.get("/v1/suppressions", key=account.api_key).json["data"]
    assert [s["reason"] for s in listed] == ["bounce"]
    totals = api.get("/v1/stats", key=account.api_key).json["totals"]
    assert (totals["sent"], totals["bounced"], totals["bounced_permanent"]) == (1, 1, 1)


def test_smtp_events_from_strangers_are_not_attributed(api, account, other_account, stack,
                                                       signer) -> None:  # noqa: F811
    """Bug caught: a mail from some other principal in the AWS account (not one of our SMTP
    users) or from a domain the account does not hold being charged to an account."""
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    stranger = _smtp_fixture("bounce_permanent", account, "smtp_x")
    stranger["mail"]["tags"]["ses:caller-identity"] = ["someone-else"]
    assert _post(api, signer.envelope(topic, stranger)).json["recorded"] == 0
    foreign = _smtp_fixture("bounce_permanent", account, "smtp_x")
    foreign["mail"]["tags"]["ses:from-domain"] = ["not-registered.example"]
    assert _post(api, signer.envelope(topic, foreign)).json["recorded"] == 0
    for who in (account, other_account):
        assert api.get("/v1/suppressions", key=who.api_key).json["data"] == []
    assert json.dumps(stranger)  # the fixture stayed valid JSON


def test_smtp_sends_spend_the_daily_quota_and_are_refused_past_it(
        api, account, stack, signer, monkeypatch) -> None:  # noqa: F811
    """Bug caught (issue 14 item 3): SMTP mail sent past the account's daily quota (and API
    sends never seeing what SMTP spent), because SES sends it without asking Letterbox."""
    from datetime import timedelta

    from chalicelib.clock import utcnow
    monkeypatch.setenv("LETTERBOX_DAILY_QUOTA", "2")
    wiring.reset()
    created = api.post("/v1/smtp-credentials", {"name": "app"}, key=account.api_key).json
    user = f"lbx-{created['id']}"
    topic = stack.env["LETTERBOX_SES_EVENTS_TOPIC_ARN"]
    sent = signer.envelope(topic, _smtp_fixture("send", account, created["id"]))
    assert _post(api, sent).json["recorded"] == 1
    assert _post(api, sent).json["recorded"] == 0, "an SNS redelivery is not charged twice"
    (statement,) = _policy(stack, user)["Statement"]
    assert statement["Effect"] == "Allow", "one of two sends: still within the quota"

    second = signer.envelope(topic, _smtp_fixture("send", account, created["id"]))
    assert _post(api, second).json["recorded"] == 1
    (statement,) = _policy(stack, user)["Statement"]
    assert statement["Effect"] == "Deny", "quota spent: SES refuses the next SMTP send"
    over = api.post("/v1/emails", {"from": f"hi@{account.domain}", "to": "a@example.org",
                                   "subject": "s", "text": "t"}, key=account.api_key)
    assert over.status_code == 429, "API sends see the quota SMTP spent"
    later = api.post("/v1/smtp-credentials", {"name": "new"}, key=account.api_key).json
    (fresh,) = _policy(stack, f"lbx-{later['id']}")["Statement"]
    assert fresh["Effect"] == "Deny", "a credential made today is refused too"

    smtp = wiring.container().smtp
    assert smtp.restore_after_quota(utcnow()) == 0, "not before the next UTC day"
    assert smtp.restore_after_quota(utcnow() + timedelta(days=1)) == 1
    (statement,) = _policy(stack, user)["Statement"]
    assert statement["Effect"] == "Allow"

"""`make dev`'s stack driven over HTTP, as a developer (or another tool) would."""

from __future__ import annotations

import json
import signal
import socket
import time
from typing import Any

import pytest
import requests

from tests.stack import DevStack


def test_dev_json_honours_the_contract(local: DevStack) -> None:
    assert {"api_url", "resend_api_url", "api_key", "domain", "aws_endpoint_url", "region",
            "dashboard_url", "dashboard_email", "dashboard_password"} <= set(local.dev)
    assert local.dev["resend_api_url"] == local.dev["api_url"] + "/resend"
    assert local.dev["dashboard_url"] == f"{local.dev['api_url']}/dashboard"
    assert local.dev["aws_endpoint_url"].startswith("http://127.0.0.1:")


def test_printed_curl_flow_reaches_sent_with_outbox_copy(local: DevStack) -> None:
    body = {"from": f"Letterbox <hello@{local.dev['domain']}>",
            "to": "success@simulator.amazonses.com", "subject": "Hello", "html": "<p>Hi</p>"}
    accepted = requests.post(local.url("/v1/emails"), json=body, headers=local.auth(), timeout=10)
    assert accepted.status_code == 202, accepted.text
    email_id = accepted.json()["id"]
    deadline, status = time.monotonic() + 20, None
    while time.monotonic() < deadline and status != "sent":
        status = requests.get(local.url(f"/v1/emails/{email_id}"), headers=local.auth(),
                              timeout=10).json()["status"]
        time.sleep(0.2)
    assert status == "sent"
    eml = local.state / "outbox" / f"{email_id}.eml"
    assert eml.exists() and b"Subject: Hello" in eml.read_bytes()

    # The outbox copy verifies against the DKIM record the domains API shows, and only it.
    import dkim
    domains = requests.get(local.url("/v1/domains"), headers=local.auth(), timeout=10).json()
    (domain,) = domains["data"]
    assert domain["status"] == "verified"
    published = {f"{r['name']}.".encode(): r["value"].encode() for r in domain["records"]
                 if r["purpose"] == "dkim"}
    assert dkim.verify(eml.read_bytes(), dnsfunc=lambda name, timeout=5: published.get(name))


def _wait_status(local: DevStack, email_id: str, wanted: str) -> str:
    deadline, status = time.monotonic() + 20, None
    while time.monotonic() < deadline and status != wanted:
        status = requests.get(local.url(f"/v1/emails/{email_id}"), headers=local.auth(),
                              timeout=10).json()["status"]
        time.sleep(0.2)
    return str(status)


def test_one_click_unsubscribe_then_marketing_is_suppressed(local: DevStack) -> None:
    import email
    from email import policy
    body = {"from": f"News <news@{local.dev['domain']}>", "to": "reader@example.org",
            "subject": "Autumn news", "html": "<p>News</p>", "stream": "marketing"}
    first = requests.post(local.url("/v1/emails"), json=body, headers=local.auth(),
                          timeout=10).json()
    assert _wait_status(local, first["id"], "sent") == "sent"
    raw = (local.state / "outbox" / f"{first['id']}.eml").read_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = parsed["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    assert url.startswith(local.dev["api_url"] + "/u/")
    clicked = requests.post(url, data="List-Unsubscribe=One-Click", timeout=10,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert clicked.status_code == 200
    second = requests.post(local.url("/v1/emails"), json=body, headers=local.auth(),
                           timeout=10).json()
    assert _wait_status(local, second["id"], "suppressed") == "suppressed"


def test_mailbox_simulator_events_arrive_through_the_webhook(local: DevStack) -> None:
    ids = {}
    for name in ("success", "bounce", "complaint", "suppressionlist"):
        ids[name] = requests.post(local.url("/v1/emails"), headers=local.auth(), timeout=10,
                                  json={"from": f"hi@{local.dev['domain']}",
                                        "to": f"{name}@simulator.amazonses.com",
                                        "subject": name, "text": "t"}).json()["id"]
    assert _wait_status(local, ids["success"], "delivered") == "delivered"
    assert _wait_status(local, ids["bounce"], "bounced") == "bounced"
    assert _wait_status(local, ids["complaint"], "complained") == "complained"
    assert _wait_status(local, ids["suppressionlist"], "bounced") == "bounced"
    suppressed = {s["email"] for s in requests.get(local.url("/v1/suppressions?limit=100"),
                                                   headers=local.auth(), timeout=10
                                                   ).json()["data"]}
    assert {"bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com"} <= suppressed


def test_retention_setting_and_a_recipients_export_and_erasure(local: DevStack) -> None:
    patched = requests.patch(local.url("/v1/account"), headers=local.auth(), timeout=10,
                             json={"retention": {"recipient_data_days": 30}})
    assert patched.status_code == 200 and patched.json()["retention"]["recipient_data_days"] == 30
    sent = requests.post(local.url("/v1/emails"), headers=local.auth(), timeout=10,
                         json={"from": f"hi@{local.dev['domain']}", "to": "forget.me@example.org",
                               "subject": "s", "text": "t"}).json()
    assert _wait_status(local, sent["id"], "sent") == "sent"
    exported = requests.post(local.url("/v1/privacy/export"), headers=local.auth(), timeout=10,
                             json={"email": "forget.me@example.org"}).json()
    assert [m["message_id"] for m in exported["messages"]] == [sent["id"]]
    started = requests.post(local.url("/v1/privacy/erasure"), headers=local.auth(), timeout=10,
                            json={"email": "forget.me@example.org"})
    assert started.status_code == 202
    deadline, erased = time.monotonic() + 30, started.json()
    while erased["state"] != "done" and time.monotonic() < deadline:  # the local pump runs it
        time.sleep(0.5)
        erased = requests.get(local.url(f"/v1/privacy/erasure/{erased['id']}"),
                              headers=local.auth(), timeout=10).json()
    assert erased["state"] == "done" and erased["messages_deleted"] == 1
    gone = requests.get(local.url(f"/v1/emails/{sent['id']}"), headers=local.auth(), timeout=10)
    assert gone.status_code == 404


def test_pixel_and_click_in_the_outbox_produce_opened_and_clicked(local: DevStack) -> None:
    import email
    import re
    from email import policy
    body = {"from": f"hi@{local.dev['domain']}", "to": "success@simulator.amazonses.com",
            "subject": "Tracked", "html": '<p><a href="https://example.com/x">x</a></p>',
            "track_opens": True, "track_clicks": True}
    email_id = requests.post(local.url("/v1/emails"), json=body, headers=local.auth(),
                             timeout=10).json()["id"]
    _wait_status(local, email_id, "delivered")
    raw = (local.state / "outbox" / f"{email_id}.eml").read_bytes()
    html = email.message_from_bytes(raw, policy=policy.default).get_body(("html",)).get_content()
    pixel = re.search(r'<img src="([^"]+/t/o/[^"]+)"', html).group(1)
    link = re.search(r'href="([^"]+/t/c/[^"]+)"', html).group(1)
    assert requests.get(pixel, headers={"Accept": "image/*"}, timeout=10).content[:3] == b"GIF"
    followed = requests.get(link, allow_redirects=False, timeout=10)
    assert followed.status_code == 302 and followed.headers["Location"] == "https://example.com/x"
    events = requests.get(local.url(f"/v1/emails/{email_id}"), headers=local.auth(),
                          timeout=10).json()["events"]
    assert {"opened", "clicked"} <= {e["type"] for e in events}


def test_a_local_webhook_receives_signed_events(local: DevStack) -> None:
    from standardwebhooks import Webhook

    from tests.integration.test_webhooks import Receiver
    receiver = Receiver()
    try:
        hook = requests.post(local.url("/v1/webhooks"), headers=local.auth(), timeout=10,
                             json={"url": receiver.url, "event_types": ["email.delivered"]}
                             ).json()
        email_id = requests.post(local.url("/v1/emails"), headers=local.auth(), timeout=10,
                                 json={"from": f"hi@{local.dev['domain']}",
                                       "to": "success@simulator.amazonses.com",
                                       "subject": "hooked", "text": "t"}).json()["id"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.2)
        ((headers, body),) = receiver.received
        payload = Webhook(hook["secret"]).verify(body, headers)
        assert payload["type"] == "email.delivered" and payload["data"]["email_id"] == email_id
    finally:
        receiver.server.shutdown()


LETTER_TO = {"name": "Jane Roe", "address_line1": "1600 Pennsylvania Ave NW",
             "city": "Washington", "state": "DC", "postal_code": "20500"}
LETTER_FROM = {"company": "Acme", "address_line1": "185 Berry St", "city": "San Francisco",
               "state": "CA", "postal_code": "94107"}


def _letter(local: DevStack, **to: str) -> dict[str, Any]:
    answer = requests.post(local.url("/v1/letters"), headers=local.auth(), timeout=10, json={
        "to": {**LETTER_TO, **to}, "from": LETTER_FROM, "html": "<h1>Hello by post</h1>"})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _letter_status(local: DevStack, letter_id: str, wanted: str) -> dict[str, Any]:
    deadline, letter = time.monotonic() + 40, {}
    while time.monotonic() < deadline and letter.get("status") != wanted:
        letter = requests.get(local.url(f"/v1/letters/{letter_id}"), headers=local.auth(),
                              timeout=10).json()
        time.sleep(0.3)
    return letter


def test_letters_through_the_sandbox_carrier(local: DevStack) -> None:
    from standardwebhooks import Webhook

    from tests.integration.test_webhooks import Receiver
    receiver = Receiver()
    try:
        hook = requests.post(local.url("/v1/webhooks"), headers=local.auth(), timeout=10,
                             json={"url": receiver.url, "event_types": ["letter.delivered"]}
                             ).json()
        delivered = _letter(local)
        returned = _letter(local, name="Return Me")
        cancelled = _letter(local)
        cancel = requests.post(local.url(f"/v1/letters/{cancelled['id']}/cancel"),
                               headers=local.auth(), timeout=10)
        assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"

        final = _letter_status(local, delivered["id"], "delivered")
        assert [e["status"] for e in final["events"]] == [
            "created", "submitted", "in_transit", "out_for_delivery", "delivered"]
        assert (local.state / "letters" / f"{delivered['id']}.html").exists()
        assert _letter_status(local, returned["id"], "returned_to_sender")["status"] == \
            "returned_to_sender"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.2)
        ((headers, body),) = receiver.received
        payload = Webhook(hook["secret"]).verify(body, headers)
        assert payload["type"] == "letter.delivered"
        assert payload["data"]["letter_id"] == delivered["id"]
        after = requests.get(local.url(f"/v1/letters/{cancelled['id']}"),
                             headers=local.auth(), timeout=10).json()
        assert after["status"] == "cancelled" and after["tracking_number"] is None
        assert not (local.state / "letters" / f"{cancelled['id']}.html").exists(), (
            "a letter cancelled in its window never reaches the carrier")
    finally:
        receiver.server.shutdown()


def test_unknown_route_and_wrong_method_answer_in_the_contract(local: DevStack) -> None:
    unknown = requests.get(local.url("/v1/nothing-here"), headers=local.auth(), timeout=10)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    wrong = requests.put(local.url("/v1/emails"), headers=local.auth(), timeout=10)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_cli_adds_a_local_domain_through_the_zone(local: DevStack) -> None:
    created = local.cli("account", "create", "Zone Co")
    added = local.cli("account", "add-domain", created["account_id"], "zone.example.net")
    assert added["status"] == "verified"
    zone = (local.state / "zone.txt").read_text()
    assert "._domainkey.zone.example.net. TXT" in zone
    sent = requests.post(local.url("/v1/emails"), timeout=10,
                         headers=local.auth(created["api_key"]),
                         json={"from": "a@zone.example.net", "to": "b@example.org",
                               "subject": "s", "text": "t"})
    assert sent.status_code == 202


def test_operator_cli_creates_and_revokes_keys(local: DevStack) -> None:
    created = local.cli("account", "create", "Acme")
    assert created["account_id"].startswith("acct_") and created["api_key"].startswith("lb_")
    probe = requests.get(local.url("/v1/emails/em_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                         headers=local.auth(created["api_key"]), timeout=10)
    assert probe.status_code == 404, "a working key reaches the route"
    extra = local.cli("key", "create", created["account_id"], "--scope", "sending")
    assert extra["scope"] == "sending"
    local.cli("key", "revoke", extra["key_id"])
    revoked = requests.post(local.url("/v1/emails"), json={}, timeout=10,
                            headers=local.auth(extra["api_key"]))
    assert revoked.status_code == 401
    listed = local.cli("key", "list", created["account_id"])["keys"]
    assert {k["key_id"] for k in listed} == {created["key_id"], extra["key_id"]}
    assert "secret_hash" not in json.dumps(listed)
    local.cli("account", "close", created["account_id"])
    time.sleep(1.2)  # the server trusted its cached key for LETTERBOX_AUTH_CACHE_SECONDS
    closed = requests.get(local.url("/v1/emails/em_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                          headers=local.auth(created["api_key"]), timeout=10)
    assert closed.status_code == 401


def test_32_concurrent_sends_for_one_account_are_all_accepted_sent_and_counted(
        local: DevStack) -> None:
    """Bug caught (issue 13): concurrent sends for one account contended on the account's
    per-day stats item in a transaction and answered 500; or a count was lost or doubled."""
    import threading
    from datetime import UTC, datetime
    created = local.cli("account", "create", "Concurrent")
    local.cli("account", "add-domain", created["account_id"], "load.example.net")
    auth = local.auth(created["api_key"])
    body = {"from": "hi@load.example.net", "to": "success@simulator.amazonses.com",
            "subject": "Load", "text": "Hello"}
    answers: list[requests.Response] = []
    start = threading.Barrier(32)

    def send() -> None:
        start.wait()  # all 32 at once, each on its own connection
        answers.append(requests.post(local.url("/v1/emails"), json=body, headers=auth,
                                     timeout=60))

    clients = [threading.Thread(target=send) for _ in range(32)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    assert sorted(a.status_code for a in answers) == [202] * 32, [a.text for a in answers
                                                                   if a.status_code != 202]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 32
    deadline, sent = time.monotonic() + 90, set()
    while time.monotonic() < deadline and sent != ids:
        for email_id in ids - sent:
            status = requests.get(local.url(f"/v1/emails/{email_id}"), headers=auth,
                                  timeout=10).json()["status"]
            if status in ("sent", "delivered"):
                sent.add(email_id)
        time.sleep(0.5)
    assert sent == ids, f"{len(sent)} of 32 sent"
    today = datetime.now(UTC).date().isoformat()
    deadline, totals = time.monotonic() + 10, {}
    while time.monotonic() < deadline:  # the count follows the status by one write
        totals = requests.get(local.url(f"/v1/stats?from={today}&to={today}"), headers=auth,
                              timeout=10).json()["totals"]
        if totals.get("sent") == 32:
            break
        time.sleep(0.3)
    assert totals.get("queued") == 32 and totals.get("sent") == 32, totals


def test_carrier_cli_gives_a_push_url_the_api_accepts(local: DevStack) -> None:
    assert local.cli("carrier", "list")["carriers"] == ["sandbox"]
    url = local.cli("carrier", "push-url", "sandbox")["url"]
    assert url.startswith(local.dev["api_url"] + "/webhooks/carriers/sandbox?token=")
    pushed = requests.post(url, json={"tracking_numbers": []}, timeout=10)
    assert pushed.status_code == 200 and pushed.json()["recorded"] == 0
    forged = requests.post(url[:-3] + "xyz", json={"tracking_numbers": []}, timeout=10)
    assert forged.status_code == 401


def test_ctrl_c_stops_everything(local: DevStack) -> None:
    moto_port = int(local.dev["aws_endpoint_url"].rsplit(":", 1)[1])
    local.process.send_signal(signal.SIGINT)
    assert local.process.wait(timeout=20) == 0
    for port in (moto_port, int(local.dev["api_url"].rsplit(":", 1)[1])):
        with socket.socket() as sock, pytest.raises(OSError):
            sock.settimeout(1)
            sock.connect(("127.0.0.1", port))

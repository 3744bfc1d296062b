"""Issue 18's scenario on `make dev`'s stack over HTTP (its own port and state folder): a
segment of five contacts (two subscribed, one unsubscribed, one pending double opt-in, one
suppressed) and the broadcasts sent to it."""

from __future__ import annotations

import email
import re
import time
from email import policy
from typing import Any
from urllib.parse import urlencode

import requests

from tests.stack import DevStack  # ``local``: this module's own stack (tests/e2e/conftest.py)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _call(dev: DevStack, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, dev.url(path), json=body, headers=dev.auth(),
                                timeout=10)
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json()


def _outbox(dev: DevStack) -> dict[str, list[Any]]:
    """Every message handed to SES so far, by recipient."""
    found: dict[str, list[Any]] = {}
    for path in sorted((dev.state / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        found.setdefault(str(message["To"]), []).append((path, message))
    return found


def _new_mail(dev: DevStack, before: dict[str, list[Any]], expected: int,
              settle: float = 3.0) -> dict[str, list[Any]]:
    """Messages sent since ``before``: waits for ``expected`` of them, then a little longer
    so that an extra one would be seen."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = {to: msgs[len(before.get(to, [])):] for to, msgs in _outbox(dev).items()}
        new = {to: msgs for to, msgs in new.items() if msgs}
        if sum(len(m) for m in new.values()) >= expected:
            break
        time.sleep(0.3)
    time.sleep(settle)
    new = {to: msgs[len(before.get(to, [])):] for to, msgs in _outbox(dev).items()}
    return {to: msgs for to, msgs in new.items() if msgs}


def _text(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def _broadcast(dev: DevStack, segment: str, topic: str) -> str:
    made = _call(dev, "POST", "/v1/broadcasts", {
        "from": f"News <news@{dev.dev['domain']}>", "segment_id": segment, "topic_id": topic,
        "subject": "News for {{ contact.first_name | default('you') }}",
        "html": "<p>Dear {{ contact.first_name | default('reader') }}, news.</p>",
        "text": "Dear {{ contact.first_name | default('reader') }}, news."})
    _call(dev, "POST", f"/v1/broadcasts/{made['id']}/send", {})
    return str(made["id"])


def test_five_contact_segment_scenario(local: DevStack) -> None:
    """Catches: a broadcast reaching unsubscribed, pending or suppressed contacts, a repeat
    send mailing anyone, a confirmed contact left out, a topic opt-out ignored."""
    import dkim
    domain = local.dev["domain"]
    topic = _call(local, "POST", "/v1/topics", {"name": "Monthly news"})["id"]
    segment = _call(local, "POST", "/v1/segments", {"name": "Five"})["id"]
    people = {"ann@example.org": {"first_name": "Ann"}, "bob@example.org": {"first_name": "Bob"},
              "uma@example.org": {"first_name": "Uma", "unsubscribed": True},
              "pia@example.org": {"first_name": "Pia",
                                  "double_opt_in": {"from": f"hello@{domain}"}},
              "sam@example.org": {"first_name": "Sam"}}
    before = _outbox(local)
    for address, fields in people.items():
        _call(local, "POST", "/v1/contacts", {"email": address, "segment_ids": [segment],
                                              **fields})
    _call(local, "POST", "/v1/suppressions", {"email": "sam@example.org"})
    confirmation = _new_mail(local, before, 1, settle=0.5)
    assert list(confirmation) == ["pia@example.org"], "only the pending contact is asked"

    # 1. The broadcast reaches exactly the two subscribed: personalized, own links, signed.
    before = _outbox(local)
    first = _broadcast(local, segment, topic)
    got = _new_mail(local, before, 2)
    assert sorted(got) == ["ann@example.org", "bob@example.org"]
    records = {f"{r['name']}.".encode(): r["value"].encode()
               for r in _call(local, "GET", "/v1/domains")["data"][0]["records"]
               if r["purpose"] == "dkim"}
    links = set()
    for address, [(path, message)] in got.items():
        name = people[address]["first_name"]
        assert message["Subject"] == f"News for {name}" and f"Dear {name}" in _text(message)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        links.add(message["List-Unsubscribe"])
        assert dkim.verify(path.read_bytes(), dnsfunc=lambda n, timeout=5: records.get(n))
        signed = re.search(r"(?:^|;)h=([^;]+)", re.sub(r"\s+", "", message["DKIM-Signature"]))
        assert "list-unsubscribe" in signed.group(1).lower().split(":")
    assert len(links) == 2, "each email has its own List-Unsubscribe"

    # 2. Sending the same broadcast again sends nobody anything.
    before = _outbox(local)
    again = requests.post(local.url(f"/v1/broadcasts/{first}/send"), json={},
                          headers=local.auth(), timeout=10)
    assert again.status_code == 409
    assert _new_mail(local, before, 0) == {}

    # 3. The pending contact confirms through its email's link and gets the next broadcast.
    (_, message), = confirmation["pia@example.org"]
    link = re.search(r"(http://127\.0\.0\.1:\d+/c/\S+)", _text(message)).group(1)
    assert requests.get(link, timeout=10).status_code == 200
    assert requests.post(link, data="confirm=yes", headers=FORM, timeout=10).status_code == 200
    before = _outbox(local)
    _broadcast(local, segment, topic)
    got = _new_mail(local, before, 3)
    assert sorted(got) == ["ann@example.org", "bob@example.org", "pia@example.org"]

    # 4. Ann leaves the topic on her preference page: the next broadcast on it skips her.
    (_, ann_mail), = got["ann@example.org"]
    page = ann_mail["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    shown = requests.get(page, timeout=10)
    assert shown.status_code == 200 and "Monthly news" in shown.text
    saved = requests.post(page, data=urlencode({"action": "save"}), headers=FORM, timeout=10)
    assert saved.status_code == 200
    before = _outbox(local)
    last = _broadcast(local, segment, topic)
    got = _new_mail(local, before, 2)
    assert sorted(got) == ["bob@example.org", "pia@example.org"]
    skipped = _call(local, "GET", f"/v1/broadcasts/{last}/recipients?status=skipped")["data"]
    assert "ann@example.org" in {r["email"] for r in skipped}

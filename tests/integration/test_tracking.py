"""Open and click tracking: instrumented before signing, sealed links, no open redirect."""

from __future__ import annotations

import email
import re
from email import policy

import dkim

from chalicelib import wiring
from chalicelib.tracking.opens_clicks import GIF

HTML = ('<html><body><p>Read <a href="https://example.com/a?x=1&amp;y=2">this</a> and '
        "<a href='http://example.org/b'>that</a>, or <a href=\"mailto:x@example.com\">mail</a>."
        "</p></body></html>")


def _send_tracked(api, account, drain, tmp_path, **fields) -> tuple[str, str]:
    body = {"from": f"hi@{account.domain}", "to": "reader@example.net", "subject": "News",
            "html": HTML, **fields}
    email_id = api.post("/v1/emails", body, key=account.api_key).json["id"]
    drain()
    raw = (tmp_path / "outbox" / f"{email_id}.eml").read_bytes()
    return email_id, raw.decode()


def _html(raw: str) -> str:
    parsed = email.message_from_string(raw, policy=policy.default)
    return parsed.get_body(("html",)).get_content()


def _zone_dns(tmp_path):
    records = {}
    for line in (tmp_path / "zone.txt").read_text().splitlines():
        name, kind, value = line.split(" ", 2)
        if kind == "TXT" and "_domainkey" in name:
            records[name.encode()] = "".join(re.findall(r'"([^"]*)"', value)).encode()
    return lambda name, timeout=5: records.get(name)


def test_links_and_pixel_are_added_before_signing(api, account, drain, tmp_path) -> None:
    _, raw = _send_tracked(api, account, drain, tmp_path, track_opens=True,
                                  track_clicks=True)
    html = _html(raw)
    clicks = re.findall(r'href=["\'](https://api\.letterbox\.example/t/c/[^"\']+)', html)
    assert len(clicks) == 2, "both web links go through the click endpoint"
    assert "mailto:x@example.com" in html and "https://example.com/a" not in html
    assert re.search(r'<img src="https://api\.letterbox\.example/t/o/[^"]+"', html)
    assert dkim.verify(raw.encode(), dnsfunc=_zone_dns(tmp_path)), "signed after rewriting"


def test_untracked_by_default(api, account, drain, tmp_path) -> None:
    _, raw = _send_tracked(api, account, drain, tmp_path)
    assert "/t/c/" not in raw and "/t/o/" not in raw


def test_domain_default_applies_and_message_flag_overrides(api, account, drain,
                                                           tmp_path) -> None:
    patched = api.request("PATCH", f"/v1/domains/{account.domain_id}",
                          {"track_opens": True, "track_clicks": True}, key=account.api_key)
    assert patched.status_code == 200 and patched.json["track_clicks"] is True
    wiring.container().keyring._cache.clear()
    _, raw = _send_tracked(api, account, drain, tmp_path)
    assert "/t/c/" in raw and "/t/o/" in raw
    _, raw = _send_tracked(api, account, drain, tmp_path, track_clicks=False)
    assert "/t/c/" not in raw and "/t/o/" in raw


def test_open_pixel_records_opened_and_flags_machine_opens(api, account, drain,
                                                           tmp_path) -> None:
    email_id, raw = _send_tracked(api, account, drain, tmp_path, track_opens=True)
    pixel = re.search(r'src="https://api\.letterbox\.example(/t/o/[^"]+)"', _html(raw)).group(1)
    person = api.get(pixel, headers={"Accept": "image/*",
                                     "User-Agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird"})
    assert person.status_code == 200 and person.body == GIF
    assert person.headers["content-type"] == "image/gif"
    assert "no-store" in person.headers["cache-control"]
    api.get(pixel, headers={"Accept": "image/*", "User-Agent": "Mozilla/5.0"})
    events = api.get(f"/v1/emails/{email_id}", key=account.api_key).json["events"]
    opens = [e for e in events if e["type"] == "opened"]
    assert sorted(o["data"]["machine_open"] for o in opens) == [False, True]
    assert all(o["recipient"] == "reader@example.net" for o in opens)
    stats_day = api.get(pixel + "x", headers={"Accept": "image/*"})
    assert stats_day.status_code == 200, "a bad token still gets the pixel, records nothing"


def test_click_redirects_only_to_the_sealed_url(api, account, drain, tmp_path, stack) -> None:
    email_id, raw = _send_tracked(api, account, drain, tmp_path, track_clicks=True)
    first = re.search(r'href="https://api\.letterbox\.example(/t/c/[^"]+)"', _html(raw)).group(1)
    response = api.get(first, headers={"X-Forwarded-For": "198.51.100.7"})
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/a?x=1&y=2"
    kid, _, sealed = first.removeprefix("/t/c/").rpartition("~")
    assert kid == "k0", "tokens name the root key that signed them"
    body, mac = sealed.split(".")
    forged = api.get(f"/t/c/{kid}~{body}.{mac[:-2]}AA")
    assert forged.status_code == 404 and "location" not in forged.headers
    import base64
    import json
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    evil = base64.urlsafe_b64encode(json.dumps({**payload, "u": "https://evil.example"},
                                               separators=(",", ":"), sort_keys=True).encode())
    assert api.get(f"/t/c/{kid}~{evil.decode().rstrip('=')}.{mac}").status_code == 404
    clicks = [e for e in api.get(f"/v1/emails/{email_id}", key=account.api_key).json["events"]
              if e["type"] == "clicked"]
    assert [c["data"]["url"] for c in clicks] == ["https://example.com/a?x=1&y=2"]
    items = stack.client("dynamodb").scan(TableName=stack.env["LETTERBOX_TABLE_NAME"])["Items"]
    assert "198.51.100.7" not in str(items), "no IP address is stored"


def test_country_only_from_a_trusted_header(api, account, drain, tmp_path, monkeypatch) -> None:
    email_id, raw = _send_tracked(api, account, drain, tmp_path, track_opens=True)
    pixel = re.search(r'src="https://api\.letterbox\.example(/t/o/[^"]+)"', _html(raw)).group(1)
    api.get(pixel, headers={"Accept": "image/*", "CloudFront-Viewer-Country": "DE"})
    monkeypatch.setenv("LETTERBOX_TRUSTED_COUNTRY_HEADER", "CloudFront-Viewer-Country")
    wiring.reset()
    # Another reader's client (the same one within a minute would be the same open).
    api.get(pixel, headers={"Accept": "image/*", "CloudFront-Viewer-Country": "DE",
                            "User-Agent": "Mozilla/5.0"})
    opens = [e for e in api.get(f"/v1/emails/{email_id}", key=account.api_key).json["events"]
             if e["type"] == "opened"]
    assert sorted(str(o["data"].get("country")) for o in opens) == ["DE", "None"]

"""MIME building: 7-bit, Bcc-free, readable text alternative."""

from __future__ import annotations

import email
from email import policy

from chalicelib.mime import build_message, text_from_html
from chalicelib.models import SendCommand


def _command(**overrides: object) -> SendCommand:
    fields = {"account_id": "acct_x", "message_id": "em_01ARZ3NDEKTSV4RRFFQ69G5FAV",
              "from": "Zoë <z@example.com>", "to": ["a@example.net"], "bcc": ["b@example.net"],
              "subject": "Größe " + "x" * 120, "html": "<p>Ünïcode " + "y" * 300 + "</p>"}
    return SendCommand.model_validate({**fields, **overrides})


def test_output_is_seven_bit_with_short_lines() -> None:
    raw = build_message(_command())
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_non_ascii_round_trips_and_bcc_stays_out() -> None:
    parsed = email.message_from_bytes(build_message(_command()), policy=policy.default)
    assert parsed["Subject"].startswith("Größe")
    assert str(parsed["From"]) == "Zoë <z@example.com>"
    assert parsed["Bcc"] is None
    assert parsed["Message-ID"].endswith("@example.com>")
    assert parsed["X-Letterbox-Id"] == "em_01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_text_only_message_has_no_html_part() -> None:
    parsed = email.message_from_bytes(build_message(_command(html=None, text="plain ✓")),
                                      policy=policy.default)
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().strip() == "plain ✓"


def test_text_from_html_keeps_structure_and_links() -> None:
    text = text_from_html("<html><head><style>p{}</style></head><body><h1>Hi</h1>"
                          "<p>Read <a href='https://x.example/a'>this</a>.</p>"
                          "<script>alert(1)</script><p>A&amp;B</p></body></html>")
    assert text == "Hi\n\nRead this (https://x.example/a).\n\nA&B\n"

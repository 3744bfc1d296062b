"""MIME building: 7-bit, Bcc-free, attachments byte-identical, inline images by cid."""

from __future__ import annotations

import base64
import email
import os
from email import policy

from chalicelib.email_models import SendCommand
from chalicelib.mime import Content, build_message, text_from_html

PDF = b"%PDF-1.4\n" + os.urandom(3000)
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(500)


def _command(**overrides: object) -> SendCommand:
    fields = {"account_id": "acct_x", "message_id": "em_01ARZ3NDEKTSV4RRFFQ69G5FAV",
              "from": "Zoë <z@example.com>", "to": ["a@example.net"], "bcc": ["b@example.net"],
              "subject": "Größe " + "x" * 120, "html": "<p>Ünïcode " + "y" * 300 + "</p>"}
    return SendCommand.model_validate({**fields, **overrides})


def _build(command: SendCommand, unsubscribe: tuple[str, str] | None = None) -> bytes:
    return build_message(command, Content(command.subject or "", command.html, command.text),
                         unsubscribe)


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def test_output_is_seven_bit_with_short_lines() -> None:
    raw = _build(_command())
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_non_ascii_round_trips_and_bcc_stays_out() -> None:
    parsed = _parse(_build(_command()))
    assert parsed["Subject"].startswith("Größe")
    assert str(parsed["From"]) == "Zoë <z@example.com>"
    assert parsed["Bcc"] is None
    assert parsed["Message-ID"].endswith("@example.com>")
    assert parsed["X-Letterbox-Id"] == "em_01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_text_only_message_has_no_html_part() -> None:
    parsed = _parse(_build(_command(html=None, text="plain ✓")))
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().strip() == "plain ✓"


def test_attachments_are_byte_identical_and_inline_images_use_cid() -> None:
    command = _command(html='<p>Logo: <img src="cid:logo"></p>', attachments=[
        {"filename": "invoice.pdf", "content": base64.b64encode(PDF).decode()},
        {"filename": "logo.png", "content": base64.b64encode(PNG).decode(),
         "content_type": "image/png", "content_id": "logo"}])
    raw = _build(command)
    assert raw.isascii()
    parsed = _parse(raw)
    assert parsed.get_content_type() == "multipart/mixed"
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF
    related = next(p for p in parsed.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.iter_parts() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo>" and image.get_content() == PNG
    assert "cid:logo" in parsed.get_body(("html",)).get_content()
    assert parsed.get_body(("plain",)) is not None


def test_custom_headers_and_list_unsubscribe_are_written_as_is() -> None:
    url = "https://api.letterbox.example/u/" + "t" * 180
    mailto = "mailto:unsubscribe@example.com?subject=unsubscribe%20" + "t" * 180
    raw = _build(_command(headers={"X-Campaign": "autumn-2026"}), (url, mailto))
    parsed = _parse(raw)
    assert parsed["X-Campaign"] == "autumn-2026"
    assert "=?" not in parsed["List-Unsubscribe"], "no RFC 2047 encoded-word"
    assert parsed["List-Unsubscribe"].replace("\r\n", "").replace(" ", "") == f"<{url}>,<{mailto}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_text_from_html_keeps_structure_and_links() -> None:
    text = text_from_html("<html><head><style>p{}</style></head><body><h1>Hi</h1>"
                          "<p>Read <a href='https://x.example/a'>this</a>.</p>"
                          "<script>alert(1)</script><p>A&amp;B</p></body></html>")
    assert text == "Hi\n\nRead this (https://x.example/a).\n\nA&B\n"

"""7-bit MIME for outgoing mail: quoted-printable text parts, base64 binaries, RFC 2047 headers."""

from __future__ import annotations

import html as html_lib
import re
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html.parser import HTMLParser

from chalicelib.clock import utcnow
from chalicelib.models import SendCommand, domain_of

# SMTP policy: CRLF line ends and 78-column folding, as mail servers expect.
_POLICY = policy.SMTP.clone(max_line_length=78)
_BLOCK_TAGS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "blockquote", "hr", "section", "article"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag == "a" and self._href and self._href.startswith(("http:", "https:")):
            self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_from_html(markup: str) -> str:
    """A readable plain-text alternative: block breaks kept, links shown after their text."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    text = html_lib.unescape("".join(extractor.parts))
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def build_message(command: SendCommand) -> bytes:
    """The raw message SES receives: 7-bit clean, Bcc never in the headers."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = command.from_
    message["To"] = ", ".join(command.to)
    if command.cc:
        message["Cc"] = ", ".join(command.cc)
    if command.reply_to:
        message["Reply-To"] = ", ".join(command.reply_to)
    message["Subject"] = command.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(idstring=command.message_id,
                                       domain=domain_of(command.from_))
    message["X-Letterbox-Id"] = command.message_id
    text = command.text if command.text is not None else text_from_html(command.html or "")
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if command.html is not None:
        message.add_alternative(command.html, subtype="html", charset="utf-8",
                                cte="quoted-printable")
    raw = message.as_bytes(policy=_POLICY)
    if not raw.isascii():  # moto and some MTAs read raw mail as 7-bit; never hand them 8-bit
        raise ValueError("MIME builder produced 8-bit output")
    return raw

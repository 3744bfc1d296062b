"""7-bit MIME for outgoing mail: quoted-printable text parts, base64 binaries, RFC 2047 headers.

Structure: mixed( alternative( text, related( html, inline images… ) ), attachments… ),
each layer present only when needed.
"""

from __future__ import annotations

import html as html_lib
import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html.parser import HTMLParser

from chalicelib.clock import utcnow
from chalicelib.email_models import SendCommand
from chalicelib.models import domain_of

# SMTP policy: CRLF line ends and 78-column folding, as mail servers expect.
_POLICY = policy.SMTP.clone(max_line_length=78)
_BLOCK_TAGS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "blockquote", "hr", "section", "article"})


@dataclass(frozen=True)
class Content:
    """What the recipient reads, after template rendering and link tracking."""

    subject: str
    html: str | None
    text: str | None


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


def _content_type(filename: str, given: str | None) -> tuple[str, str]:
    guessed = given or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    maintype, _, subtype = guessed.partition("/")
    return maintype, subtype


def _envelope(message: EmailMessage, command: SendCommand, subject: str) -> None:
    message["From"] = command.from_
    message["To"] = ", ".join(command.to)
    if command.cc:
        message["Cc"] = ", ".join(command.cc)
    if command.reply_to:
        message["Reply-To"] = ", ".join(command.reply_to)
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(idstring=command.message_id,
                                       domain=domain_of(command.from_))
    message["X-Letterbox-Id"] = command.message_id
    for name, value in command.headers.items():
        message[name] = value


def _list_headers(unsubscribe: tuple[str, str] | None) -> bytes:
    """RFC 8058 headers, written as-is: the email package may turn a long URL into an RFC 2047
    encoded-word that no mail client can use."""
    if unsubscribe is None:
        return b""
    url, mailto = unsubscribe
    return (f"List-Unsubscribe: <{url}>,\r\n <{mailto}>\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n").encode("ascii")


def build_message(command: SendCommand, content: Content,
                  unsubscribe: tuple[str, str] | None = None) -> bytes:
    """The raw message SES receives: 7-bit clean, Bcc never in the headers."""
    message = EmailMessage(policy=_POLICY)
    _envelope(message, command, content.subject)
    text = content.text if content.text is not None else text_from_html(content.html or "")
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    inline = [a for a in command.attachments if a.content_id]
    if content.html is not None:
        message.add_alternative(content.html, subtype="html", charset="utf-8",
                                cte="quoted-printable")
        parts = message.get_payload()
        assert isinstance(parts, list)
        html_part = parts[1]
        assert isinstance(html_part, EmailMessage)
        for attachment in inline:
            maintype, subtype = _content_type(attachment.filename, attachment.content_type)
            html_part.add_related(attachment.data(), maintype, subtype,
                                  cid=f"<{attachment.content_id}>", disposition="inline",
                                  filename=attachment.filename)
    for attachment in command.attachments:
        if attachment.content_id and content.html is not None:
            continue
        maintype, subtype = _content_type(attachment.filename, attachment.content_type)
        message.add_attachment(attachment.data(), maintype, subtype,
                               filename=attachment.filename)
    raw = _list_headers(unsubscribe) + message.as_bytes(policy=_POLICY)
    if not raw.isascii():  # moto and some MTAs read raw mail as 7-bit; never hand them 8-bit
        raise ValueError("MIME builder produced 8-bit output")
    return raw

"""Posting to customer endpoints without becoming an SSRF proxy.

A literal host is refused in any spelling (decimal, octal, hex IPv4, trailing dots); a name is
resolved once and every address must be public (no private, loopback, link-local, multicast or
reserved ranges, so no 169.254.169.254, nor IPv6 forms that embed an IPv4 address: NAT64,
6to4, Teredo, mapped, compatible; chalicelib/destinations.py). The connection then goes to exactly
that address, with TLS verified against the hostname, so DNS cannot swap in another.

Each POST has one overall deadline (connect, TLS, request, status line and headers): a
socket timeout alone restarts with every byte, so an endpoint that trickles its headers
could hold the delivery Lambda for as long as it likes. A timer shuts the socket down at the
deadline whatever phase it is in.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.destinations import host_refusal, is_loopback, is_public


class BlockedDestination(Exception):
    """The URL resolves to an address Letterbox never sends to."""


@dataclass(frozen=True)
class PostResult:
    status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def resolve_public(host: str, port: int, allow_loopback: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as err:
        raise BlockedDestination(f"{host} does not resolve") from err
    addresses = {str(info[4][0]) for info in infos}
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if allow_loopback and is_loopback(ip):
            continue
        if not is_public(ip):  # embedded IPv4 forms (NAT64, 6to4, mapped…) included
            raise BlockedDestination(f"{host} resolves to a non-public address")
    return sorted(addresses)[0]


DEADLINE_EXCEEDED = "deadline_exceeded"  # the webhook service's name for it too


class _Deadline:
    """Shuts a connection's socket down when the POST's time is up."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def left(self) -> float:
        return max(0.01, self.at - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        def expire() -> None:
            self.expired = True
            with contextlib.suppress(OSError):  # already closed: nothing to wake
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv or handshake
        self._timer = threading.Timer(self.left(), expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to a given IP under a deadline (local mode's loopback endpoints only)."""

    def __init__(self, ip: str, port: int, deadline: _Deadline) -> None:
        super().__init__(ip, port, timeout=deadline.left())
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), self._deadline.left())
        self._deadline.watch(self.sock)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a given IP, with SNI and certificate checks for the real hostname."""

    def __init__(self, hostname: str, ip: str, port: int, deadline: _Deadline) -> None:
        super().__init__(ip, port, timeout=deadline.left(),
                         context=ssl.create_default_context())
        self._hostname = hostname
        self._deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self._deadline.left())
        self._deadline.watch(sock)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._hostname)  # type: ignore[attr-defined]


class PinnedPoster:
    def __init__(self, allow_loopback_http: bool, timeout: float = 10) -> None:
        self._allow_loopback = allow_loopback_http
        self._timeout = timeout  # the whole POST's, not one socket operation's

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        started = time.monotonic()
        parts = urlsplit(url)
        try:
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as err:
            raise BlockedDestination("the URL is malformed") from err
        refusal = host_refusal(host, self._allow_loopback)
        if refusal is not None:  # a literal in any spelling, before any resolution
            raise BlockedDestination(refusal)
        ip = resolve_public(host, port, self._allow_loopback)  # raises BlockedDestination
        deadline = _Deadline(self._timeout - (time.monotonic() - started))
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = _PinnedHTTPS(host, ip, port, deadline)
        elif self._allow_loopback and is_loopback(ipaddress.ip_address(ip)):
            connection = _PinnedHTTP(ip, port, deadline)
        else:
            raise BlockedDestination("webhook URLs must be https")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body, headers={
                **headers, "Host": parts.netloc, "Content-Type": "application/json",
                "User-Agent": "Letterbox-Webhooks/1"})
            status = connection.getresponse().status  # redirects are not followed
            error = None
        except (OSError, http.client.HTTPException) as err:
            status, error = None, type(err).__name__
        finally:
            deadline.cancel()
            connection.close()
        if status is None and (deadline.expired or time.monotonic() >= deadline.at):
            status, error = None, DEADLINE_EXCEEDED
        return PostResult(status, error, int((time.monotonic() - started) * 1000))

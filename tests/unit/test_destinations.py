"""Issue 14, item 5: webhook SSRF. IPv6 spellings that embed an IPv4 address (NAT64, 6to4,
IPv4-compatible, mapped, Teredo) passed ``is_global``, and creation looked only at the scheme.
Every non-public destination is refused, whatever its spelling, at creation and at delivery."""

from __future__ import annotations

import socket

import pytest

from chalicelib.adapters.webhook_http import BlockedDestination, PinnedPoster
from chalicelib.destinations import host_refusal, literal_address

HIDDEN = [
    "127.0.0.1", "127.0.0.1.", "127.1", "2130706433", "0x7f000001", "0x7f.0.0.1",
    "0177.0.0.1", "017700000001", "10.0.0.1", "0xa.0.0.1", "169.254.169.254", "0xa9fea9fe",
    "2852039166", "100.64.0.1", "0.0.0.0",  # noqa: S104 - a destination, not a bind
    "0", "224.0.0.1", "255.255.255.255",
    "::1", "::", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:0:a00:1",
    "::127.0.0.1", "::a9fe:a9fe", "64:ff9b::127.0.0.1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::a00:1", "2002:7f00:1::", "2002:a00:1::1", "2002:a9fe:a9fe::",
    "2001:0:4136:e378:8000:63bf:80ff:fffe", "fe80::1", "fc00::1", "fd00:ec2::254",
    "ff02::1", "fe80::1%eth0", "LOCALHOST", "localhost.", "api.localhost", "1.2.3.4.5",
    "999.1.1.1",
]


@pytest.mark.parametrize("host", HIDDEN)
def test_non_public_hosts_are_refused_in_every_spelling(host) -> None:
    assert host_refusal(host, allow_loopback=False) is not None


@pytest.mark.parametrize("host", ["hooks.example.com", "8.8.8.8", "2606:4700:4700::1111",
                                  "134744072", "example.com."])
def test_public_hosts_pass(host) -> None:
    assert host_refusal(host, allow_loopback=False) is None


def test_decimal_octal_and_hex_forms_read_as_resolvers_read_them() -> None:
    assert str(literal_address("2130706433")) == "127.0.0.1"
    assert str(literal_address("0177.0.0.01")) == "127.0.0.1"
    assert str(literal_address("0x7f.1")) == "127.0.0.1"
    assert str(literal_address("134744072")) == "8.8.8.8"


@pytest.mark.parametrize("address", ["64:ff9b::a00:1", "2002:a9fe:a9fe::", "::ffff:10.0.0.1",
                                     "::10.0.0.1", "2001:0:4136:e378:8000:63bf:80ff:fffe",
                                     "64:ff9b:1::a00:1"])
def test_delivery_refuses_a_name_resolving_to_an_embedded_address(monkeypatch,
                                                                   address) -> None:
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(BlockedDestination):
        PinnedPoster(allow_loopback_http=False).post("https://hooks.example.com/x", b"{}", {})


@pytest.mark.parametrize("url", ["https://2130706433/x", "https://[::ffff:127.0.0.1]/x",
                                 "https://0x7f.1/x", "https://127.0.0.1./x"])
def test_delivery_refuses_literal_spellings_before_resolving(monkeypatch, url) -> None:
    def resolve(*args, **kwargs):
        raise AssertionError("a literal address must be refused before any resolution")
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(BlockedDestination):
        PinnedPoster(allow_loopback_http=False).post(url, b"{}", {})

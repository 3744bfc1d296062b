"""Which network destinations Letterbox may post to: public unicast addresses only, whatever
spelling an address arrives in. Shared by webhook creation (the URL's host) and delivery (every
address the host resolves to), so the two can never disagree."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that carry, translate or tunnel an IPv4 address. A destination spelled this way
# reaches whatever IPv4 address hides inside (NAT64 to 10.0.0.1, 6to4 to 127.0.0.1…), and no
# webhook endpoint needs one: refused outright, public or not.
_V4_CARRIERS = tuple(ipaddress.IPv6Network(net) for net in (
    "::/96",            # IPv4-compatible (deprecated), and :: itself
    "::ffff:0:0/96",    # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "64:ff9b::/96",     # NAT64, well-known prefix
    "64:ff9b:1::/48",   # NAT64, local-use prefix
    "2001::/32",        # Teredo
    "2002::/16",        # 6to4
))


def is_public(ip: IPAddress) -> bool:
    """A global unicast address that embeds no other address."""
    if isinstance(ip, ipaddress.IPv6Address) and (
            ip.scope_id or any(ip in net for net in _V4_CARRIERS)):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local or ip.is_private or ip.is_unspecified)


def is_loopback(ip: IPAddress) -> bool:
    return ip.is_loopback and not (isinstance(ip, ipaddress.IPv6Address) and ip.scope_id)


def _ipv4_number(part: str) -> int | None:
    """One part of an inet_aton() spelling: decimal, octal (0…) or hex (0x…)."""
    text = part.lower()
    try:
        if text.startswith("0x"):
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        return int(text, 10) if text.isascii() and text.isdigit() else None
    except ValueError:
        return None


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 as resolvers read it: ``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names literally in any spelling (None for a DNS name)."""
    name = host.strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    return _inet_aton(name)


def looks_numeric(host: str) -> bool:
    """A host whose last label is numeric is an address to resolvers, never a DNS name."""
    last = host.rstrip(".").rsplit(".", 1)[-1].lower()
    return bool(last) and (last.isdigit() or last.startswith("0x") or ":" in host)


def host_refusal(host: str, allow_loopback: bool) -> str | None:
    """Why a URL host can never be posted to, or None when only resolution can tell."""
    name = host.rstrip(".").lower()
    if not name:
        return "the URL has no host"
    if name == "localhost" or name.endswith(".localhost"):
        return None if allow_loopback else "the URL points at this machine (localhost)"
    ip = literal_address(name)
    if ip is None:
        return "the URL host is not a valid address" if looks_numeric(name) else None
    if is_public(ip) or (allow_loopback and is_loopback(ip)):
        return None
    return "the URL points at a non-public address"

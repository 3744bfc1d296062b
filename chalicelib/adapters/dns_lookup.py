"""DNS through dnspython, with the resolver injected (tests: fake; local mode: a zone file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from chalicelib.errors import RetryableFailure


class Resolver(Protocol):
    def resolve(self, qname: str, rdtype: str) -> Any: ...


class DnsLookup:
    """TXT and MX answers as plain values; an absent name is an empty list, not an error."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    def _answers(self, name: str, rdtype: str) -> list[Any]:
        try:
            return list(self._resolver.resolve(name, rdtype))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return []
        except (dns.exception.Timeout, dns.resolver.LifetimeTimeout) as err:
            raise RetryableFailure(f"DNS lookup of {name} timed out") from err

    def txt(self, name: str) -> list[str]:
        # A TXT record may be split into 255-byte strings; the value is their concatenation.
        return [b"".join(r.strings).decode("utf-8", "replace")
                for r in self._answers(name, "TXT")]

    def mx(self, name: str) -> list[tuple[int, str]]:
        return [(int(r.preference), r.exchange.to_text(omit_final_dot=True).lower())
                for r in self._answers(name, "MX")]


class ZoneFileResolver:
    """Local mode's DNS: ``.letterbox/zone.txt``, one ``name TYPE value`` record a line.

    Values use master-file syntax (``"v=DKIM1; k=rsa; p=…"`` for TXT, ``10 host.`` for MX);
    the file is re-read on every query, so appended records count at once.
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    def resolve(self, qname: str, rdtype: str) -> list[Any]:
        wanted = dns.name.from_text(qname)
        known = False
        found = []
        lines = self._path.read_text().splitlines() if self._path.exists() else []
        for line in lines:
            parts = line.strip().split(None, 2)
            if len(parts) < 3 or parts[0].startswith(("#", ";")):
                continue
            if dns.name.from_text(parts[0]) != wanted:
                continue
            known = True
            if parts[1].upper() == rdtype:
                found.append(dns.rdata.from_text(dns.rdataclass.IN,
                                                 dns.rdatatype.from_text(rdtype), parts[2]))
        if not found:
            raise dns.resolver.NoAnswer() if known else dns.resolver.NXDOMAIN()  # type: ignore[no-untyped-call]
        return found

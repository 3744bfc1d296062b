"""Test doubles that speak the real libraries' types."""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver


class FakeResolver:
    """dnspython's ``resolve`` contract over a dict: real rdata objects, real exceptions."""

    def __init__(self, records: dict[tuple[str, str], list[str]] | None = None) -> None:
        self.records = records or {}
        self.queries: list[tuple[str, str]] = []

    def add(self, name: str, rdtype: str, text: str) -> None:
        self.records.setdefault((name.rstrip(".").lower(), rdtype), []).append(text)

    def resolve(self, qname: str, rdtype: str) -> list[Any]:
        self.queries.append((qname, rdtype))
        name = qname.rstrip(".").lower()
        texts = self.records.get((name, rdtype))
        if texts is None:
            if any(key[0] == name for key in self.records):
                raise dns.resolver.NoAnswer()
            raise dns.resolver.NXDOMAIN()
        return [dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), t)
                for t in texts]


def txt_rdata(value: str) -> str:
    """A TXT value in master-file form, split into 255-byte strings like real DNS."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))

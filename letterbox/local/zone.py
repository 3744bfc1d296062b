"""Local mode's DNS zone: publishing a domain's records the way a DNS provider would."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


def zone_line(record: Any) -> str:
    """One ``name TYPE value`` line; TXT values split into 255-byte strings, as DNS stores them."""
    if record.type == "MX":
        return f"{record.name}. MX {record.value}."
    chunks = [record.value[i:i + 255] for i in range(0, len(record.value), 255)]
    return f"{record.name}. TXT " + " ".join(f'"{c}"' for c in chunks)


def publish(zone_file: Path, records: Iterable[Any]) -> None:
    zone_file.parent.mkdir(parents=True, exist_ok=True)
    with zone_file.open("a") as out:
        for record in records:
            out.write(zone_line(record) + "\n")

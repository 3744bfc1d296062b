"""``make bench``: measure, then write bench/results.json and docs/benchmarks.md.

Benchmarks, never timed tests: every figure is shown beside a reference measured in the same
run on the same machine, and nothing here fails a build for being slow.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import dkim_rate

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(results: dict[str, Any]) -> str:
    d = results["dkim"]
    rows = [
        ("DKIM RSA-2048, our signer (5 KB message)", f"{d['ours_rsa_per_s']:.0f}/s per core",
         f"raw cryptography RSA-2048: {d['raw_cryptography_rsa_per_s']:.0f}/s",
         f"{d['ours_vs_raw']:.2f}", "≥ 500/s and ≥ 0.5 of raw"),
        ("DKIM RSA-2048, dkimpy as shipped", f"{d['dkimpy_rsa_per_s']:.0f}/s per core",
         f"our signer: {d['ours_rsa_per_s']:.0f}/s", f"{1 / d['ours_vs_dkimpy']:.2f}",
         "(reference)"),
        ("DKIM Ed25519, our signer", f"{d['ours_ed25519_per_s']:.0f}/s per core",
         f"our RSA signer: {d['ours_rsa_per_s']:.0f}/s",
         f"{d['ours_ed25519_per_s'] / d['ours_rsa_per_s']:.2f}", "(reference)"),
    ]
    lines = ["| figure | measured | same-run reference | ratio | target |",
             "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    results = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
               "machine": machine(), "dkim": dkim_rate.run()}
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    doc = (f"# Benchmarks\n\nWritten by `make bench` on {results['measured_at']}, on "
           f"{results['machine']}. Each figure sits beside a reference measured in the same "
           "run; rerun `make bench` to reproduce them on your machine.\n\n"
           f"{table(results)}\n\n"
           "CPU rates are operations per CPU-second (`time.process_time`) on one core, after "
           "a warm-up call: what a warm Lambda pays. The 5 KB message is a real Letterbox "
           "MIME message (quoted-printable HTML and text parts).\n")
    (ROOT / "docs" / "benchmarks.md").write_text(doc)
    print(doc)


if __name__ == "__main__":
    main()

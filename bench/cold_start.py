"""Cold start: what a new Lambda pays to import ``app.py`` before its first request, beside
``import boto3`` measured the same way (fresh interpreters, median of several)."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import time; started = time.perf_counter(); import {module}; "
         "print(time.perf_counter() - started)")


def import_seconds(module: str, runs: int = 9) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def run() -> dict[str, Any]:
    boto3 = import_seconds("boto3")
    app = import_seconds("app")
    return {"import_app_ms": app * 1000, "import_boto3_ms": boto3 * 1000,
            "app_vs_boto3": app / boto3}


if __name__ == "__main__":
    print(run())

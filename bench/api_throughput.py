"""API throughput: POST /v1/emails against the local stack (``make dev``'s server, chalice
local on embedded moto) from this second process over loopback, with p50/p99 latency. The
same run measures the server's floor: an unauthenticated 401, which does no AWS work."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from letterbox.local.devserver import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[1]


def _load(url: str, headers: dict[str, str], body: Any, seconds: float,
          threads: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def worker() -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            started = time.perf_counter()
            answer = session.post(url, json=body, headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "requests_per_s": len(latencies) / wall,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "statuses": {str(k): v for k, v in statuses.items()}, "threads": threads}


def run(seconds: float = 10.0, threads: int = 4) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="letterbox-throughput-")) / ".letterbox"
    env = {**os.environ, "LETTERBOX_STATE_DIR": str(state), "LETTERBOX_PORT": str(free_port()),
           "LETTERBOX_RATE_LIMIT_PER_SECOND": "100000", "LETTERBOX_DAILY_QUOTA": "10000000"}
    log = (state.parent / "dev.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "letterbox.local.devserver"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        dev = wait_until_serving(state, process)
        url = f"{dev['api_url']}/v1/emails"
        body = {"from": f"hi@{dev['domain']}", "to": "success@simulator.amazonses.com",
                "subject": "Throughput", "text": "Hello"}
        auth = {"Authorization": f"Bearer {dev['api_key']}"}
        _load(url, auth, body, 2.0, threads)  # warm up
        sends = _load(url, auth, body, seconds, threads)
        floor = _load(url, {}, body, seconds / 2, threads)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    return {"send": sends, "reference_unauthenticated": floor}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

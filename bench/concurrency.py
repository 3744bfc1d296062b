"""Concurrent sends for one account against the local stack (``make dev``'s server on
embedded moto, in a subprocess): N clients (8, then 32), each on a fresh connection per
request, alternate ``POST /v1/emails`` with a cheap authenticated read of the email it just
created (``GET /v1/emails/{id}``: auth, rate limit, one query), so both see the same load.
Errors, requests a second, p50 and p99 for each, per N."""

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
CLIENTS = (8, 32)


def _summary(latencies: list[float], errors: int, wall: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99 + 0.5) - 1)] if ordered else 0.0
    return {"requests": len(ordered) + errors, "errors": errors,
            "requests_per_s": (len(ordered) + errors) / wall,
            "p50_ms": statistics.median(ordered) * 1000 if ordered else 0.0,
            "p99_ms": p99 * 1000}


def _load(api: str, key: str, body: dict[str, Any], clients: int,
          seconds: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    sends: list[float] = []
    reads: list[float] = []
    failures = {"send": 0, "read": 0}
    codes: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    start = threading.Barrier(clients)

    def timed(kind: str, call: Any) -> requests.Response | None:
        began = time.perf_counter()
        try:
            answer: requests.Response | None = call()
        except requests.RequestException:
            answer = None
        elapsed = time.perf_counter() - began
        with lock:
            code = str(answer.status_code) if answer is not None else "no answer"
            codes[f"{kind} {code}"] = codes.get(f"{kind} {code}", 0) + 1
            if answer is not None and answer.status_code < 300:
                (sends if kind == "send" else reads).append(elapsed)
            else:
                failures[kind] += 1
        return answer

    def client() -> None:
        start.wait()
        while time.monotonic() < stop:
            sent = timed("send", lambda: requests.post(f"{api}/v1/emails", json=body,
                                                      headers=headers, timeout=60))
            if sent is None or sent.status_code != 202:
                continue
            read_url = f"{api}/v1/emails/{sent.json()['id']}"
            timed("read", lambda url=read_url: requests.get(url, headers=headers, timeout=60))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {"clients": clients, "seconds": wall, "statuses": codes,
            "send": _summary(sends, failures["send"], wall),
            "cheap_get": _summary(reads, failures["read"], wall)}


def run(seconds: float = 15.0) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="letterbox-concurrency-")) / ".letterbox"
    env = {**os.environ, "LETTERBOX_STATE_DIR": str(state), "LETTERBOX_PORT": str(free_port()),
           "LETTERBOX_RATE_LIMIT_PER_SECOND": "100000", "LETTERBOX_DAILY_QUOTA": "10000000"}
    state.parent.mkdir(parents=True, exist_ok=True)
    log = (state.parent / "dev.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "letterbox.local.devserver"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        dev = wait_until_serving(state, process)
        body = {"from": f"hi@{dev['domain']}", "to": "success@simulator.amazonses.com",
                "subject": "Concurrency", "text": "Hello"}
        _load(dev["api_url"], dev["api_key"], body, 4, 2.0)  # warm up: caches, connections
        results = {str(n): _load(dev["api_url"], dev["api_key"], body, n, seconds)
                   for n in CLIENTS}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    return {"by_clients": results, "account": "one account, one key",
            "cheap_get": "GET /v1/emails/{id} of the email the client just sent"}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

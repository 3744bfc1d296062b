"""Issue 14, item 28: ``make dev`` stopped by SIGTERM (a process manager, a CI job, a test
harness) left its moto server running forever at ~70 % of a core: moto runs in its own session
and the shutdown outlasted the supervisor's patience. SIGTERM and Ctrl-C must stop everything
``make dev`` started within a few seconds, whenever they arrive."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from letterbox.local.devserver import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN = 8.0  # seconds, from the signal to nothing left


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _start(command: list[str], tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    state = tmp_path / ".letterbox"
    env = {**os.environ, "LETTERBOX_STATE_DIR": str(state), "LETTERBOX_PORT": str(free_port())}
    log = (tmp_path / "dev.log").open("w")
    # its own session, so the test can sweep up whatever a failure leaves behind
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    return process, state


def _stopped_in_time(process: subprocess.Popen, watched: set[int], ports: list[int],
                     sent_at: float) -> float:
    try:
        process.wait(timeout=STOP_WITHIN)
        while time.monotonic() - sent_at < STOP_WITHIN and (
                any(_alive(p) for p in watched) or any(_listening(p) for p in ports)):
            time.sleep(0.1)
        left = [p for p in watched if _alive(p)]
        listening = [p for p in ports if _listening(p)]
        assert not left and not listening, (left, listening)
        return time.monotonic() - sent_at
    finally:
        for pid in watched | {process.pid}:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_make_dev_stops_everything_on_sigterm_or_ctrl_c(tmp_path, signum) -> None:
    process, state = _start(["make", "--no-print-directory", "dev"], tmp_path)
    dev = wait_until_serving(state, process)
    moto_port = int(dev["aws_endpoint_url"].rsplit(":", 1)[1])
    api_port = int(dev["api_url"].rsplit(":", 1)[1])
    watched = _children(process.pid)
    assert _listening(moto_port) and len(watched) >= 2  # the devserver and moto's server
    sent_at = time.monotonic()
    if signum == signal.SIGINT:  # Ctrl-C: the terminal signals the whole foreground group
        os.killpg(process.pid, signum)
    else:  # a supervisor signals the process it started, and only that one
        process.send_signal(signum)
    took = _stopped_in_time(process, watched, [moto_port, api_port], sent_at)
    print(f"stopped {len(watched)} processes in {took:.2f} s")
    assert took < STOP_WITHIN


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_during_start_up_stops_moto_too(tmp_path) -> None:
    process, _ = _start([sys.executable, "-m", "letterbox.local.devserver"], tmp_path)
    deadline = time.monotonic() + 60
    while not _children(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # moto is up or coming up; provisioning has not finished
    watched = _children(process.pid)
    assert watched, "moto's server never started"
    sent_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _stopped_in_time(process, watched, [], sent_at)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_devserver_takes_moto_with_it(tmp_path) -> None:
    process, state = _start([sys.executable, "-m", "letterbox.local.devserver"], tmp_path)
    dev = wait_until_serving(state, process)
    moto_port = int(json.loads((state / "dev.json").read_text())["aws_endpoint_url"]
                    .rsplit(":", 1)[1])
    assert dev and _listening(moto_port)
    watched = _children(process.pid)
    sent_at = time.monotonic()
    process.kill()  # no cleanup can run: the parent-death signal must do it
    _stopped_in_time(process, watched, [moto_port], sent_at)

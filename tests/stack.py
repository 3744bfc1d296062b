"""The one way a test starts ``make dev``'s stack: the devserver on a free port with a state
folder of its own, waited on until it writes ``dev.json`` and answers, then stopped cleanly.

Stopping is SIGTERM, which the devserver handles by stopping moto's server too (no orphan:
``tests/e2e/test_dev_shutdown.py`` holds it to that), and SIGKILL only if it hangs. A stack
that never comes up fails with the end of its log in the error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letterbox.local.devserver import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[1]
# A loaded CI machine (2 cores, other stacks starting) can take minutes to come up.
START_SECONDS = 360
STOP_SECONDS = 15


@dataclass
class DevStack:
    """A running stack: its process, state folder and ``dev.json``."""

    process: subprocess.Popen[bytes]
    state: Path
    dev: dict[str, Any]

    def url(self, path: str) -> str:
        return f"{self.dev['api_url']}{path}"

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.dev['api_key']}"}

    def cli(self, *args: str) -> Any:
        return run_cli(self.state, *args)


def run_cli(state: Path, *args: str) -> Any:
    """``letterbox ARGS`` against the stack whose state folder is ``state``; its JSON."""
    env = {**os.environ, "LETTERBOX_STATE_DIR": str(state)}
    done = subprocess.run([str(Path(sys.executable).parent / "letterbox"), *args], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


@contextmanager
def dev_stack(state: Path, **env: str) -> Iterator[DevStack]:
    """Start the stack with ``state`` as its ``.letterbox`` folder (the log goes next to it,
    ``dev.log``) and ``env`` on top of ours; stop it on the way out, whatever happened."""
    environ = {**os.environ, "LETTERBOX_STATE_DIR": str(state),
               "LETTERBOX_PORT": str(free_port()), **env}
    log_path = state.parent / "dev.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "letterbox.local.devserver"],
                                   cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            try:
                dev = wait_until_serving(state, process, timeout=START_SECONDS)
            except RuntimeError as err:
                log.flush()
                tail = log_path.read_text()[-3000:]
                raise RuntimeError(f"{err}; the stack's log ends with:\n{tail}") from err
            yield DevStack(process, state, dev)
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the devserver takes moto down with it), SIGKILL if it hangs; reaped."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

"""A real ``make dev`` stack on loopback and Debian's Chromium driven by Playwright.

Chromium is the system one (``/usr/bin/chromium``; ``.ci/run`` installs it when missing):
``playwright install`` is never run. Every context routes all requests through a guard that
lets only the app's own origin through and records anything else, so a test fails on any
request that would leave the app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from letterbox.local.devserver import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


@dataclass
class Portal:
    state: Path
    dev: dict[str, Any]
    origin: str
    foreign: list[str] = field(default_factory=list)  # requests that tried to leave
    seen: set[str] = field(default_factory=set)  # every cookie and storage key observed

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def cli(self, *args: str) -> Any:
        env = {**os.environ, "LETTERBOX_STATE_DIR": str(self.state)}
        done = subprocess.run([str(Path(sys.executable).parent / "letterbox"), *args],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(done.stdout)


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: apt-get install -y chromium (.ci/run does)")
    state = tmp_path_factory.mktemp("portal") / ".letterbox"
    port = free_port()
    env = {**os.environ, "LETTERBOX_STATE_DIR": str(state), "LETTERBOX_PORT": str(port)}
    log = (state.parent / "dev.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "letterbox.local.devserver"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:  # a loaded CI machine (2 cores, other stacks starting) can take minutes
            dev = wait_until_serving(state, process, timeout=360)
        except RuntimeError as err:
            log.flush()
            tail = (state.parent / "dev.log").read_text()[-3000:]
            raise RuntimeError(f"{err}; the stack's log ends with:\n{tail}") from err
        yield Portal(state=state, dev=dev, origin=dev["api_url"])
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(chromium: Any, portal: Portal) -> Iterator[Any]:
    """Contexts whose every request outside the app's origin is refused and recorded."""
    made: list[Any] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url == portal.origin or url.startswith(portal.origin + "/"):
            route.continue_()
        else:
            portal.foreign.append(url)
            route.abort()

    def make(**options: Any) -> Any:
        context = chromium.new_context(**options)
        context.route("**/*", guard)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
    assert portal.foreign == [], f"requests left the app's origin: {portal.foreign}"

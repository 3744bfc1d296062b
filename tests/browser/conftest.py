"""A real ``make dev`` stack on loopback and Debian's Chromium driven by Playwright.

Chromium is the system one (``/usr/bin/chromium``; ``.ci/run`` installs it when missing):
``playwright install`` is never run. Every context routes all requests through a guard that
lets only the app's own origin through and records anything else, so a test fails on any
request that would leave the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.stack import dev_stack, run_cli

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
        return run_cli(self.state, *args)


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: apt-get install -y chromium (.ci/run does)")
    with dev_stack(tmp_path_factory.mktemp("portal") / ".letterbox") as stack:
        yield Portal(state=stack.state, dev=stack.dev, origin=stack.dev["api_url"])


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def guarded_context(chromium: Any, portal: Portal, **options: Any) -> Any:
    """A context whose every request outside the app's origin is refused and recorded."""
    context = chromium.new_context(**options)

    def guard(route: Any) -> None:
        url = route.request.url
        if url == portal.origin or url.startswith(portal.origin + "/"):
            route.continue_()
        else:
            portal.foreign.append(url)
            route.abort()
    context.route("**/*", guard)
    return context


@pytest.fixture
def new_context(chromium: Any, portal: Portal) -> Iterator[Any]:
    """Guarded contexts, closed after the test, which fails if any request left."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        context = guarded_context(chromium, portal, **options)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
    assert portal.foreign == [], f"requests left the app's origin: {portal.foreign}"

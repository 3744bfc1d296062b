"""The e2e modules' stack: each module that asks for ``local`` gets its own ``make dev`` stack
(own port and state folder), started and stopped by ``tests/stack.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import DevStack, dev_stack


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    # Keys and accounts are cached per server for this long (30 s by default): 1 s here, so
    # a closure test can wait it out.
    with dev_stack(tmp_path_factory.mktemp("dev") / ".letterbox",
                   LETTERBOX_AUTH_CACHE_SECONDS="1") as stack:
        yield stack

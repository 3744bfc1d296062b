"""``letterbox user …`` and ``letterbox notice …`` against the moto stack."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import Conflict
from letterbox.cli import _parser, run_dashboard


def _run(*argv: str) -> Any:
    from chalicelib import wiring
    from chalicelib.clock import utcnow
    return run_dashboard(_parser().parse_args(list(argv)), wiring.container().dashboard,
                         utcnow())


def test_user_create_prints_a_single_use_invite_and_list_remove_work(account: Any) -> None:
    """Bug caught: an invite link that is not printed, is not stored hashed, or a removed
    user who can still sign in."""
    from chalicelib import wiring
    created = _run("user", "create", account.account_id, "Ops@Example.com", "--role", "admin")
    assert created["role"] == "admin" and created["email"] == "ops@example.com"
    token = created["invite_url"].split("token=", 1)[1]
    assert created["invite_url"].startswith("https://api.letterbox.example/dashboard/invite?")
    store = wiring.container().dashboard.store
    assert store.peek_link(token) is None, "the token itself is never a key"
    listed = _run("user", "list", account.account_id)["users"]
    assert [(u["email"], u["status"]) for u in listed] == [("ops@example.com", "invited")]
    with pytest.raises(Conflict):  # main() prints it as {"error": {"code": "conflict"}}
        _run("user", "create", account.account_id, "ops@example.com")
    assert _run("user", "remove", account.account_id, created["user_id"])["removed"]
    assert _run("user", "list", account.account_id)["users"] == []


def test_notice_post_warns_when_announced_too_late(stack: Any) -> None:
    """Bug caught: a policy change posted with less than 14 days' notice, silently."""
    from datetime import date, timedelta
    soon = (date.today() + timedelta(days=3)).isoformat()
    posted = _run("notice", "post", "--title", "Terms", "--body", "New terms.",
                  "--effective", soon)
    assert posted["warning"] == "effective in under 14 days"
    assert [n["title"] for n in _run("notice", "list")["notices"]] == ["Terms"]

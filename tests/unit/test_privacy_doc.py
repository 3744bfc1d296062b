"""docs/privacy.md shows the retention policy as the code enforces it."""

from __future__ import annotations

from chalicelib.retention import POLICY
from letterbox.docs import PRIVACY, render, retention_table


def test_the_documented_table_is_the_policy() -> None:
    text = PRIVACY.read_text()
    assert render(text) == text, "docs/privacy.md is stale: run `make docs`"
    for rule in POLICY:
        assert f"`{rule.data_class.value}`" in retention_table()


def test_a_changed_policy_changes_the_table(monkeypatch) -> None:
    from dataclasses import replace

    from letterbox import docs
    changed = (replace(POLICY[1], kept="7 days"), *POLICY[2:])
    monkeypatch.setattr(docs, "POLICY", changed)
    assert render(PRIVACY.read_text()) != PRIVACY.read_text()

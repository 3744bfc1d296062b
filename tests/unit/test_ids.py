"""Prefixed ids sort by creation time and reject foreign shapes."""

from __future__ import annotations

import pytest

from chalicelib.ids import has_prefix, new_id


def test_ids_sort_by_time() -> None:
    early, late = new_id("em", now_ms=1_000), new_id("em", now_ms=2_000)
    assert early < late and early.startswith("em_") and len(early) == 29


def test_ids_are_unique() -> None:
    assert len({new_id("evt") for _ in range(1000)}) == 1000


def test_shape_check() -> None:
    assert has_prefix(new_id("em"), "em")
    assert not has_prefix(new_id("dom"), "em")
    assert not has_prefix("em_../../etc", "em")


def test_unknown_prefix_is_a_bug() -> None:
    with pytest.raises(ValueError):
        new_id("zz")

"""The overview's charts, rate checks and cost estimate, as pure functions."""

from __future__ import annotations

import re
from datetime import date

from chalicelib.costs import PRICES, estimate, per_email_cost
from chalicelib.dashboard.charts import RateCheck, bar_chart, percent, series


def test_a_series_fills_missing_days_with_zero() -> None:
    """Bug caught: a day without a counter item dropped, shifting every later bar."""
    counts = {"2026-11-01": {"sent": 3}, "2026-11-03": {"sent": 5, "bounced": 1}}
    data = series("sent", counts, date(2026, 11, 1), date(2026, 11, 4))
    assert [c for _, c in data.days] == [3, 0, 5, 0]
    assert (data.total, data.peak) == (8, 5)


def test_the_chart_carries_its_numbers_in_text() -> None:
    """Bug caught: a chart readable only by colour or bar height (no numbers, no labels)."""
    data = series("bounced", {"2026-11-02": {"bounced": 4}}, date(2026, 11, 1),
                  date(2026, 11, 3))
    svg = bar_chart(data, "c1")
    assert 'role="img"' in svg and 'aria-labelledby="c1-t c1-d"' in svg
    assert "<title id=\"c1-t\">bounced: 4 in all</title>" in svg
    assert "<title>2026-11-02: 4 bounced</title>" in svg
    assert len(re.findall(r"<rect class=\"bar\"", svg)) == 3
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"><title>', svg)]
    assert heights[0] == heights[2] == 0 and heights[1] > 0


def test_rate_checks_warn_before_the_pause() -> None:
    """Bug caught: no warning until sending is already paused."""
    assert RateCheck("Bounce", 0.01, 0.05).state == "healthy"
    near = RateCheck("Bounce", 0.041, 0.05)
    assert near.warning and near.state == "close to the pause threshold"
    assert RateCheck("Complaint", 0.001, 0.001).state == "at the pause threshold"
    assert RateCheck("Bounce", None, 0.05).state == "no mail yet"
    assert "4.10 % of the 5 %" in near.gauge("g")
    assert percent(0.001) == "0.10 %" and percent(0.05) == "5 %"


def test_the_cost_estimate_starts_at_ses_and_scales_with_volume() -> None:
    """Bug caught: a cost below SES's own price, or one that does not grow with volume."""
    assert per_email_cost() > PRICES["ses_per_email"]
    month = estimate(100_000)
    assert month["ses"] == 10.0 and month["total"] > month["ses"]
    assert estimate(200_000)["total"] > month["total"] and estimate(0)["total"] == 0

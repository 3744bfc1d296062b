"""Per-day bar charts as server-side SVG: no script, no colour needed to read them.

Each chart shows one metric, so nothing is told apart by colour: its title carries the
metric and its total, the axis carries the largest day, every bar carries its own number in
a ``<title>``, and the page puts the same numbers in a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 320, 120, 34, 18, 8


@dataclass(frozen=True)
class Series:
    metric: str
    days: list[tuple[date, int]]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.days)

    @property
    def peak(self) -> int:
        return max((count for _, count in self.days), default=0)


def series(metric: str, counts: dict[str, dict[str, int]], first: date,
           last: date) -> Series:
    """One metric per day from ``first`` to ``last``; a day without a counter is zero."""
    days, day = [], first
    while day <= last:
        days.append((day, int(counts.get(day.isoformat(), {}).get(metric, 0))))
        day += timedelta(days=1)
    return Series(metric, days)


def bar_chart(data: Series, chart_id: str) -> str:
    """An accessible SVG: role=img, a text title and description, one rect per day."""
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    peak = max(data.peak, 1)
    step = plot_w / max(len(data.days), 1)
    bars = []
    for index, (day, count) in enumerate(data.days):
        height = plot_h * count / peak
        x = LEFT + index * step
        bars.append(f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{TOP + plot_h - height:.1f}" '
                    f'width="{max(step * 0.8, 1):.1f}" height="{height:.1f}">'
                    f'<title>{day.isoformat()}: {count} {escape(data.metric)}</title></rect>')
    first, last = data.days[0][0], data.days[-1][0]
    title = f"{data.metric}: {data.total} in all"
    description = (f"{data.metric} per day from {first.isoformat()} to {last.isoformat()}; "
                   f"most in one day: {data.peak}")
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(description)}</desc>'
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" '
        f'y2="{TOP + plot_h}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>'
        + (f'<text class="tick" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{data.peak}'
           '</text>' if data.peak else "") +
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>'
        f'<text class="tick" x="{LEFT}" y="{HEIGHT - 4}">{first.strftime("%b %d")}</text>'
        f'<text class="tick" x="{WIDTH - 4}" y="{HEIGHT - 4}" text-anchor="end">'
        f'{last.strftime("%b %d")}</text>'
        + "".join(bars) + "</svg>")


@dataclass(frozen=True)
class RateCheck:
    """A 7-day rate beside the threshold that pauses sending (SPEC §4)."""

    name: str
    rate: float | None
    threshold: float
    warn_at: float = 0.8  # warn at 80 % of the threshold, before the pause

    @property
    def state(self) -> str:
        if self.rate is None:
            return "no mail yet"
        if self.rate >= self.threshold:
            return "at the pause threshold"
        if self.rate >= self.threshold * self.warn_at:
            return "close to the pause threshold"
        return "healthy"

    @property
    def warning(self) -> bool:
        return self.state in ("at the pause threshold", "close to the pause threshold")

    def gauge(self, chart_id: str) -> str:
        """A horizontal bar: the rate's share of the threshold, with both as numbers."""
        share = min((self.rate or 0) / self.threshold, 1.0)
        label = (f"{self.name}: {percent(self.rate)} of the {percent(self.threshold)} "
                 f"that pauses sending ({self.state})")
        return (f'<svg class="gauge" viewBox="0 0 300 24" role="img" aria-label="{escape(label)}"'
                f' xmlns="http://www.w3.org/2000/svg"><rect class="track" x="0" y="4" '
                f'width="300" height="16"/><rect class="fill{" warn" if self.warning else ""}" '
                f'x="0" y="4" width="{300 * share:.1f}" height="16"/>'
                f'<line class="limit" x1="{300 * self.warn_at:.0f}" y1="0" '
                f'x2="{300 * self.warn_at:.0f}" y2="24"/></svg>')


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.2f} %".replace(".00 %", " %")

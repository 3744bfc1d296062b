"""The concurrency figure as an SVG (no plotting library): p50 and p99 latency of sends and
of the cheap authenticated read against the number of clients, errors marked beside them.
Written by ``make bench`` to docs/concurrency.svg."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 360, 70, 170, 40, 50
SERIES = (("send", "p99_ms", "#c0392b", "send p99"), ("send", "p50_ms", "#e67e22", "send p50"),
          ("cheap_get", "p99_ms", "#2c3e50", "GET p99"),
          ("cheap_get", "p50_ms", "#7f8c8d", "GET p50"))


def svg(concurrency: dict[str, Any]) -> str:
    runs = sorted(concurrency["by_clients"].values(), key=lambda r: r["clients"])
    clients = [r["clients"] for r in runs]
    top = max(r[kind][stat] for r in runs for kind, stat, _, _ in SERIES) * 1.15 or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(n: int) -> float:
        span = (max(clients) - min(clients)) or 1
        return LEFT + (n - min(clients)) / span * plot_w

    def y(ms: float) -> float:
        return TOP + plot_h - ms / top * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{LEFT}" y="22" font-size="14">Concurrent sends for one account, '
             'local stack: latency and errors</text>',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
             'stroke="black"/>',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
             f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 10}" text-anchor="middle">'
             'clients</text>',
             f'<text x="16" y="{TOP + plot_h / 2}" transform="rotate(-90 16 '
             f'{TOP + plot_h / 2})" text-anchor="middle">latency (ms)</text>']
    for step in range(5):
        ms = top * step / 4
        parts.append(f'<text x="{LEFT - 6}" y="{y(ms) + 4:.1f}" text-anchor="end">'
                     f'{ms:.0f}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{y(ms):.1f}" x2="{LEFT + plot_w}" '
                     f'y2="{y(ms):.1f}" stroke="#eee"/>')
    for run in runs:
        n = run["clients"]
        errors = run["send"]["errors"] + run["cheap_get"]["errors"]
        parts.append(f'<text x="{x(n):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                     f'{n}</text>')
        parts.append(f'<text x="{x(n):.1f}" y="{TOP + plot_h + 30}" text-anchor="middle" '
                     f'fill="{"#c0392b" if errors else "#27ae60"}">{errors} errors</text>')
    for index, (kind, stat, colour, label) in enumerate(SERIES):
        points = " ".join(f"{x(r['clients']):.1f},{y(r[kind][stat]):.1f}" for r in runs)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     'stroke-width="2"/>')
        for r in runs:
            parts.append(f'<circle cx="{x(r["clients"]):.1f}" cy="{y(r[kind][stat]):.1f}" '
                         f'r="3" fill="{colour}"/>')
        ly = TOP + 10 + index * 18
        parts.append(f'<line x1="{WIDTH - RIGHT + 15}" y1="{ly}" x2="{WIDTH - RIGHT + 35}" '
                     f'y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{WIDTH - RIGHT + 40}" y="{ly + 4}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

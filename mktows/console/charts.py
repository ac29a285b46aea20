"""Bar charts drawn as SVG on the server: no script and no library in the browser. Each chart
is an image with a title and a description, and its numbers are in a table beside it for
screen readers and for whoever would rather read them."""

from __future__ import annotations

from markupsafe import Markup, escape

from mktows.engine.admin.charts import Series

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 240, 48, 40, 12
# distinguishable, and dark enough against white (3:1 or more)
PALETTE = ("#0b57a4", "#b3541e", "#1d6b34", "#7a3e9d", "#a4221b", "#4a5360", "#8a6d00", "#006d77")
MOST_KEYS = 6  # more operations than this are drawn together as "other"


def stacked(series: Series) -> dict[str, list[int]]:
    """The keys drawn: the biggest ones, the rest summed as "other"."""
    ranked = sorted(series.values, key=lambda k: -sum(series.values[k]))
    kept = {k: series.values[k] for k in ranked[:MOST_KEYS]}
    rest = ranked[MOST_KEYS:]
    if rest:
        kept["other"] = [sum(series.values[k][i] for k in rest) for i in range(len(series.labels))]
    return kept


def svg(series: Series, chart_id: str) -> Markup:
    keys = stacked(series)
    n = max(len(series.labels), 1)
    totals = [sum(v[i] for v in keys.values()) for i in range(n)]
    top = max(max(totals, default=0), 1)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / n
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" class="chart">',
        f'<title id="{chart_id}-t">{escape(series.title)}</title>',
        f'<desc id="{chart_id}-d">{series.total()} in all; the numbers are in the table below the chart.</desc>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}" stroke="#4a5360"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" font-size="12">{top}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="12">0</text>',
    ]
    for i in range(n):
        y: float = TOP + plot_h
        for colour, values in zip(PALETTE, keys.values(), strict=False):
            h = values[i] / top * plot_h
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{LEFT + i * bar_w + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}"'
                    f' height="{h:.1f}" fill="{colour}"/>'
                )
    step = max(n // 8, 1)
    for i in range(0, n, step):
        x = LEFT + (i + 0.5) * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11">'
            f"{escape(series.labels[i])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(series: Series) -> list[tuple[str, str, int]]:
    """(colour, key, total) of each key drawn."""
    return [(c, k, sum(v)) for c, (k, v) in zip(PALETTE, stacked(series).items(), strict=False)]

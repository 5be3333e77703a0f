"""Small charts as inline SVG, drawn on the server: no JavaScript, no chart library.

Colours come from classes in static/staff.css (the CSP allows no inline styles).
Each bar carries a <title>, which browsers show as a tooltip and screen readers read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape


def _fmt(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def column_chart(
    points: Sequence[tuple[str, float]],
    label: str,
    width: int = 640,
    height: int = 160,
    value_format: Callable[[float], str] = _fmt,
) -> Markup:
    """Vertical bars, one per point (e.g. per day), with the first and last labels."""
    if not points:
        return Markup('<p class="muted">No data in this period.</p>')
    top, bottom, left = 16, 22, 4
    plot_h = height - top - bottom
    peak = max(value for _, value in points) or 1.0
    step = (width - left) / len(points)
    bar_w = max(step * 0.8, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="chart-axis" x="{left}" y="11">max {escape(value_format(peak))}</text>',
        f'<line class="chart-base" x1="{left}" x2="{width}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}"/>',
    ]
    for i, (name, value) in enumerate(points):
        bar_h = plot_h * value / peak
        x = left + i * step
        parts.append(
            f'<rect class="chart-bar" x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" '
            f'width="{bar_w:.1f}" height="{bar_h:.1f}"><title>{escape(name)}: '
            f"{escape(value_format(value))}</title></rect>"
        )
    first, last = points[0][0], points[-1][0]
    parts.append(f'<text class="chart-axis" x="{left}" y="{height - 6}">{escape(first)}</text>')
    parts.append(
        f'<text class="chart-axis" x="{width}" y="{height - 6}" text-anchor="end">'
        f"{escape(last)}</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_list(
    items: Sequence[tuple[str, float]],
    label: str,
    width: int = 420,
    row_h: int = 20,
    value_format: Callable[[float], str] = _fmt,
) -> Markup:
    """Horizontal bars with their names and values, biggest first as given."""
    if not items:
        return Markup('<p class="muted">No data in this period.</p>')
    name_w, value_w = 170, 48
    bar_space = width - name_w - value_w
    peak = max(value for _, value in items) or 1.0
    height = row_h * len(items) + 4
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (name, value) in enumerate(items):
        y = i * row_h + 2
        bar_w = max(bar_space * value / peak, 1.0)
        shown = name if len(name) <= 26 else name[:25] + "…"
        parts.append(
            f'<text class="chart-label" x="{name_w - 6}" y="{y + row_h * 0.7:.1f}" '
            f'text-anchor="end">{escape(shown)}</text>'
            f'<rect class="chart-bar" x="{name_w}" y="{y + 3}" width="{bar_w:.1f}" '
            f'height="{row_h - 6}"><title>{escape(name)}: {escape(value_format(value))}'
            "</title></rect>"
            f'<text class="chart-value" x="{name_w + bar_w + 4:.1f}" '
            f'y="{y + row_h * 0.7:.1f}">{escape(value_format(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def percent(value: float) -> str:
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"

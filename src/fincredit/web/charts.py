"""Server-side SVG charts (no JavaScript, no third-party assets). Pure module.

Each function returns a complete ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` listing
the values, so screen readers get the data; pages also show the numbers in a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

NAVY = "#1d3f72"
RED = "#b3111e"
GRID = "#d5dbe5"
TEXT = "#1f2933"
PALETTE = ["#1d3f72", "#2f6db3", "#4f8fd6", "#7fb0e6", "#b3111e", "#d9534f", "#e08e2b", "#5b8c3a", "#6b7785"]

Fmt = Callable[[float], str]


def _fmt_default(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"


def nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 2.5, 5 × 10^k)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        bound = step * 10 ** exponent
        if bound >= value:
            return float(bound)
    return float(10 ** (exponent + 1))


def _axis_max(items: Sequence[tuple[str, float]]) -> float:
    largest = max(v for _, v in items)
    if all(float(v).is_integer() for _, v in items) and largest <= 5:
        return float(max(1, int(largest)))
    return nice_max(largest)


def _open(chart_id: str, title: str, width: int, height: int, items: Sequence[tuple[str, float]], fmt: Fmt) -> str:
    desc = "；".join(f"{label}：{fmt(value)}" for label, value in items) or "无数据"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false">'
            f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>')


def _empty(chart_id: str, title: str, width: int, height: int) -> str:
    return (_open(chart_id, title, width, height, [], _fmt_default)
            + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{TEXT}" font-size="14">暂无数据</text>'
            + "</svg>")


def _y_axis(parts: list[str], left: float, right: float, top: float, bottom: float, top_value: float,
            fmt: Fmt, ticks: int = 5) -> None:
    if top_value < ticks and float(top_value).is_integer():
        ticks = max(1, int(top_value))  # small counts: whole-number gridlines only
    for i in range(ticks + 1):
        value = top_value * i / ticks
        y = bottom - (bottom - top) * i / ticks
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="13" fill="{TEXT}">'
                     f'{escape(fmt(value))}</text>')


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, float]], *, width: int = 640,
              height: int = 260, fmt: Fmt = _fmt_default, colors: Sequence[str] | None = None) -> str:
    """Vertical columns, one per (label, value)."""
    if not items:
        return _empty(chart_id, title, width, height)
    left, right, top, bottom = 56.0, width - 12.0, 16.0, height - 40.0
    top_value = _axis_max(items)
    parts = [_open(chart_id, title, width, height, items, fmt)]
    _y_axis(parts, left, right, top, bottom, top_value, fmt)
    slot = (right - left) / len(items)
    bar = min(56.0, slot * 0.62)
    for i, (label, value) in enumerate(items):
        h = (bottom - top) * (value / top_value if top_value else 0)
        x = left + slot * i + (slot - bar) / 2
        color = (colors or [NAVY])[i % len(colors or [NAVY])]
        parts.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar:.1f}" height="{max(h, 0):.1f}" '
                     f'fill="{color}"><title>{escape(label)}：{escape(fmt(value))}</title></rect>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{bottom - h - 4:.1f}" text-anchor="middle" font-size="13" '
                     f'fill="{TEXT}">{escape(fmt(value))}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="14" '
                     f'fill="{TEXT}">{escape(label[:12])}</text>')
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{TEXT}" stroke-width="1"/>')
    return "".join(parts) + "</svg>"


def hbar_chart(chart_id: str, title: str, items: Sequence[tuple[str, float]], *, width: int = 640,
               max_value: float | None = None, fmt: Fmt = _fmt_default, color: str = NAVY) -> str:
    """Horizontal bars with long (Chinese) labels on the left."""
    row = 26
    height = max(60, 24 + row * len(items))
    if not items:
        return _empty(chart_id, title, width, 120)
    label_w, right = 190.0, width - 70.0
    top_value = max_value or nice_max(max(v for _, v in items))
    parts = [_open(chart_id, title, width, height, items, fmt)]
    for i, (label, value) in enumerate(items):
        y = 12 + i * row
        w = (right - label_w) * (value / top_value if top_value else 0)
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="14" fill="{TEXT}">'
                     f'{escape(label[:16])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{right - label_w:.1f}" height="16" fill="#eef2f7"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 0):.1f}" height="16" fill="{color}">'
                     f'<title>{escape(label)}：{escape(fmt(value))}</title></rect>')
        parts.append(f'<text x="{label_w + max(w, 0) + 6:.1f}" y="{y + 15}" font-size="14" fill="{TEXT}">'
                     f'{escape(fmt(value))}</text>')
    return "".join(parts) + "</svg>"


def line_chart(chart_id: str, title: str, points: Sequence[tuple[str, float]], *, width: int = 640,
               height: int = 240, fmt: Fmt = _fmt_default, color: str = NAVY) -> str:
    """A line over ordered (label, value) points, e.g. months."""
    if not points:
        return _empty(chart_id, title, width, height)
    left, right, top, bottom = 64.0, width - 16.0, 16.0, height - 40.0
    top_value = _axis_max(points)
    parts = [_open(chart_id, title, width, height, points, fmt)]
    _y_axis(parts, left, right, top, bottom, top_value, fmt)
    n = len(points)
    step = (right - left) / max(n - 1, 1)
    coords = [(left + step * i if n > 1 else (left + right) / 2,
               bottom - (bottom - top) * (v / top_value if top_value else 0)) for i, (_, v) in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
    label_every = max(1, math.ceil(n / 8))
    for i, ((label, value), (x, y)) in enumerate(zip(points, coords, strict=True)):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}">'
                     f'<title>{escape(label)}：{escape(fmt(value))}</title></circle>')
        if (i % label_every == 0 and n - 1 - i >= label_every / 2) or i == n - 1:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="13" fill="{TEXT}">'
                         f'{escape(label)}</text>')
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{TEXT}" stroke-width="1"/>')
    return "".join(parts) + "</svg>"

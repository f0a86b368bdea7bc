"""A small horizontal bar chart written as SVG text, with no plotting library.

Benchmark tables become pictures with this (matplotlib is not a minijit dependency).  Each
row of a table is a group of bars, one bar per series (a numeric column); values may span
orders of magnitude, so the scale is logarithmic when the largest value is more than 50 times
the smallest.  The output is deterministic: same table, same bytes.

Example:
    >>> svg = bar_chart("Per call (µs)", ["numpy", "minijit"], {"min": [1.0, 2.5]})
    >>> svg.startswith("<svg") and svg.count("<rect class=\\"bar\\"") == 2
    True
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence
from xml.sax.saxutils import escape

__all__ = ["bar_chart"]

COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
          "#ff9da7", "#9c755f", "#bab0ac")
FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _tick(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else _fmt(v)


def bar_chart(title: str, labels: Sequence[str], series: Dict[str, Sequence[Optional[float]]],
              unit: str = "", width: int = 760, note: str = "") -> str:
    """An SVG bar chart: one group per label, one bar per series (None: no bar).

    Args:
        title: printed above the chart.
        labels: the row names, top to bottom.
        series: ``{series name: one value per label}``, drawn in this order with a legend
            when there is more than one series.
        unit: appended to the axis caption.
        note: a line of small print under the chart (the source of the numbers).
    """
    names = list(series)
    values = [v for vs in series.values() for v in vs if v is not None and v > 0]
    if not values:
        values = [1.0]
    lo, hi = min(values), max(values)
    log = hi / lo > 50
    label_w = min(340, 12 + 6.6 * max((len(s) for s in labels), default=4))
    left, right, top = label_w + 10, 70, 44 + (18 if len(names) > 1 else 0)
    bar_h, gap = 14, 8
    group_h = bar_h * len(names) + gap
    plot_w = width - left - right
    height = top + group_h * len(labels) + 46 + (14 if note else 0)

    if log:
        lo_e, hi_e = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        hi_e = max(hi_e, lo_e + 1)

        def x_of(v: float) -> float:
            return plot_w * (math.log10(max(v, 10 ** lo_e)) - lo_e) / (hi_e - lo_e)
        ticks = [10.0 ** e for e in range(lo_e, hi_e + 1)]
    else:
        top_v = hi * 1.05

        def x_of(v: float) -> float:
            return plot_w * max(v, 0.0) / top_v
        step = 10 ** math.floor(math.log10(top_v / 4)) if top_v > 0 else 1
        for m in (1, 2, 5, 10):
            if top_v / (step * m) <= 6:
                step *= m
                break
        ticks = [step * k for k in range(int(top_v / step) + 1)]

    out: List[str] = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}">'),
        f'<rect width="{width}" height="{height}" fill="white"/>',
        (f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" font-size="15" '
         f'font-weight="bold" {FONT}>{escape(title)}</text>'),
    ]
    if len(names) > 1:
        x = left
        for k, name in enumerate(names):
            out.append(f'<rect x="{x}" y="34" width="12" height="12" '
                       f'fill="{COLORS[k % len(COLORS)]}"/>')
            out.append(f'<text x="{x + 16}" y="44" font-size="11" {FONT}>{escape(name)}</text>')
            x += 30 + 6.5 * len(name)
    axis_y = top + group_h * len(labels)
    for t in ticks:
        tx = left + x_of(t)
        out.append(f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{axis_y}" '
                   'stroke="#ddd" stroke-width="1"/>')
        out.append(f'<text x="{tx:.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="10" '
                   f'{FONT}>{escape(_tick(t))}</text>')
    caption = (unit + (", log scale" if log else "")).strip(", ")
    if caption:
        out.append(f'<text x="{left + plot_w / 2:.0f}" y="{axis_y + 30}" text-anchor="middle" '
                   f'font-size="11" {FONT}>{escape(caption)}</text>')
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        out.append(f'<text x="{left - 8}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end" '
                   f'font-size="11" {FONT}>{escape(label)}</text>')
        for k, name in enumerate(names):
            v = series[name][i]
            if v is None:
                continue
            w = x_of(v) if v > 0 else 0.0
            y = y0 + k * bar_h
            out.append(f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" '
                       f'height="{bar_h - 2}" fill="{COLORS[k % len(COLORS)]}">'
                       f'<title>{escape(label)} / {escape(name)}: {escape(_fmt(v))}</title></rect>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}" font-size="10" '
                       f'{FONT}>{escape(_fmt(v))}</text>')
    out.append(f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{axis_y}" stroke="#444"/>')
    if note:
        out.append(f'<text x="{width - 6}" y="{height - 6}" text-anchor="end" font-size="9" '
                   f'fill="#666" {FONT}>{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"

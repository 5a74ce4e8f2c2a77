"""Inline SVG charts for report.html: axes, units, gridlines, time labels, a tooltip (<title>) on every point."""

from __future__ import annotations

import datetime
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

W, H = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 44, 28, 44
MAX_MARKERS = 600  # points drawn as markers (with a tooltip); a longer series is a line only


@dataclass
class Series:
    """One line: a name for the legend, its colour, (x, y) points; ``dash`` for a dashed line."""

    name: str
    color: str
    points: list[tuple[float, float]]
    dash: bool = False


@dataclass
class Axis:
    """An axis: its label (with the unit), log10 scale or linear, and how a tick value is written."""

    label: str
    log: bool = False
    fmt: Callable[[float], str] = field(default=lambda v: f"{v:g}")
    ticks: Sequence[float] | None = None  # fixed tick values (else chosen)
    min_step: float = 0.0  # the smallest distance between ticks (1 for whole seconds)
    tip: Callable[[float], str] | None = None  # how a point's tooltip writes the value (else ``fmt``)


def _e(x: object) -> str:
    return html.escape(str(x))


def nice_ticks(low: float, high: float, count: int = 5, min_step: float = 0.0) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 5 times a power of ten apart, at least ``min_step``)."""
    if high <= low:
        high = low + 1
    raw = max((high - low) / count, min_step)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    start = math.floor(low / step) * step
    ticks = []
    v = start
    while v <= high + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten (and 2 and 5 times them when few) from below ``low`` to above ``high``."""
    low, high = max(low, 1e-3), max(high, low * 10)
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    mults = (1, 2, 5) if hi - lo <= 3 else (1,)
    return [m * 10 ** p for p in range(lo, hi + 1) for m in mults if low / 2 <= m * 10 ** p <= high * 2.01]


def clock(started_at: float | None) -> Callable[[float], str]:
    """Tick labels for seconds since the start: the wall-clock time when the start is known, else +N s."""
    if started_at is None:
        return lambda v: f"{v:g} s"

    def fmt(v: float) -> str:
        return datetime.datetime.fromtimestamp(int(started_at) + v).strftime("%H:%M:%S")

    return fmt


def clock_tip(started_at: float | None) -> Callable[[float], str]:
    """A point's time in a tooltip: the clock time and the seconds from the start."""
    at = clock(started_at)
    return lambda v: f"{at(v)}, +{v:g} s" if started_at is not None else at(v)


class _Scale:
    def __init__(self, low: float, high: float, a: float, b: float, log: bool) -> None:
        self.log = log
        if log:
            low, high = math.log10(max(low, 1e-6)), math.log10(max(high, 1e-6))
        self.low, self.high = low, (high if high > low else low + 1)
        self.a, self.b = a, b

    def __call__(self, v: float) -> float:
        if self.log:
            v = math.log10(max(v, 1e-6))
        return self.a + (self.b - self.a) * (v - self.low) / (self.high - self.low)


def _frame(title: str, kind: str) -> list[str]:
    return [f'<figure class="chart" data-chart="{_e(kind)}"><figcaption>{_e(title)}</figcaption>'
            f'<svg viewBox="0 0 {W} {H}" width="100%" preserveAspectRatio="xMidYMid meet" role="img" '
            f'aria-label="{_e(title)}"><rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>']


def _axes(parts: list[str], xs: _Scale, ys: _Scale, xa: Axis, ya: Axis, xt: Sequence[float],
          yt: Sequence[float]) -> None:
    """Gridlines, tick labels and the axis labels."""
    for v in yt:
        y = ys(v)
        if TOP - 1 <= y <= H - BOTTOM + 1:
            parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                         f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(ya.fmt(v))}</text>')
    for v in xt:
        x = xs(v)
        if LEFT - 1 <= x <= W - RIGHT + 1:
            parts.append(f'<line class="grid" y1="{TOP}" y2="{H - BOTTOM}" x1="{x:.1f}" x2="{x:.1f}"/>'
                         f'<text class="tick" x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">'
                         f'{_e(xa.fmt(v))}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}"/>'
                 f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}"/>'
                 f'<text class="label" x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" text-anchor="middle">{_e(xa.label)}</text>'
                 f'<text class="label" transform="translate(14 {(TOP + H - BOTTOM) / 2}) rotate(-90)" '
                 f'text-anchor="middle">{_e(ya.label)}</text>')


def _legend(parts: list[str], items: list[tuple[str, str, bool]]) -> None:
    x = LEFT
    for name, color, dash in items:
        style = ' stroke-dasharray="6 3"' if dash else ""
        parts.append(f'<line x1="{x}" x2="{x + 18}" y1="14" y2="14" stroke="{color}" stroke-width="2.5"{style}/>'
                     f'<text class="legend" x="{x + 23}" y="18">{_e(name)}</text>')
        x += 40 + 7 * len(name) + 5 * sum(1 for c in name if ord(c) > 0x2e80)  # CJK glyphs are wider


def line_chart(title: str, kind: str, series: list[Series], xa: Axis, ya: Axis, *,
               lines: Sequence[tuple[float, str, str]] = (), fmt_x: Callable[[float], str] | None = None,
               y_zero: bool = True) -> str:
    """A line chart of ``series``; ``lines``: horizontal lines (value, label, colour) such as a target."""
    pts = [p for s in series for p in s.points]
    if not pts:
        return ""
    x_lo, x_hi = min(p[0] for p in pts), max(p[0] for p in pts)
    ys_all = [p[1] for p in pts] + [v for v, _, _ in lines]
    y_lo = (min(y for y in ys_all if y > 0) if any(y > 0 for y in ys_all) else 1) if ya.log else \
        (0.0 if y_zero else min(ys_all))
    y_hi = max(ys_all) or 1
    xt = list(xa.ticks) if xa.ticks is not None else (log_ticks(x_lo, x_hi) if xa.log else
                                                       nice_ticks(x_lo, x_hi, 8, xa.min_step))
    yt = list(ya.ticks) if ya.ticks is not None else (log_ticks(y_lo, y_hi) if ya.log else nice_ticks(y_lo, y_hi))
    if not ya.log:
        y_hi = max(y_hi, yt[-1])
    if xa.ticks is None and not xa.log:
        x_lo, x_hi = min(x_lo, xt[0]), max(x_hi, xt[-1])
    xs = _Scale(x_lo, x_hi if x_hi > x_lo else x_lo + 1, LEFT, W - RIGHT, xa.log)
    ys = _Scale(y_lo, y_hi, H - BOTTOM, TOP, ya.log)
    parts = _frame(title, kind)
    _axes(parts, xs, ys, xa, ya, xt, yt)
    for i, (value, label, color) in enumerate(lines):
        y = ys(value)
        lx = W - RIGHT - 4 - 230 * i  # labels of close lines side by side, not on top of each other
        parts.append(f'<line class="target" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" '
                     f'stroke-dasharray="8 4" stroke-width="1.5"><title>{_e(label)}</title></line>'
                     f'<text class="legend target-label" x="{lx}" y="{y - 4:.1f}" text-anchor="end" fill="{color}">'
                     f'{_e(label)}</text>')
    fx = fmt_x or xa.tip or xa.fmt
    for s in series:
        if not s.points:
            continue
        dash = ' stroke-dasharray="6 3"' if s.dash else ""
        coords = " ".join(f"{xs(x):.1f},{ys(y):.1f}" for x, y in s.points)
        parts.append(f'<polyline class="series" fill="none" stroke="{s.color}" stroke-width="1.8"{dash} '
                     f'points="{coords}"/>')
        if len(s.points) <= MAX_MARKERS:
            parts.extend(f'<circle class="pt" cx="{xs(x):.1f}" cy="{ys(y):.1f}" r="2.6" fill="{s.color}">'
                         f'<title>{_e(s.name)}: {_e(ya.fmt(y))} ({_e(fx(x))})</title></circle>' for x, y in s.points)
    _legend(parts, [(s.name, s.color, s.dash) for s in series])
    parts.append("</svg></figure>")
    return "".join(parts)


def bar_chart(title: str, kind: str, bars: list[tuple[float, float, int]], xa: Axis, ya: Axis, *,
              color: str = "#1f6feb", tip: Callable[[float, float, int], str] | None = None) -> str:
    """Bars from ``low`` to ``high`` on the x axis (log or linear), ``count`` high."""
    if not bars:
        return ""
    x_lo, x_hi = min(b[0] for b in bars), max(b[1] for b in bars)
    c_hi = max(b[2] for b in bars) or 1
    xt = log_ticks(x_lo, x_hi) if xa.log else nice_ticks(x_lo, x_hi, 8)
    yt = nice_ticks(0, c_hi)
    xs = _Scale(x_lo, x_hi, LEFT, W - RIGHT, xa.log)
    ys = _Scale(0, max(c_hi, yt[-1]), H - BOTTOM, TOP, False)
    parts = _frame(title, kind)
    _axes(parts, xs, ys, xa, ya, xt, yt)
    for low, high, count in bars:
        x0, x1 = xs(low), xs(high)
        y = ys(count)
        text = tip(low, high, count) if tip else f"{low:g}-{high:g}: {count:,}"
        parts.append(f'<rect class="bar" x="{x0:.1f}" y="{y:.1f}" width="{max(1.0, x1 - x0 - 1):.1f}" '
                     f'height="{max(0.0, H - BOTTOM - y):.1f}" fill="{color}"><title>{_e(text)}</title></rect>')
    parts.append("</svg></figure>")
    return "".join(parts)

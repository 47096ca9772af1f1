"""Plot geometry for inline SVG. Pure: numbers and labels in, coordinates out. The template draws
the shapes, so every label (device and model names come from users) passes jinja's autoescape."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Colour-blind-safe (Okabe-Ito); models keep one colour across every plot.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def nice_ticks(vmax: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least vmax."""
    if not vmax or vmax <= 0 or not math.isfinite(vmax):
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    count = math.ceil(vmax / step - 1e-9)
    return [round(i * step, 12) for i in range(count + 1)]


def fmt_tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


@dataclass
class Bar:
    label: str
    y: float
    width: float
    value: float
    text: str
    color: str
    lo: float | None = None  # whisker ends (x coordinates)
    hi: float | None = None
    title: str = ""


@dataclass
class Axis:
    x: float
    label: str


@dataclass
class HBarChart:
    """Horizontal bars with optional whiskers: one row per label."""

    title: str
    unit: str
    width: int
    height: int
    left: int
    plot_width: int
    bars: list[Bar]
    ticks: list[Axis]
    bar_height: float
    legend: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    label_chars: int = 22  # longer labels are cut (the full name is in the tooltip and the tables)


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def hbar_chart(
    title: str,
    unit: str,
    rows: list[dict],
    *,
    width: int = 560,
    left: int = 150,
    row_height: int = 22,
    legend: list[tuple[str, str]] | None = None,
    note: str = "",
) -> HBarChart:
    """rows: {label, value, color, lo?, hi?, title?}. Values None, NaN or infinite are drawn as 'n/a'
    (an SVG width of 'nan' draws nothing and reads as a number)."""
    rows = [{**r, **{k: _finite(r.get(k)) for k in ("value", "lo", "hi")}} for r in rows]
    top, bottom, right = 8, 30, 70
    plot_w = width - left - right
    vmax = max([r.get("hi") or 0 for r in rows] + [r["value"] or 0 for r in rows] + [0])
    ticks = nice_ticks(vmax)
    scale = plot_w / ticks[-1]
    bars = []
    for i, r in enumerate(rows):
        v = r["value"]
        bars.append(
            Bar(
                label=r["label"],
                y=top + i * row_height,
                width=(v or 0) * scale,
                value=v or 0,
                text=r.get("missing", "n/a") if v is None else fmt_tick(v),
                color=r.get("color", PALETTE[0]),
                lo=r["lo"] * scale if r.get("lo") is not None else None,
                hi=r["hi"] * scale if r.get("hi") is not None else None,
                title=r.get("title", ""),
            )
        )
    height = top + len(rows) * row_height + bottom
    return HBarChart(
        title,
        unit,
        width,
        height,
        left,
        plot_w,
        bars,
        [Axis(t * scale, fmt_tick(t)) for t in ticks],
        row_height * 0.7,
        legend or [],
        note,
        max(8, int((left - 10) / 6.3)),
    )


@dataclass
class Line:
    label: str
    color: str
    points: str  # "x,y x,y ..." for <polyline>


@dataclass
class LineChart:
    title: str
    x_label: str
    y_label: str
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    lines: list[Line]
    xticks: list[Axis]
    yticks: list[Axis]


def line_chart(
    title: str,
    x_label: str,
    y_label: str,
    series: list[tuple[str, list[float], list[float]]],
    *,
    width: int = 560,
    height: int = 260,
) -> LineChart:
    """series: (label, xs, ys). Axes start at 0 (x) and at the data minimum rounded down (y)."""
    left, top, right, bottom = 60, 10, 20, 40
    pw, ph = width - left - right, height - top - bottom
    xs = [x for _, sx, _ in series for x in sx if x is not None and math.isfinite(x)]
    ys = [y for _, _, sy in series for y in sy if y is not None and math.isfinite(y)]
    xt = nice_ticks(max(xs) if xs else 1)
    ylo, yhi = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if yhi - ylo < 1e-12:
        ylo, yhi = ylo - 0.5, yhi + 0.5
    span_ticks = nice_ticks(yhi - ylo)
    step = span_ticks[1] - span_ticks[0] if len(span_ticks) > 1 else 1
    y0 = math.floor(ylo / step) * step
    yt = [y0 + i * step for i in range(math.ceil((yhi - y0) / step - 1e-9) + 1)]
    if len(yt) < 2:
        yt.append(y0 + step)
    sx, sy = pw / xt[-1], ph / (yt[-1] - yt[0])
    lines = []
    for i, (label, lx, ly) in enumerate(series):
        pts = " ".join(
            f"{left + x * sx:.1f},{top + ph - (y - yt[0]) * sy:.1f}"
            for x, y in zip(lx, ly, strict=True)
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
        )
        lines.append(Line(label, PALETTE[i % len(PALETTE)], pts))
    return LineChart(
        title,
        x_label,
        y_label,
        width,
        height,
        left,
        top,
        pw,
        ph,
        lines,
        [Axis(left + t * sx, fmt_tick(t)) for t in xt],
        [Axis(top + ph - (t - yt[0]) * sy, fmt_tick(round(t, 12))) for t in yt],
    )

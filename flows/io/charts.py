"""Small inline SVG charts for the run report: no scripts, no external files, all text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from flows.io.report_data import Trend

_BAR = "#4a6fa5"
_MARK = "#b3261e"
_AXIS = "#5b6472"
_BAND = "#e3e8f0"
_FONT = 'font-family="system-ui,sans-serif" font-size="11"'


def _num(value: float) -> str:
    """Format a coordinate compactly."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = _AXIS) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" fill="{fill}" {_FONT}>'
        f"{escape(text)}</text>"
    )


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    # Markup: every piece of text inside went through escape() above.
    return Markup(
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def histogram_svg(
    counts: Sequence[int],
    lo: float,
    hi: float,
    label: str,
    marker: float | None = None,
    marker_label: str = "",
    width: int = 560,
    height: int = 190,
) -> Markup:
    """Draw a histogram of equal bins over [lo, hi], with an optional vertical marker line."""
    left, right, top, bottom = 40, 12, 18, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts, default=0)
    bw = plot_w / max(len(counts), 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{_AXIS}"/>',
        _text(left - 4, top + 4, str(peak), "end"),
        _text(left - 4, top + plot_h, "0", "end"),
    ]
    step = (hi - lo) / max(len(counts), 1)
    for i, n in enumerate(counts):
        if not n:
            continue
        h = plot_h * n / peak
        x, y = left + i * bw, top + plot_h - h
        body.append(
            f'<rect x="{_num(x + 0.5)}" y="{_num(y)}" width="{_num(max(bw - 1, 1))}" '
            f'height="{_num(h)}" fill="{_BAR}"><title>'
            f"{escape(f'{lo + i * step:.2f}-{lo + (i + 1) * step:.2f}: {n}')}</title></rect>"
        )
    for frac in (0, 0.5, 1):
        body.append(_text(left + frac * plot_w, top + plot_h + 14, f"{lo + frac * (hi - lo):g}"))
    if peak == 0:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, "no values", "middle"))
    if marker is not None and lo <= marker <= hi:
        mx = left + plot_w * (marker - lo) / (hi - lo)
        body.append(
            f'<line x1="{_num(mx)}" y1="{top - 4}" x2="{_num(mx)}" y2="{top + plot_h}" '
            f'stroke="{_MARK}" stroke-width="2" stroke-dasharray="5,3"/>'
        )
        body.append(_text(mx, top - 7, marker_label, "middle", _MARK))
    body.append(_text(left + plot_w / 2, height - 4, label, "middle"))
    return _svg(width, height, label, body)


def bars_svg(
    items: Sequence[tuple[str, int]], label: str, width: int = 560, row: int = 20
) -> Markup:
    """Draw labelled horizontal bars (largest first as given)."""
    label_w, count_w = 220, 44
    height = max(len(items), 1) * row + 8
    plot_w = width - label_w - count_w
    peak = max((n for _, n in items), default=0)
    body = []
    for i, (name, n) in enumerate(items):
        y = 4 + i * row
        shown = name if len(name) <= 34 else name[:33] + "…"
        w = plot_w * n / peak if peak else 0
        body.append(
            f"<g><title>{escape(f'{name}: {n}')}</title>"
            + _text(label_w - 6, y + row * 0.7, shown, "end", "#1d2430")
            + f'<rect x="{label_w}" y="{y + 3}" width="{_num(max(w, 1))}" '
            f'height="{row - 6}" fill="{_BAR}"/>'
            + _text(label_w + w + 4, y + row * 0.7, str(n))
            + "</g>"
        )
    if not items:
        body.append(_text(width / 2, row * 0.7, "nothing to show", "middle"))
    return _svg(width, height, label, body)


def trend_svg(trend: Trend, width: int = 270, height: int = 120) -> Markup:
    """Draw one metric across runs: the earlier runs' band shaded, this run's point last."""
    left, right, top, bottom = 52, 10, 20, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [float(v) for v in trend.values if v is not None]
    bounds = known + (list(trend.band) if trend.band else [])
    lo, hi = (min(bounds), max(bounds)) if bounds else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    # Every metric is a count or a share: an axis (or band) below zero would only confuse.
    lo, hi = max(lo - pad, 0.0), hi + pad

    def fmt(v: float) -> str:
        return f"{100 * v:.1f}%" if trend.share else f"{v:.4g}"

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    n = len(trend.values)
    xs = [left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]
    now = trend.values[-1] if trend.values else None
    color = _MARK if trend.drifted else "#1d2430"
    title = f"{trend.label}: {fmt(now) if now is not None else 'n/a'}"
    if trend.drifted:
        title += " (drift)"
    body = [_text(left, 12, title, "start", color)]
    if trend.band:
        y1, y2 = y_of(trend.band[1]), y_of(max(trend.band[0], lo))
        body.append(
            f'<rect x="{left}" y="{_num(y1)}" width="{plot_w}" height="{_num(max(y2 - y1, 1))}" '
            f'fill="{_BAND}"><title>{escape(f"band {fmt(trend.band[0])} to {fmt(trend.band[1])}")}'
            "</title></rect>"
        )
    body.append(_text(left - 4, top + 4, fmt(hi), "end"))
    body.append(_text(left - 4, top + plot_h, fmt(lo), "end"))
    segment: list[str] = []
    for x, v in zip(xs, trend.values, strict=True):
        if v is None:
            if len(segment) > 1:
                body.append(_polyline(segment))
            segment = []
            continue
        segment.append(f"{_num(x)},{_num(y_of(float(v)))}")
    if len(segment) > 1:
        body.append(_polyline(segment))
    for i, (x, v, run_id) in enumerate(zip(xs, trend.values, trend.run_ids, strict=True)):
        if v is None:
            continue
        last = i == n - 1
        fill = (_MARK if trend.drifted else "#1d2430") if last else _BAR
        body.append(
            f'<circle cx="{_num(x)}" cy="{_num(y_of(float(v)))}" r="{4 if last else 2.5}" '
            f'fill="{fill}"><title>{escape(f"{run_id}: {fmt(float(v))}")}</title></circle>'
        )
    body.append(_text(left + plot_w, height - 3, f"last {n} runs", "end"))
    return _svg(width, height, title, body)


def _polyline(points: list[str]) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{_BAR}" stroke-width="1.5"/>'

"""Charts drawn on the server as SVG: no JavaScript, no library, readable by screen readers.

Every chart is an ``<svg role="img">`` whose ``<title>`` names it and whose ``<desc>`` says
in words what it shows, value by value, so that a person who cannot see it loses nothing.
All text is escaped. The three charts the workspace uses:

* ``trend_chart``: a score over time (PHQ-9, GAD-7) with the clinical cut-off as a dashed line.
* ``profile_chart``: several series over sessions (the defense profile: one line per level).
* ``norms_chart``: indicators beside their norms (Hall and Van de Castle), as paired bars.

Each returns ``markupsafe.Markup`` (safe to put into a Jinja template as it is).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

from markupsafe import Markup

__all__ = ["PALETTE", "norms_chart", "profile_chart", "trend_chart"]

# Colours distinguishable with the common colour-vision deficiencies (Okabe and Ito), and
# each series also has its own dash pattern and marker, so colour is never the only cue.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
_DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")
_WIDTH, _HEIGHT = 560, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 16, 16, 40


def _id(title: str, kind: str) -> str:
    return f"{kind}-{hashlib.sha1(title.encode()).hexdigest()[:8]}"


def _fmt(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _frame(chart_id: str, title: str, desc: str, body: list[str], height: int = _HEIGHT) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {_WIDTH} {height}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" id="{chart_id}">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _tick_step(y_max: float, most: int = 6) -> float:
    """A round step (1, 2 or 5 times a power of ten, never below 1: the charts show scores and
    counts) giving at most ``most`` steps up to ``y_max``."""
    if y_max <= most:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(y_max / most))
    for factor in (1, 2, 5, 10):
        if y_max / (factor * magnitude) <= most:
            return float(factor * magnitude)
    return float(10 * magnitude)  # pragma: no cover - 10 x magnitude always fits


def _y_axis(y_max: float, scale: float) -> list[str]:
    """Grid lines and labels at round values (0, 5, 10, ... for a 0-27 scale)."""
    parts = []
    step = _tick_step(y_max)
    for i in range(int(y_max / step + 1e-9) + 1):
        value = i * step
        y = _HEIGHT - _BOTTOM - value * scale
        parts.append(
            f'<line x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd" />'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_fmt(value)}</text>'
        )
    return parts


def trend_chart(
    points: Sequence[tuple[datetime, float]],
    *,
    title: str,
    y_max: float,
    cutoff: float | None = None,
    cutoff_label: str = "clinical cut-off",
) -> Markup:
    """A score over time, oldest left, with a dashed cut-off line. With no points the chart
    says so (it never draws an empty line as if it were data)."""
    chart_id = _id(title, "trend")
    if not points:
        return _frame(chart_id, title, "No scores yet.", [_empty()])
    points = sorted(points)
    scale = (_HEIGHT - _TOP - _BOTTOM) / y_max
    span = _WIDTH - _LEFT - _RIGHT
    step = span / max(1, len(points) - 1)
    body = _y_axis(y_max, scale)
    coords = []
    for i, (when, value) in enumerate(points):
        x = _LEFT + (i * step if len(points) > 1 else span / 2)
        y = _HEIGHT - _BOTTOM - min(value, y_max) * scale
        coords.append((x, y, when, value))
    if cutoff is not None:
        y = _HEIGHT - _BOTTOM - cutoff * scale
        body.append(
            f'<line class="cutoff" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#B00020" stroke-width="1.5" stroke-dasharray="6 4" />'
            f'<text x="{_WIDTH - _RIGHT}" y="{y - 4:.1f}" text-anchor="end" font-size="11" fill="#B00020">'
            f"{escape(cutoff_label)} ({_fmt(cutoff)})</text>"
        )
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in coords)
    body.append(f'<polyline points="{line}" fill="none" stroke="{PALETTE[0]}" stroke-width="2" />')
    for i, (x, y, when, value) in enumerate(coords):
        # the first and last date labels are anchored inwards, so that they stay inside the frame
        anchor = "middle" if len(coords) == 1 or 0 < i < len(coords) - 1 else ("start" if i == 0 else "end")
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[0]}">'
            f"<title>{when:%Y-%m-%d}: {_fmt(value)}</title></circle>"
            f'<text x="{x:.1f}" y="{_HEIGHT - _BOTTOM + 16}" text-anchor="{anchor}" font-size="10">'
            f"{when:%d %b}</text>"
        )
    listed = "; ".join(f"{when:%Y-%m-%d} {_fmt(value)}" for _, _, when, value in coords)
    above = sum(1 for _, _, _, v in coords if cutoff is not None and v >= cutoff)
    desc = f"{len(coords)} scores, oldest first: {listed}."
    if cutoff is not None:
        desc += f" {above} of {len(coords)} at or above the {cutoff_label} of {_fmt(cutoff)}."
    return _frame(chart_id, title, desc, body)


def profile_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str) -> Markup:
    """Several series over the same points (e.g. sessions), one line each with its own colour,
    dash and legend entry. Every series must have one value per label."""
    chart_id = _id(title, "profile")
    if not labels or not series:
        return _frame(chart_id, title, "Nothing recorded yet.", [_empty()])
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    top = max(1.0, max(max(values) for values in series.values()))
    height = _HEIGHT + 18 * ((len(series) + 2) // 3)
    scale = (_HEIGHT - _TOP - _BOTTOM) / top
    span = _WIDTH - _LEFT - _RIGHT
    step = span / max(1, len(labels) - 1)
    body = _y_axis(top, scale)
    for i, label in enumerate(labels):
        x = _LEFT + (i * step if len(labels) > 1 else span / 2)
        body.append(
            f'<text x="{x:.1f}" y="{_HEIGHT - _BOTTOM + 16}" text-anchor="middle" font-size="10">'
            f"{escape(label)}</text>"
        )
    described = []
    for k, (name, values) in enumerate(series.items()):
        colour, dash = PALETTE[k % len(PALETTE)], _DASHES[k % len(_DASHES)]
        coords = [
            (_LEFT + (i * step if len(labels) > 1 else span / 2), _HEIGHT - _BOTTOM - v * scale)
            for i, v in enumerate(values)
        ]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(
            f'<polyline class="series" points="{line}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash}"><title>{escape(name)}</title></polyline>'
        )
        lx = _LEFT + (k % 3) * 170
        ly = _HEIGHT + 18 * (k // 3) - 4
        body.append(
            f'<line x1="{lx}" x2="{lx + 24}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash}" /><text x="{lx + 30}" y="{ly}" font-size="11">{escape(name)}</text>'
        )
        described.append(f"{name}: " + ", ".join(_fmt(v) for v in values))
    desc = f"Values for {len(labels)} points ({', '.join(labels)}). " + "; ".join(described) + "."
    return _frame(chart_id, title, desc, body, height)


def norms_chart(
    rows: Sequence[tuple[str, float | None, float | None]], *, title: str, unit: str = "%"
) -> Markup:
    """Paired horizontal bars: each row's value (solid) above its norm (hatched grey), with the
    numbers written beside them. A missing value or norm is written as "not computed"."""
    chart_id = _id(title, "norms")
    if not rows:
        return _frame(chart_id, title, "Nothing to compare yet.", [_empty()])
    label_w, bar_h, gap = 190, 10, 12
    height = _TOP + len(rows) * (2 * bar_h + gap) + 28
    top = max([1.0] + [v for _, a, b in rows for v in (a, b) if v is not None])
    scale = (_WIDTH - label_w - 70) / top
    body = [
        f'<pattern id="{chart_id}-hatch" width="4" height="4" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="2" height="4" fill="#777" /></pattern>'
    ]
    described = []
    for i, (label, value, norm) in enumerate(rows):
        y = _TOP + i * (2 * bar_h + gap)
        body.append(
            f'<text x="{label_w - 8}" y="{y + bar_h + 4}" text-anchor="end" font-size="11">{escape(label)}</text>'
        )
        for j, (amount, fill, name) in enumerate(
            ((value, PALETTE[0], "client"), (norm, f"url(#{chart_id}-hatch)", "norm"))
        ):
            by = y + j * bar_h
            if amount is None:
                body.append(
                    f'<text x="{label_w}" y="{by + bar_h - 1}" font-size="10">{name}: not computed</text>'
                )
                continue
            width = max(1.0, amount * scale)
            body.append(
                f'<rect class="bar-{name}" x="{label_w}" y="{by}" width="{width:.1f}" height="{bar_h - 1}" '
                f'fill="{fill}"><title>{escape(label)}, {name}: {_fmt(amount)}{unit}</title></rect>'
                f'<text x="{label_w + width + 4:.1f}" y="{by + bar_h - 1}" font-size="10">{_fmt(amount)}{unit}</text>'
            )
        shown = [
            f"{name} {'not computed' if v is None else _fmt(v) + unit}"
            for name, v in (("client", value), ("norm", norm))
        ]
        described.append(f"{label}: {', '.join(shown)}")
    legend_y = height - 10
    body.append(
        f'<rect x="{label_w}" y="{legend_y - 9}" width="14" height="9" fill="{PALETTE[0]}" />'
        f'<text x="{label_w + 18}" y="{legend_y}" font-size="11">client</text>'
        f'<rect x="{label_w + 80}" y="{legend_y - 9}" width="14" height="9" fill="url(#{chart_id}-hatch)" />'
        f'<text x="{label_w + 98}" y="{legend_y}" font-size="11">norm</text>'
    )
    return _frame(chart_id, title, "; ".join(described) + ".", body, height)


def _empty() -> str:
    return f'<text x="{_WIDTH / 2}" y="{_HEIGHT / 2}" text-anchor="middle" font-size="13">No data yet</text>'

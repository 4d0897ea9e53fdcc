"""Server-side SVG charts: well-formed, described for screen readers, drawn to scale."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest

from reverie.web.plots import norms_chart, profile_chart, trend_chart

NS = {"s": "http://www.w3.org/2000/svg"}


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_trend_chart_points_cutoff_and_description() -> None:
    points = [(datetime(2025, 1, d), score) for d, score in [(1, 15), (8, 12), (15, 8)]]
    root = _parse(trend_chart(points, title="PHQ-9 <over time>", y_max=27, cutoff=10))
    assert root.get("role") == "img"
    assert root.find("s:title", NS) is not None
    assert root.findtext("s:title", namespaces=NS) == "PHQ-9 <over time>"  # escaped, read back intact
    desc = root.findtext("s:desc", namespaces=NS) or ""
    assert "2025-01-01 15" in desc and "2 of 3 at or above" in desc
    circles = root.findall("s:circle", NS)
    assert len(circles) == 3
    ys = [float(c.get("cy", "0")) for c in circles]
    assert ys[0] < ys[1] < ys[2]  # higher score is drawn higher
    cutoff = next(line for line in root.findall("s:line", NS) if line.get("class") == "cutoff")
    y_cut = float(cutoff.get("y1", "0"))
    assert ys[1] < y_cut < ys[2]  # 12 above the cut-off of 10, 8 below


def test_trend_chart_without_scores_says_so() -> None:
    root = _parse(trend_chart([], title="GAD-7", y_max=21, cutoff=10))
    assert root.findtext("s:desc", namespaces=NS) == "No scores yet."
    assert root.findall("s:circle", NS) == []


def test_profile_chart_one_line_per_series() -> None:
    svg = profile_chart(["S1", "S2", "S3"], {"mature": [1, 2, 3], "immature": [3, 1, 0]}, title="Defenses")
    root = _parse(svg)
    lines = root.findall("s:polyline", NS)
    assert [line.findtext("s:title", namespaces=NS) for line in lines] == ["mature", "immature"]
    assert "mature: 1, 2, 3" in (root.findtext("s:desc", namespaces=NS) or "")
    with pytest.raises(ValueError):
        profile_chart(["S1"], {"mature": [1, 2]}, title="x")


def test_norms_chart_bars_scale_and_missing_values() -> None:
    root = _parse(
        norms_chart([("Aggression/Friendliness", 60.0, 30.0), ("Self-negativity", None, 35.0)], title="HVdC")
    )
    client = [r for r in root.findall("s:rect", NS) if r.get("class") == "bar-client"]
    norm = [r for r in root.findall("s:rect", NS) if r.get("class") == "bar-norm"]
    assert len(client) == 1 and len(norm) == 2
    assert float(client[0].get("width", "0")) == pytest.approx(2 * float(norm[0].get("width", "0")))
    assert "client not computed" in (root.findtext("s:desc", namespaces=NS) or "")


def test_ids_differ_between_charts() -> None:
    a = _parse(trend_chart([], title="PHQ-9", y_max=27))
    b = _parse(trend_chart([], title="GAD-7", y_max=21))
    assert a.get("id") != b.get("id")


@pytest.mark.parametrize(
    ("y_max", "labels"),
    [
        (27, ["0", "5", "10", "15", "20", "25"]),
        (21, ["0", "5", "10", "15", "20"]),
        (3, ["0", "1", "2", "3"]),
        (12, ["0", "2", "4", "6", "8", "10", "12"]),
    ],
    ids=["phq9", "gad7", "small-count", "twelve"],
)
def test_the_y_axis_is_labelled_at_round_values(y_max: float, labels: list[str]) -> None:
    root = _parse(trend_chart([(datetime(2025, 1, 1), 1.0)], title="t", y_max=y_max))
    axis = [t.text for t in root.findall("s:text", NS) if t.get("text-anchor") == "end"]
    assert axis == labels
    lines = [float(line.get("y1", "0")) for line in root.findall("s:line", NS)]
    assert lines == sorted(lines, reverse=True) and len(lines) == len(labels)  # drawn bottom up, evenly
    gaps = [a - b for a, b in itertools.pairwise(lines)]
    assert max(gaps) - min(gaps) < 0.2  # even spacing (coordinates are written to 0.1)

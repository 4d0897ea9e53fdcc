"""WCAG 2.x contrast of the palette, computed from the stylesheets' CSS custom properties.

Text pairs need at least 4.5:1 (AA, normal text); the focus outline at least 3:1 against the
page (AA, non-text). The pairs are the ones the stylesheets actually combine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "reverie" / "web" / "static"

# (text, background) as used in app.css / clinic.css
TEXT_PAIRS = [
    ("fg", "bg"),
    ("muted", "bg"),
    ("accent", "bg"),
    ("accent-dark", "bg"),
    ("error", "bg"),
    ("fg", "panel"),
    ("muted", "panel"),
    ("accent", "panel"),
    ("accent-dark", "panel"),
    ("error", "panel"),
    ("fg", "client"),
    ("accent-dark", "client"),
    ("muted", "client"),
    ("crisis-fg", "crisis-bg"),
    ("fg", "crisis-bg"),
    ("crisis-fg", "bg"),
    ("on-accent", "accent"),
    ("on-accent", "accent-dark"),
    ("fg", "field"),
    ("accent", "field"),
    ("fg", "sunk"),
    ("muted", "sunk"),
    ("accent", "sunk"),
    ("tab-current-fg", "tab-current-bg"),
    ("mark-fg", "mark-bg"),
    ("key-moment", "key-moment-bg"),
    ("key-moment", "panel"),
    ("flag-fg", "panel"),
    ("flag-fg", "bg"),
    ("flag-fg", "crisis-bg"),
    ("flag-fg", "row-denied-bg"),
    ("deid-fg", "deid-bg"),
    ("deid-fg", "bg"),
    ("deid-fg", "panel"),
    ("fg", "row-alt"),
    ("muted", "row-alt"),
    ("accent", "row-alt"),
    ("row-denied-fg", "row-denied-bg"),
    ("fg", "row-denied-bg"),
    ("accent", "row-denied-bg"),
    ("chart-text", "panel"),
    ("fg", "banner-bg"),
    ("accent", "banner-bg"),
]
NON_TEXT_PAIRS = [("focus", "bg"), ("focus", "panel"), ("field-border", "field")]


def _palette() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("app.css", "clinic.css"):
        css = (STATIC / name).read_text()
        for block in re.findall(r":root\s*{([^}]*)}", css):
            found.update(dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\b", block)))
    return found


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near-miss grey
    assert contrast("#1f5f8b", "#1f5f8b") == pytest.approx(1.0)


def test_every_colour_named_in_a_pair_is_defined_once_as_six_digit_hex() -> None:
    palette = _palette()
    for text, background in TEXT_PAIRS + NON_TEXT_PAIRS:
        assert text in palette and background in palette, (text, background)


@pytest.mark.parametrize(("text", "background"), TEXT_PAIRS, ids=[f"{t}-on-{b}" for t, b in TEXT_PAIRS])
def test_text_colours_meet_wcag_aa(text: str, background: str) -> None:
    palette = _palette()
    ratio = contrast(palette[text], palette[background])
    assert ratio >= 4.5, f"--{text} {palette[text]} on --{background} {palette[background]}: {ratio:.2f}:1"


@pytest.mark.parametrize(
    ("part", "background"), NON_TEXT_PAIRS, ids=[f"{t}-on-{b}" for t, b in NON_TEXT_PAIRS]
)
def test_focus_outline_and_field_borders_meet_the_non_text_minimum(part: str, background: str) -> None:
    palette = _palette()
    ratio = contrast(palette[part], palette[background])
    assert ratio >= 3.0, f"--{part} {palette[part]} on --{background} {palette[background]}: {ratio:.2f}:1"


def test_the_stylesheets_use_no_colour_outside_the_checked_palette() -> None:
    """Colours in rules (not in :root) come through var(--...), so the pairs above cover them;
    the one exception is the decorative underline of highlighted evidence."""
    allowed = {"#b38f00"}
    for name in ("app.css", "clinic.css"):
        css = re.sub(r":root\s*{[^}]*}", "", (STATIC / name).read_text())
        css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
        stray = set(re.findall(r"#[0-9a-fA-F]{3,6}\b", css)) - allowed
        assert not stray, f"{name}: {sorted(stray)}"

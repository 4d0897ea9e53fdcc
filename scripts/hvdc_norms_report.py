"""Code the Hall–Van de Castle normative dream reports and set our indicators beside the norms.

Usage: python scripts/hvdc_norms_report.py PATH/TO/hvdc_norms_dev.csv > table.md

The CSV has the columns ``sex`` (m or f), ``n`` and ``dream`` (the DreamBank export). The
dreams are coded with ``reverie.analysis.hvdc.code_dream`` and pooled per dreamer sex; the
markdown table on standard output gives, for men and for women, our value, the published
norm where reverie has a confirmed one, and Cohen's h. Nothing of the dream texts is
printed. The time taken goes to standard error.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from reverie.analysis.hvdc import DreamCoding, code_dream
from reverie.analysis.hvdc_indicators import NormComparison, compare_with_norms, indicators

_SEXES = {"m": "male", "f": "female"}


def _read(path: Path) -> dict[str, list[str]]:
    dreams: dict[str, list[str]] = {"male": [], "female": []}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            sex = _SEXES.get((row.get("sex") or "").strip().lower())
            if sex is None or not (row.get("dream") or "").strip():
                raise SystemExit(f"{path}:{line}: expected sex m or f and a dream text; fix the row.")
            dreams[sex].append(row["dream"])
    return dreams


def _cell(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}%" if kind == "percent" else f"{value:.2f}"


def _h(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def table(rows: dict[str, list[NormComparison]], counts: dict[str, int]) -> str:
    """The markdown table: one line per indicator, men then women."""
    men, women = rows["male"], rows["female"]
    out = [
        f"| Indicator | Men: ours (n={counts['male']}) | Men: norm | h | "
        f"Women: ours (n={counts['female']}) | Women: norm | h |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m, w in zip(men, women, strict=True):
        out.append(
            f"| {m.label} | {_cell(m.value, m.kind)} | {_cell(m.norm, m.kind)} | {_h(m.h)} | "
            f"{_cell(w.value, w.kind)} | {_cell(w.norm, w.kind)} | {_h(w.h)} |"
        )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("csv", type=Path, help="hvdc_norms_dev.csv (columns sex, n, dream)")
    args = parser.parse_args(argv)
    dreams = _read(args.csv)
    started = time.perf_counter()
    codings: dict[str, list[DreamCoding]] = {
        sex: [code_dream(d) for d in texts] for sex, texts in dreams.items()
    }
    elapsed = time.perf_counter() - started
    rows = {sex: compare_with_norms(indicators(c), sex) for sex, c in codings.items()}
    print(table(rows, {sex: len(c) for sex, c in codings.items()}))
    total = sum(len(c) for c in codings.values())
    print(
        f"coded {total} dreams in {elapsed:.2f} s ({1000 * elapsed / max(total, 1):.1f} ms per dream)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

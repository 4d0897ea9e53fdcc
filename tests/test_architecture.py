"""The dependency rule of docs/architecture.md, checked by walking every import."""

from __future__ import annotations

import ast
from pathlib import Path

import reverie

ROOT = Path(reverie.__file__).parent
# What each layer may import of reverie (besides itself). errors and settings are shared.
ALLOWED = {
    "domain": set(),
    "analysis": {"domain"},
    "instruments": {"domain"},
    "storage": {"domain"},
    "access": {"domain", "storage"},
    "exchange": {"domain", "storage", "instruments"},
    "memory": {"domain", "analysis", "storage"},
    "formulation": {"domain", "analysis", "memory"},
    "dialogue": {"domain", "analysis", "memory", "instruments", "storage", "formulation"},
    "web": {
        "domain",
        "analysis",
        "memory",
        "instruments",
        "storage",
        "formulation",
        "dialogue",
        "access",
        "exchange",
        "runtime",
        "clinician",
    },
}
SHARED = {"errors", "settings"}
ENTRY_POINTS = {"cli", "commands", "bench", "scale_bench", "web", "runtime", "clinician"}


def _layer(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reverie."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("reverie."))
    return found


def test_layers_import_only_downwards() -> None:
    problems = []
    for path in ROOT.rglob("*.py"):
        layer = _layer(path)
        if layer not in ALLOWED:
            continue
        for target in _imports(path) - {layer} - SHARED:
            if target not in ALLOWED[layer]:
                problems.append(f"{path.relative_to(ROOT)} imports reverie.{target}")
    assert not problems, "\n".join(problems)


def test_domain_imports_nothing_of_ours_not_even_errors() -> None:
    for path in (ROOT / "domain").rglob("*.py"):
        assert _imports(path) <= {"domain"}, path


def test_entry_points_are_imported_by_no_layer() -> None:
    for path in ROOT.rglob("*.py"):
        layer = _layer(path)
        if layer in ENTRY_POINTS:
            continue
        allowed = {"runtime", "clinician"} if layer == "web" else set()
        assert not (_imports(path) & (ENTRY_POINTS - allowed)), path


def test_importing_reverie_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, reverie.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in {'numpy','onnxruntime','pydantic','sqlite3'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out

"""Docs are tested: every command, setting, annotator and instrument is documented."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from reverie.cli import build_parser
from reverie.settings import Settings

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented(command: str) -> None:
    assert f"## `reverie {command}`" in (DOCS / "cli.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`REVERIE_{name.upper()}`" in (DOCS / "settings.md").read_text(encoding="utf-8")


def test_every_annotator_is_documented() -> None:
    from reverie.analysis.registry import DEFAULT_ANNOTATORS

    text = (DOCS / "analysis.md").read_text(encoding="utf-8")
    for name in DEFAULT_ANNOTATORS:
        assert f"`{name}`" in text, name


def test_readme_quick_start_is_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line for line in block.splitlines()[1:] if line.strip() and not line.startswith("#")]
    assert [c.split("#")[0].strip() for c in commands] == ["make run", "make test"]
    assert "make test" in (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")


def test_public_api_is_explicit() -> None:
    import reverie.domain
    import reverie.errors
    import reverie.storage

    for module in (reverie.domain, reverie.errors, reverie.storage):
        assert module.__all__, module
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)

"""The lexicon files and the phrase matcher every listening annotator is built on."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from reverie.analysis.doc import tokenize
from reverie.analysis.lexicon import (
    Lexicon,
    PhraseMatch,
    PhraseMatcher,
    load_lexicon,
    longest_only,
    merged,
    non_overlapping,
    scan_of,
    sentence_spans,
    without_blocked,
)
from reverie.errors import ModelUnavailableError

DATA = resources.files("reverie.analysis").joinpath("data")
NAMES = sorted(p.name.removesuffix(".json") for p in DATA.iterdir() if p.name.endswith(".json"))


def find(phrases: list[str], text: str, macros: dict[str, str] | None = None) -> list[str]:
    matcher = PhraseMatcher({"x": phrases}, macros)
    return [text[m.start : m.end] for m in matcher.find(scan_of(text, tokenize(text)))]


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_every_lexicon_names_its_source_and_licence(name: str) -> None:
    raw = json.loads(DATA.joinpath(f"{name}.json").read_text(encoding="utf-8"))
    lexicon = load_lexicon(name)
    assert lexicon.name == raw["name"] == name
    assert len(lexicon.source) > 40 and "reverie" in lexicon.source
    assert lexicon.licence


def test_a_missing_lexicon_says_what_to_do() -> None:
    with pytest.raises(ModelUnavailableError, match="Reinstall reverie"):
        load_lexicon("no_such_lexicon")


def test_a_malformed_entry_fails_at_build_time() -> None:
    lexicon = Lexicon("x", 1, "src", "lic", {"words": [1, 2], "table": {"a": "not a list"}}, {})
    with pytest.raises(ModelUnavailableError, match="'words' must be a list of strings"):
        lexicon.words("words")
    with pytest.raises(ModelUnavailableError, match="list of phrases"):
        lexicon.phrases("table")
    with pytest.raises(ModelUnavailableError, match="has no entry 'missing'"):
        lexicon.numbers("missing")
    with pytest.raises(ModelUnavailableError, match="does not compile"):
        lexicon.matcher({"a": ["(unclosed"]})


@pytest.mark.parametrize(
    ("phrases", "text", "expected"),
    [
        (["sad"], "I'm sad, so sad", ["sad", "sad"]),
        (["sad"], "saddest", []),
        (["criticiz*"], "she criticized me", ["criticized"]),
        (["told me i was %"], "he told me I was lazy", ["told me I was lazy"]),
        (["don't care"], "I dont care", ["dont care"]),
        (["(mom|dad) left"], "dad left", ["dad left"]),
        (["never ?mind"], "nevermind. never mind", ["nevermind", "never mind"]),
        (["<kin> left"], "my mom left", ["mom left"]),
        (["(please )?don't go"], "please don't go", ["please don't go", "don't go"]),
        (["ex(-| )?husband", "my ex"], "my ex-husband", ["my ex", "ex-husband"]),
        (["lol"], "LOL that hurt", ["LOL"]),
        (["fed up"], "fed   up", ["fed   up"]),
    ],
    ids=[
        "word",
        "whole-words-only",
        "prefix-star",
        "any-word",
        "optional-apostrophe",
        "alternatives",
        "optional-space",
        "macro",
        "optional-first-group",
        "overlapping-phrases-both-found",
        "case-insensitive",
        "any-white-space",
    ],
)
def test_phrase_syntax(phrases: list[str], text: str, expected: list[str]) -> None:
    assert find(phrases, text, {"kin": "(mom|dad)"}) == expected


def test_curly_apostrophes_match_straight_ones() -> None:
    assert find(["don't care"], "I don’t care") == ["don’t care"]


def match(label: str, start: int, end: int) -> PhraseMatch:
    return PhraseMatch(label, start, end)


def test_longest_only_keeps_equal_spans_and_drops_inner_ones() -> None:
    matches = [match("a", 0, 10), match("b", 0, 10), match("c", 3, 6), match("d", 8, 12)]
    assert [m.label for m in longest_only(matches)] == ["a", "b", "d"]


def test_without_blocked_drops_blockers_and_what_they_cover() -> None:
    matches = [match("_block", 0, 10), match("love", 4, 8), match("love", 12, 16)]
    assert without_blocked(matches) == [match("love", 12, 16)]


def test_non_overlapping_prefers_the_longer() -> None:
    assert non_overlapping([match("a", 0, 5), match("b", 3, 13), match("c", 14, 16)]) == [
        match("b", 3, 13),
        match("c", 14, 16),
    ]


def test_merged_joins_overlaps_of_one_label_only() -> None:
    assert merged([match("a", 0, 5), match("a", 3, 9), match("b", 4, 6)]) == [
        match("a", 0, 9),
        match("b", 4, 6),
    ]


def test_sentence_spans() -> None:
    text = "I went home.  Was it wrong?\nMaybe"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["I went home.", "Was it wrong?", "Maybe"]


def test_scan_is_shared_for_the_same_tokens_only() -> None:
    tokens = tokenize("my mom")
    assert scan_of("my mom", tokens) is scan_of("my mom", tokens)
    assert scan_of("my mom", tokenize("my mom")) is not scan_of("my mom", tokens)

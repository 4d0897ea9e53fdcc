"""How case memory cites the client's words (quotes) and matches them (word keys)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reverie.domain import Span
from reverie.memory.quotes import (
    QUOTE_LIMIT,
    STOP_WORDS,
    best_quote,
    content_keys,
    sentence_spans,
    word_key,
)


@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("sister", "sister"),
        ("sisters", "sister"),
        ("sister's", "sister"),
        ("Sister’s", "sister"),
        ("parties", "party"),
        ("boxes", "box"),
        ("wishes", "wish"),
        ("dress", "dress"),
        ("dresses", "dress"),
        ("bus", "bus"),
        ("kids", "kid"),
        ("Anna", "anna"),
    ],
    ids=lambda v: str(v),
)
def test_word_key_folds_plurals_and_possessives(word: str, key: str) -> None:
    assert word_key(word) == key


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("do you remember what I said about my sister's wedding?", {"sister", "wedding"}),
        ("the dog", {"dog"}),
        ("Anna", {"anna"}),
        ("what I told you about it last time", set()),
        ("", set()),
    ],
    ids=["probe", "article", "name", "only-stop-words", "empty"],
)
def test_content_keys_drop_stop_words(text: str, keys: set[str]) -> None:
    assert content_keys(text) == keys


def test_stop_words_include_memory_probe_words() -> None:
    assert {"remember", "said", "about", "the", "my"} <= STOP_WORDS
    assert "mother" not in STOP_WORDS


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("I was angry. Then I left!  Why?", ["I was angry.", "Then I left!", "Why?"]),
        ("No full stop here", ["No full stop here"]),
        ('She said "go away." I went.', ['She said "go away."', "I went."]),
        ("first line\nsecond line", ["first line", "second line"]),
        ("   ", []),
    ],
    ids=["three", "one", "quoted", "lines", "blank"],
)
def test_sentence_spans(text: str, sentences: list[str]) -> None:
    assert [s.of(text) for s in sentence_spans(text)] == sentences


def test_best_quote_picks_the_sentence_with_the_topic() -> None:
    text = "Work was fine. At my sister's wedding I felt invisible. Then we drove home."
    assert best_quote(text, frozenset({"wedding", "sister"})) == "At my sister's wedding I felt invisible."


def test_best_quote_prefers_the_sentence_holding_the_span() -> None:
    text = "Work was fine. My father never listened to me."
    start = text.index("father")
    assert best_quote(text, frozenset({"work"}), Span(start, start + 6)) == "My father never listened to me."


def test_best_quote_without_any_match_is_the_first_sentence() -> None:
    assert best_quote("One thing. Another thing.", frozenset({"zebra"})) == "One thing."


def test_long_sentence_is_trimmed_around_the_match_at_word_boundaries() -> None:
    filler = " ".join(f"word{i}" for i in range(60))
    text = f"{filler} and then my mother shouted at me {filler}."
    quote = best_quote(text, frozenset({"mother"}))
    assert "my mother shouted" in quote
    assert len(quote) <= QUOTE_LIMIT
    start = text.index(quote)
    assert start == 0 or text[start - 1] == " "
    end = start + len(quote)
    assert end == len(text) or text[end] == " "


@given(
    text=st.text(alphabet=st.sampled_from(list("abc xyz.!?\n'’")), max_size=600),
    keys=st.frozensets(st.sampled_from(["abc", "xyz", "a", "zz"]), max_size=3),
)
def test_quote_is_always_a_short_verbatim_substring(text: str, keys: frozenset[str]) -> None:
    quote = best_quote(text, keys)
    assert quote in text
    assert len(quote) <= QUOTE_LIMIT
    assert quote == quote.strip()

"""The buffer recall searches for mentions: the rows containing a word, exactly."""

from __future__ import annotations

import pytest

from reverie.memory.corpus import Corpus

TEXTS = [
    "My sister's wedding.",
    "Nothing today",
    "",
    "Café with Zoë — she said “no” and I didn’t mind.",
    "aaa",
    "Grandmother called; MOTHER too.",
    "🙂 a",
]


@pytest.mark.parametrize(
    "word",
    [
        "sister",
        "s",
        "a",
        "aa",
        "aaa",
        "aaaa",
        "mother",
        "café",
        "zoë",
        "didn't",
        "🙂",
        "o",
        "y.",
        "nothing",
        "zz",
    ],
    ids=lambda w: w if w.isascii() else w.encode("unicode_escape").decode(),
)
def test_rows_containing_equal_a_plain_substring_test(word: str) -> None:
    corpus = Corpus()
    corpus.extend(TEXTS[:3])
    corpus.extend(TEXTS[3:])  # in two pieces, as load and later turns add them
    expected = [row for row, text in enumerate(TEXTS) if word in text.lower().replace("’", "'")]
    assert corpus.rows_containing([word]).tolist() == expected
    assert len(corpus) == len(TEXTS)


def test_several_words_and_no_words() -> None:
    corpus = Corpus()
    assert corpus.rows_containing(["sister"]).tolist() == []
    corpus.extend(TEXTS)
    assert corpus.rows_containing(["sister", "mother", "zebra"]).tolist() == [0, 5]
    assert corpus.rows_containing([]).tolist() == []
    assert corpus.rows_containing(["a" * 500]).tolist() == []

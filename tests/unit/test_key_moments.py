"""Key moments after the Therapeutic Cycles Model: blocks, z-scores, cycles, evidence."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from reverie.analysis import layers
from reverie.analysis.doc import Doc, tokenize
from reverie.analysis.key_moments import (
    AbstractionLexicon,
    Cycle,
    cycle_blocks,
    key_moments,
    zscores,
)
from reverie.domain import Annotation, Span, Speaker
from reverie.errors import InputError

NEUTRAL = "we walked to the shop and bought some bread then went home"  # 12 words, no cue


def doc(text: str, emotions: Sequence[str] = (), speaker: Speaker = Speaker.CLIENT) -> Doc:
    """A client Doc whose affect layer marks each word of ``emotions`` (every occurrence)."""
    d = Doc(text, speaker, tokenize(text))
    for word in emotions:
        start = 0
        while (at := text.find(word, start)) >= 0:
            d.add(Annotation(layers.AFFECT, "sadness", 0.6, Span(at, at + len(word)), {"cue": word}))
            start = at + len(word)
    return d


def words(n: int, filler: str = "table") -> str:
    return " ".join([filler] * n)


# Four blocks of 10 words each: (emotion words, abstract words) = (0,0), (3,2), (3,0), (0,2).
BLOCKS = [
    doc(words(10)),
    doc("sad sad sad relationship meaning " + words(5), ["sad"]),
    doc("sad sad sad " + words(7), ["sad"]),
    doc("relationship meaning " + words(8)),
]


def test_each_pattern_of_tone_and_abstraction_gets_its_cycle() -> None:
    blocks = cycle_blocks(BLOCKS, block_words=10)
    assert [b.cycle for b in blocks] == [
        Cycle.RELAXING,
        Cycle.CONNECTING,
        Cycle.EXPERIENCING,
        Cycle.REFLECTING,
    ]
    assert [(b.emotion_words, b.abstract_words) for b in blocks] == [(0, 0), (3, 2), (3, 0), (0, 2)]


def test_z_scores_are_within_the_session() -> None:
    # emotion shares 0, .3, .3, 0: mean .15, population sd .15 -> -1, 1, 1, -1
    # abstract shares 0, .2, 0, .2: mean .1, population sd .1 -> -1, 1, -1, 1
    blocks = cycle_blocks(BLOCKS, block_words=10)
    assert [b.tone for b in blocks] == pytest.approx([-1, 1, 1, -1])
    assert [b.abstraction for b in blocks] == pytest.approx([-1, 1, -1, 1])


def test_key_moments_are_the_connecting_blocks_only() -> None:
    found = key_moments(BLOCKS, block_words=10)
    assert [(m.block, m.first, m.last) for m in found] == [(1, 2, 2)]
    assert found[0].is_key
    assert found[0].emotion_cues == ("sad",)
    assert found[0].abstract_cues == ("relationship", "meaning")


def test_a_dense_block_in_a_long_session_is_connecting() -> None:
    dense = (
        "I feel so sad and lonely when I think about the meaning of my relationship with my father, "
        "the loneliness and the sadness, the pattern of rejection and my responsibility in it"
    )
    texts = [NEUTRAL * 3, dense, NEUTRAL * 3, NEUTRAL * 3]
    found = key_moments(texts, block_words=30, session=4)
    assert len(found) == 1
    moment = found[0]
    assert moment.first <= 2 <= moment.last
    assert moment.emotion_words >= 3 and moment.abstract_words >= 5
    assert moment.evidence and all(e.session == 4 for e in moment.evidence)
    quoted = next(e for e in moment.evidence if e.utterance == 2)
    assert quoted.quote in dense


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([1.0, 2.0, 3.0], [-1.224745, 0.0, 1.224745], id="population-sd"),
        pytest.param([0.2, 0.2, 0.2], [0.0, 0.0, 0.0], id="no-variation"),
        pytest.param([0.5], [0.0], id="one-block"),
        pytest.param([], [], id="empty"),
        pytest.param([0.0, 0.4], [-1.0, 1.0], id="two-blocks"),
    ],
)
def test_zscores(values: list[float], expected: list[float]) -> None:
    assert zscores(values) == pytest.approx(expected, abs=1e-6)


def test_one_block_has_no_key_moment() -> None:
    blocks = cycle_blocks([doc("sad relationship " + words(8), ["sad"])], block_words=150)
    assert len(blocks) == 1
    assert blocks[0].cycle is Cycle.RELAXING and (blocks[0].tone, blocks[0].abstraction) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        pytest.param(24, [10, 14], id="short-tail-joins-previous"),
        pytest.param(25, [10, 10, 5], id="half-block-tail-stays"),
        pytest.param(30, [10, 10, 10], id="exact"),
        pytest.param(4, [4], id="shorter-than-a-block"),
        pytest.param(0, [], id="no-words"),
    ],
)
def test_blocks_cut_every_block_words(count: int, sizes: list[int]) -> None:
    blocks = cycle_blocks([doc(words(count))] if count else [], block_words=10)
    assert [b.words for b in blocks] == sizes


def test_blocks_run_across_utterances_and_cite_their_positions() -> None:
    docs = [
        doc(words(6)),
        doc("you said " + words(20), speaker=Speaker.THERAPIST),
        doc(words(6)),
        doc(words(8)),
    ]
    blocks = cycle_blocks(docs, block_words=10)
    # client words: 6 (utt 1) + 6 (utt 3) + 8 (utt 4) = 20; therapist turn 2 is skipped but numbered
    assert [(b.first, b.last, b.words) for b in blocks] == [(1, 3, 10), (3, 4, 10)]


def test_therapist_words_count_when_asked() -> None:
    docs = [doc(words(10)), doc(words(10), speaker=Speaker.THERAPIST)]
    assert len(cycle_blocks(docs, block_words=10)) == 1
    assert len(cycle_blocks(docs, block_words=10, speakers={Speaker.CLIENT, Speaker.THERAPIST})) == 2


def test_one_phrase_with_two_emotions_is_one_emotion_word() -> None:
    text = "nobody cares about me " + words(6)
    d = Doc(text, Speaker.CLIENT, tokenize(text))
    for label in ("loneliness", "sadness"):
        d.add(Annotation(layers.AFFECT, label, 0.85, Span(0, 21)))
    assert cycle_blocks([d], block_words=10)[0].emotion_words == 1


def test_plain_texts_are_read_with_the_affect_annotator() -> None:
    blocks = cycle_blocks(["I am so sad and angry today " + words(10)], block_words=20)
    assert blocks[0].emotion_words == 2
    assert set(blocks[0].emotion_cues) == {"sad", "angry"}


def test_block_words_below_one_is_refused() -> None:
    with pytest.raises(InputError, match="block_words"):
        cycle_blocks(["anything"], block_words=0)


def test_to_json_carries_what_a_report_shows() -> None:
    data = key_moments(BLOCKS, block_words=10, session=2)[0].to_json()
    assert data["cycle"] == "connecting" and data["utterances"] == [2, 2]
    assert data["tone_z"] == pytest.approx(1.0) and data["abstraction_z"] == pytest.approx(1.0)
    assert data["evidence"][0]["session"] == 2


@pytest.mark.parametrize(
    ("word", "abstract"),
    [
        pytest.param("relationship", True, id="suffix-ship"),
        pytest.param("relationships", True, id="plural"),
        pytest.param("responsibilities", True, id="plural-ies"),
        pytest.param("happiness", True, id="suffix-ness"),
        pytest.param("perfectionism", True, id="suffix-ism"),
        pytest.param("childhood", True, id="suffix-hood"),
        pytest.param("idea", True, id="listed-noun"),
        pytest.param("thoughts", True, id="listed-plural"),
        pytest.param("thought", False, id="mostly-a-verb"),
        pytest.param("station", False, id="excluded-concrete"),
        pytest.param("business", False, id="excluded-ness"),
        pytest.param("apartments", False, id="excluded-plural"),
        pytest.param("city", False, id="too-short-for-ity"),
        pytest.param("table", False, id="concrete"),
    ],
)
def test_abstraction_lexicon(word: str, abstract: bool) -> None:
    assert AbstractionLexicon().is_abstract(word) is abstract


def test_evidence_quotes_the_utterances_with_cue_words() -> None:
    docs = [doc(words(5)), doc("so sad about the relationship " + words(5), ["sad"]), doc(words(5))]
    first, second = cycle_blocks(docs, block_words=10)
    assert [e.utterance for e in first.evidence] == [2]
    assert first.evidence[0].quote == docs[1].text
    assert [e.utterance for e in second.evidence] == [2]  # no cue words: where the block begins

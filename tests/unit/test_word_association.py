"""Jung's word association experiment: the stimuli as data and each complex-indicator rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverie.errors import InputError
from reverie.instruments.word_association import (
    COMPLEX_THRESHOLD,
    LONG_FACTOR,
    Trial,
    score,
    stimuli,
    trials_from_payload,
)


def test_the_hundred_stimuli_in_order() -> None:
    words = stimuli()
    assert [s.number for s in words] == list(range(1, 101))
    assert words[0].word == "head" and words[99].word == "to abuse"
    assert {s.status for s in words} <= {"V", "E", "R"}


def _by_number(trials: list[Trial]) -> dict[int, tuple[str, ...]]:
    return {t.number: t.indicators for t in score(trials).trials}


def test_long_reaction_is_relative_to_the_persons_own_median() -> None:
    trials = [
        Trial(n, w, ms)
        for n, w, ms in [
            (1, "hair", 1000),
            (2, "grass", 1000),
            (3, "drink", 1000),
            (4, "song", 1400),
            (5, "alive", 1600),
        ]
    ]
    result = score(trials)
    assert result.median_ms == 1000
    assert result.long_threshold_ms == 1000 * LONG_FACTOR
    found = _by_number(trials)
    assert "long" not in found[4]  # 1400 <= 1500
    assert "long" in found[5]  # 1600 > 1500
    # the same times for a slow person are not long
    slow = [Trial(t.number, t.response, (t.reaction_ms or 0) * 2) for t in trials[:3]] + [
        Trial(4, "song", 2000)
    ]
    assert "long" not in _by_number(slow)[4]


def test_failure_when_nothing_was_answered() -> None:
    found = _by_number([Trial(1, "hair", 900), Trial(2, "", None), Trial(3, "  ", 800)])
    assert "failure" in found[2] and "failure" in found[3]
    assert "failure" not in found[1]


def test_repeating_the_stimulus_word() -> None:
    found = _by_number([Trial(4, "sing", 900), Trial(5, "Dead!", 900), Trial(6, "short", 900)])
    assert "repeats_stimulus" in found[4]  # "to sing" -> "sing"
    assert "repeats_stimulus" in found[5]
    assert "repeats_stimulus" not in found[6]


def test_repeated_response_to_a_later_stimulus() -> None:
    found = _by_number([Trial(1, "mother", 900), Trial(7, "boat", 900), Trial(9, "Mother", 900)])
    assert "repeated_response" in found[9]
    assert "repeated_response" not in found[1]


def test_perseveration_carries_a_disturbance_over() -> None:
    trials = [
        Trial(1, "hair", 1000),
        Trial(2, "grass", 1000),
        Trial(3, "drown", 4000),
        Trial(4, "song", 2500),
        Trial(5, "sing", 900),
        Trial(6, "short", 1000),
    ]
    found = _by_number(trials)
    assert "long" in found[3]
    assert "perseveration" in found[4]  # after a flagged trial, itself long
    assert "perseveration" in found[5]  # takes up the previous stimulus "to sing"
    assert "perseveration" not in found[6]


def test_faulty_reproduction() -> None:
    found = _by_number(
        [
            Trial(1, "hair", 900, reproduction="Hair."),
            Trial(2, "grass", 900, reproduction="tree"),
            Trial(3, "drink", 900, reproduction=""),
        ]
    )
    assert "faulty_reproduction" not in found[1]
    assert "faulty_reproduction" in found[2] and "faulty_reproduction" in found[3]


def test_complexes_have_at_least_the_threshold_of_indicators() -> None:
    trials = [
        Trial(1, "hair", 1000),
        Trial(2, "grass", 1000),
        Trial(3, "water", 5000, reproduction="sea"),
        Trial(4, "song", 1000),
    ]
    result = score(trials)
    assert result.complexes == (3,)
    assert len(result.trials[2].indicators) >= COMPLEX_THRESHOLD
    assert result.counts["faulty_reproduction"] == 1
    payload = result.to_payload()
    assert payload["trials"][2]["indicators"] == list(result.trials[2].indicators)


@pytest.mark.parametrize(
    "trials",
    [
        pytest.param([Trial(0, "x", 10)], id="unknown-stimulus"),
        pytest.param([Trial(1, "x", 10), Trial(1, "y", 10)], id="twice"),
        pytest.param([Trial(1, "x", -5)], id="negative-time"),
        pytest.param([], id="empty"),
    ],
)
def test_bad_input_is_refused(trials: list[Trial]) -> None:
    with pytest.raises(InputError):
        score(trials)


def test_trials_from_browser_payload() -> None:
    trials = trials_from_payload(
        [{"number": "2", "response": "grass", "reaction_ms": 812.4, "submit_ms": 1500}]
    )
    assert trials == [Trial(2, "grass", 812.4, 1500.0, None)]
    with pytest.raises(InputError):
        trials_from_payload([{"response": "x"}])


def test_stimuli_come_from_the_configured_file_and_a_missing_one_is_a_clear_error(tmp_path: Path) -> None:
    from reverie.errors import ModelUnavailableError

    own = tmp_path / "words.tsv"
    own.write_text("# a comment\nn\tstimulus\tstatus\n1\thead\tV\n2\tgreen\tE\n", encoding="utf-8")
    assert [(s.number, s.word) for s in stimuli(own)] == [(1, "head"), (2, "green")]
    assert score([Trial(2, "grass", 400, 900, "grass")], stimuli(own)).trials[0].number == 2
    with pytest.raises(ModelUnavailableError, match="REVERIE_JUNG_WAT_FILE"):
        stimuli(tmp_path / "absent.tsv")
    empty = tmp_path / "empty.tsv"
    empty.write_text("n\tstimulus\tstatus\n", encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="no stimulus words"):
        stimuli(empty)
    wrong = tmp_path / "wrong.tsv"
    wrong.write_text("a\tb\n1\t2\n", encoding="utf-8")
    with pytest.raises(ModelUnavailableError):
        stimuli(wrong)

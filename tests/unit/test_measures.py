"""PHQ-9 and GAD-7: the data, the scorer, the item-9 safety rule, recording and history."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.domain import EventKind, MeasureResult
from reverie.errors import InputError
from reverie.instruments.measures import NAMES, instrument, measure_history, record_measure

# (answers, expected score, expected severity) at and around every band edge.
PHQ9_BANDS = [
    pytest.param([0] * 9, 0, "minimal", id="phq9-0"),
    pytest.param([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal", id="phq9-4"),
    pytest.param([1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild", id="phq9-5"),
    pytest.param([3, 3, 3, 0, 0, 0, 0, 0, 0], 9, "mild", id="phq9-9"),
    pytest.param([3, 3, 3, 1, 0, 0, 0, 0, 0], 10, "moderate", id="phq9-10"),
    pytest.param([3, 3, 3, 3, 2, 0, 0, 0, 0], 14, "moderate", id="phq9-14"),
    pytest.param([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately severe", id="phq9-15"),
    pytest.param([3, 3, 3, 3, 3, 3, 1, 0, 0], 19, "moderately severe", id="phq9-19"),
    pytest.param([3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "severe", id="phq9-20"),
    pytest.param([3] * 8 + [3], 27, "severe", id="phq9-27"),
]

GAD7_BANDS = [
    pytest.param([0] * 7, 0, "minimal", id="gad7-0"),
    pytest.param([1, 1, 1, 1, 0, 0, 0], 4, "minimal", id="gad7-4"),
    pytest.param([1, 1, 1, 1, 1, 0, 0], 5, "mild", id="gad7-5"),
    pytest.param([3, 3, 3, 0, 0, 0, 0], 9, "mild", id="gad7-9"),
    pytest.param([3, 3, 3, 1, 0, 0, 0], 10, "moderate", id="gad7-10"),
    pytest.param([3, 3, 3, 3, 2, 0, 0], 14, "moderate", id="gad7-14"),
    pytest.param([3, 3, 3, 3, 3, 0, 0], 15, "severe", id="gad7-15"),
    pytest.param([3] * 7, 21, "severe", id="gad7-21"),
]


def test_the_instruments_hold_their_published_shape() -> None:
    phq9, gad7 = instrument("phq9"), instrument("gad7")
    assert set(NAMES) == {"phq9", "gad7"}
    assert (len(phq9.items), phq9.max_score, phq9.cutoff) == (9, 27, 10)
    assert (len(gad7.items), gad7.max_score, gad7.cutoff) == (7, 21, 10)
    assert (phq9.loinc_panel, phq9.loinc_total) == ("44249-1", "44261-6")
    assert (gad7.loinc_panel, gad7.loinc_total) == ("69737-5", "70274-6")
    for tool in (phq9, gad7):
        assert [o.value for o in tool.options] == [0, 1, 2, 3]
        assert [i.number for i in tool.items] == list(range(1, len(tool.items) + 1))
        assert len({i.loinc for i in tool.items}) == len(tool.items)
        # The bands cover 0..max without gap or overlap.
        covered = [s for b in tool.bands for s in range(b.low, b.high + 1)]
        assert covered == list(range(tool.max_score + 1))
    assert [i.number for i in phq9.items if i.safety] == [9]
    assert "better off dead" in phq9.items[8].text
    assert not any(i.safety for i in gad7.items)
    assert instrument("PHQ-9") is phq9


@pytest.mark.parametrize(("answers", "score", "severity"), PHQ9_BANDS)
def test_phq9_scores_and_bands(answers: list[int], score: int, severity: str) -> None:
    result = instrument("phq9").score(answers)
    assert (result.score, result.severity) == (score, severity)
    assert result.at_or_above_cutoff is (score >= 10)
    assert result.answers == tuple(answers)


@pytest.mark.parametrize(("answers", "score", "severity"), GAD7_BANDS)
def test_gad7_scores_and_bands(answers: list[int], score: int, severity: str) -> None:
    result = instrument("gad7").score(answers)
    assert (result.score, result.severity) == (score, severity)
    assert result.at_or_above_cutoff is (score >= 10)
    assert result.safety_flag is False


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item9_above_zero_is_a_safety_signal_whatever_the_total(item9: int) -> None:
    result = instrument("phq9").score([0] * 8 + [item9])
    assert result.safety_flag is True
    assert result.severity == "minimal"


def test_phq9_high_total_without_item9_is_not_a_safety_signal() -> None:
    assert instrument("phq9").score([3] * 8 + [0]).safety_flag is False


@pytest.mark.parametrize(
    ("name", "answers", "words"),
    [
        pytest.param("phq9", [0] * 8, "9 items; 8 answer", id="too-few"),
        pytest.param("gad7", [0] * 8, "7 items; 8 answer", id="too-many"),
        pytest.param("phq9", [0] * 8 + [4], "item 9: 4", id="above-3"),
        pytest.param("gad7", [0, -1, 0, 0, 0, 0, 0], "item 2: -1", id="negative"),
        pytest.param("gad7", [0, 0, "2", 0, 0, 0, 0], "item 3: '2'", id="string"),
        pytest.param("gad7", [0, 0, 0, True, 0, 0, 0], "item 4: True", id="bool"),
        pytest.param("gad7", [0, 0, 0, 0, 1.0, 0, 0], "item 5: 1.0", id="float"),
        pytest.param("gad7", "0000000", "list of 7", id="not-a-list"),
    ],
)
def test_invalid_answers_are_refused_clearly(name: str, answers: Any, words: str) -> None:
    with pytest.raises(InputError) as caught:
        instrument(name).score(answers)
    assert words in str(caught.value)


def test_unknown_instrument_is_refused() -> None:
    with pytest.raises(InputError, match="phq9, gad7"):
        instrument("bdi")


def test_record_measure_keeps_the_event_and_history_on_sqlite(runtime: Any) -> None:
    store = runtime.store
    case = store.create_case("mira", clinician="Dr. Rivera")
    session = store.start_session(case.id)
    first = record_measure(store, case.id, "phq9", [2, 2, 2, 2, 2, 1, 1, 0, 0], session_id=session.id)
    record_measure(store, case.id, "gad7", [1] * 7)
    second = record_measure(store, case.id, "phq9", [1, 1, 1, 1, 0, 0, 0, 0, 0])

    events = store.events(case.id, kind=EventKind.MEASURE)
    assert [e.payload["instrument"] for e in events] == ["phq9", "gad7", "phq9"]
    assert events[0].session_id == session.id
    assert events[0].payload == {
        "instrument": "phq9",
        "version": instrument("phq9").version,
        "answers": [2, 2, 2, 2, 2, 1, 1, 0, 0],
        "score": 12,
        "severity": "moderate",
        "safety_flag": False,
        "at_or_above_cutoff": True,
    }
    assert store.events(case.id, kind=EventKind.CRISIS_FLAG) == []

    history = measure_history(store, case.id, "phq9")
    assert [r for _, r in history] == [first, second]
    assert [r.score for _, r in history] == [12, 4]
    assert history[0][0] <= history[1][0]
    assert [r.instrument for _, r in measure_history(store, case.id, "gad7")] == ["gad7"]


def test_item9_alerts_the_clinician_with_a_crisis_flag(runtime: Any) -> None:
    store = runtime.store
    case = store.create_case("noor", clinician="Dr. Rivera")
    session = store.start_session(case.id)
    result = record_measure(store, case.id, "phq9", [0] * 8 + [2], session_id=session.id)
    assert result.safety_flag is True

    flags = store.events(case.id, kind=EventKind.CRISIS_FLAG)
    assert len(flags) == 1
    payload = flags[0].payload
    assert set(payload) == {"reason", "level", "labels", "kind", "evidence"}
    assert payload["level"] == "high"
    assert "item 9" in payload["reason"] and "More than half the days" in payload["reason"]
    assert payload["evidence"]["item"] == 9 and payload["evidence"]["answer"] == 2
    assert flags[0].session_id == session.id

    record_measure(store, case.id, "phq9", [0] * 8 + [1])
    assert [f.payload["level"] for f in store.events(case.id, kind=EventKind.CRISIS_FLAG)] == [
        "high",
        "moderate",
    ]


def test_invalid_answers_write_nothing(runtime: Any) -> None:
    store = runtime.store
    case = store.create_case("oren", clinician="Dr. Rivera")
    with pytest.raises(InputError):
        record_measure(store, case.id, "phq9", [3] * 10)
    assert store.events(case.id) == []


def test_result_payload_round_trips() -> None:
    result = instrument("phq9").score([0] * 8 + [1])
    assert MeasureResult.from_payload(result.to_payload()) == result

"""The crisis gate's trained layer: weights on disk, scoring, its place in the gate, and the
C-SSRS evaluation. Most tests use small hand-built models; those named "shipped" load the real
weights (half a megabyte, numpy only). tests/unit/test_risk.py runs every rule test through
``RiskScreen()``, which includes the shipped model."""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from reverie.analysis import layers
from reverie.analysis.risk import RiskAssessment, RiskScreen
from reverie.analysis.risk_eval import CssrsUser, evaluate_cssrs, read_cssrs, user_metrics
from reverie.analysis.risk_model import (
    FORMAT,
    SHIPPED_PATH,
    SHIPPED_SHA256,
    RiskModel,
    features,
    load_risk_model,
    main,
    sentences,
    shipped_risk_model,
)
from reverie.errors import InputError, ModelUnavailableError

DATA = Path(__file__).parents[1] / "data"
BITS = 16


def hand_model(
    words: dict[str, float], bias: float = -3.0, threshold: float = 0.5, min_features: int = 1
) -> RiskModel:
    """A model whose only weights are on the given single words."""
    weights = np.zeros(1 << BITS, dtype=np.float32)
    for word, weight in words.items():
        (bucket,) = features(word, BITS)
        weights[bucket] = weight
    return RiskModel(weights, bias, threshold, min_features)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def npz(**arrays: object) -> bytes:
    out = io.BytesIO()
    np.savez(out, allow_pickle=False, **arrays)  # type: ignore[arg-type]
    return out.getvalue()


# --- the weights file -----------------------------------------------------------------------


def test_shipped_weights_load_and_match_their_sha256() -> None:
    data = SHIPPED_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHIPPED_SHA256
    assert len(data) < 5_000_000
    model = shipped_risk_model()
    assert model is shipped_risk_model()  # loaded once, shared
    assert model.bits == 18 and 0.5 <= model.threshold < 1.0 and model.min_features >= 1
    assert not model.weights.flags.writeable


def test_altered_weights_are_refused(tmp_path: Path) -> None:
    data = bytearray(SHIPPED_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered = tmp_path / "risk-v1.npz"
    altered.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailableError, match=r"not the expected file \(sha256 .*reinstall reverie"):
        load_risk_model(altered)


def test_missing_weights_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"missing.*scripts/train_risk\.py"):
        load_risk_model(tmp_path / "nowhere.npz")


GOOD = {
    "format": np.array(FORMAT),
    "weights": np.zeros(8, np.float32),
    "bias": np.array(0.0),
    "threshold": np.array(0.5),
    "min_features": np.array(1),
}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip file", "cannot be read"),
        (npz(**{k: v for k, v in GOOD.items() if k != "threshold"}), "cannot be read"),
        (npz(**{**GOOD, "format": np.array("someone-else/9")}), "has format 'someone-else/9'"),
        (npz(**{**GOOD, "weights": np.zeros(6, np.float32)}), "malformed"),
        (npz(**{**GOOD, "weights": np.zeros((2, 4), np.float32)}), "malformed"),
        (npz(**{**GOOD, "threshold": np.array(1.0)}), "malformed"),
        (npz(**{**GOOD, "min_features": np.array(0)}), "malformed"),
    ],
    ids=[
        "not-zip",
        "no-threshold",
        "other-format",
        "not-power-of-two",
        "two-dimensional",
        "threshold-one",
        "min-features-zero",
    ],
)
def test_malformed_weights_are_refused(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "risk.npz"
    path.write_bytes(data)
    with pytest.raises(ModelUnavailableError, match=message):
        load_risk_model(path, sha256=hashlib.sha256(data).hexdigest())


def test_save_writes_the_same_bytes_and_loads_back(tmp_path: Path) -> None:
    model = hand_model({"numb": 4.0}, bias=-1.5, threshold=0.6, min_features=3)
    first, second = model.save(tmp_path / "a.npz"), model.save(tmp_path / "b.npz")
    assert first == second == hashlib.sha256((tmp_path / "a.npz").read_bytes()).hexdigest()
    loaded = load_risk_model(tmp_path / "a.npz", sha256=first)
    assert (loaded.bias, loaded.threshold, loaded.min_features, loaded.bits) == (-1.5, 0.6, 3, BITS)
    assert np.array_equal(loaded.weights, model.weights)
    with np.load(tmp_path / "a.npz", allow_pickle=False) as arrays:  # plain arrays, no pickle
        assert set(arrays.files) == {"format", "weights", "bias", "threshold", "min_features"}


# --- scoring ----------------------------------------------------------------------------------


def test_features_ignore_case_and_apostrophes() -> None:
    assert features("Don't GO", BITS) == features("dont go", BITS)
    assert features("I’m here", BITS) == features("im here", BITS)
    assert len(features("numb today", BITS)) == 3  # two words and their pair
    assert features("", BITS) == [] and features("?!", BITS) == []


def test_sentences_split_at_punctuation_and_line_breaks() -> None:
    text = '  Work was fine.  I feel numb!\n\nok; ... then: "more"  '
    found = sentences(text)
    assert [span.of(text) for span, _ in found] == ["Work was fine", "I feel numb", "ok", '... then: "more"']
    assert found[1][1] == [b"i", b"feel", b"numb"]
    assert sentences("...!?") == []
    turkish = "İstanbul was hard. I want to die"  # "İ" lowers to two characters
    assert [span.of(turkish) for span, _ in sentences(turkish)] == ["İstanbul was hard", "I want to die"]


def test_an_ellipsis_does_not_end_a_sentence() -> None:
    # "If I could" alone is a fragment the model would score out of its context.
    text = "If I could... I would stay in bed all day. Then work..."
    assert [span.of(text) for span, _ in sentences(text)] == [
        "If I could... I would stay in bed all day",
        "Then work...",
    ]


@pytest.mark.parametrize(
    ("text", "min_features", "expected"),
    [
        ("numb", 1, sigmoid(4.0 - 1.0)),
        ("numb", 6, sigmoid(4.0 / math.sqrt(6) - 1.0)),
        ("feel numb", 1, sigmoid(4.0 / math.sqrt(3) - 1.0)),
        ("feel fine", 1, sigmoid(-1.0)),
    ],
    ids=["one-word", "one-word-floored", "two-words", "no-weight"],
)
def test_probability_is_the_logistic_of_the_normalised_sum(
    text: str, min_features: int, expected: float
) -> None:
    model = hand_model({"numb": 4.0}, bias=-1.0, min_features=min_features)
    assert model.probability(text) == pytest.approx(expected, rel=1e-5)


def test_hits_are_the_sentences_over_threshold_highest_first() -> None:
    model = hand_model({"numb": 6.0, "empty": 6.0}, bias=-1.0, threshold=0.7)
    text = "The day was long. I feel empty inside. Numb. Anyway."
    hits = model.hits(text)
    assert [h.span.of(text) for h in hits] == ["Numb", "I feel empty inside"]
    assert hits[0].probability > hits[1].probability >= 0.7
    assert [s.span.of(text) for s in model.score(text)] == [
        "The day was long",
        "I feel empty inside",
        "Numb",
        "Anyway",
    ]


def test_a_message_without_words_scores_nothing() -> None:
    model = hand_model({"numb": 6.0})
    assert model.score("") == [] and model.hits("...") == [] and model.probability(" !? ") == 0.0


# --- the shipped model on hand-written sentences ----------------------------------------------------

ORDERED = [
    pytest.param("I want my whole life to be over", "I want this week to be over", id="life-over"),
    pytest.param("nobody would notice if I was gone for good", "nobody noticed my new haircut", id="gone"),
    pytest.param(
        "I keep thinking about jumping off the bridge", "I keep thinking about the film we saw", id="bridge"
    ),
    pytest.param("I have been saving up my pills", "I have been saving up for a new bike", id="saving"),
    pytest.param(
        "there is no reason for me to stay alive", "there is no reason for me to stay late at work", id="stay"
    ),
    pytest.param("I am ready to die", "I am ready to go home", id="ready"),
    pytest.param(
        "everyone would be happier if I was dead", "everyone was happier after the holiday", id="happier"
    ),
    pytest.param("I can't see a future for myself", "I can't see the screen from here", id="future"),
]


@pytest.mark.parametrize(("at_risk", "ordinary"), ORDERED)
def test_shipped_model_scores_risk_above_ordinary_talk(at_risk: str, ordinary: str) -> None:
    model = shipped_risk_model()
    assert model.probability(at_risk) >= model.threshold > model.probability(ordinary)


@pytest.mark.parametrize(
    "text",
    [
        "this commute is killing me",
        "I feel sad and lonely today",
        "my grandmother died last year and I miss her",
        "thanks, see you next week",
        "never mind",
        "I was joking",
    ],
    ids=["hyperbole", "sadness", "grief", "goodbye", "never-mind", "joking"],
)
def test_shipped_model_stays_below_threshold_on_ordinary_talk(text: str) -> None:
    model = shipped_risk_model()
    assert model.probability(text) < model.threshold


def read_tsv(path: Path) -> list[tuple[str, bool]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", "text\t")):
            text, label, _ = line.split("\t")
            rows.append((text, label == "at_risk"))
    return rows


def test_hand_written_data_has_every_kind() -> None:
    train = DATA / "risk_sentences.tsv"
    lines = train.read_text(encoding="utf-8").splitlines()
    kinds = {line.split("\t")[2] for line in lines if line and not line.startswith(("#", "text\t"))}
    assert {"passive", "active", "method", "plan", "attempt", "self_harm", "masked"} <= kinds
    assert {"hyperbole", "grief", "sadness", "supportive", "news", "fiction"} <= kinds
    rows = read_tsv(train)
    assert len(rows) >= 300 and {label for _, label in rows} == {True, False}
    held = {text for text, _ in read_tsv(DATA / "risk_heldout.tsv")}
    assert not held & {text for text, _ in rows}  # the held-out sentences are never trained on


def test_the_gate_with_the_shipped_model_on_sentences_it_never_saw() -> None:
    # Figures at training time (docs/models/risk.md): recall 0.46 -> 0.77, false alarms 2% -> 6%.
    rows = read_tsv(DATA / "risk_heldout.tsv")
    gate, rules = RiskScreen(), RiskScreen(model=None)

    def rates(screen: RiskScreen) -> tuple[float, float]:
        flags = [(screen.screen(text).flagged, at_risk) for text, at_risk in rows]
        positives = [f for f, at_risk in flags if at_risk]
        negatives = [f for f, at_risk in flags if not at_risk]
        return sum(positives) / len(positives), sum(negatives) / len(negatives)

    (recall, false_alarms), (rules_recall, rules_false_alarms) = rates(gate), rates(rules)
    assert recall >= 0.7 and recall >= rules_recall + 0.2
    assert false_alarms <= 0.08 and false_alarms <= rules_false_alarms + 0.05


# --- the model inside the gate ------------------------------------------------------------------------


def test_the_default_gate_uses_the_shipped_model_and_none_means_rules_only() -> None:
    assert RiskScreen().model is shipped_risk_model()
    assert RiskScreen(model=None).model is None
    text = "I'm done fighting to stay alive"
    assert RiskScreen().screen(text).flagged
    assert not RiskScreen(model=None).screen(text).flagged


def test_a_model_hit_alone_flags_low_indirect_ideation_with_the_sentence() -> None:
    model = hand_model({"numb": 8.0}, bias=-2.0)
    text = "Work was fine. I feel numb all the time."
    assessment = RiskScreen(model=model).screen(text)
    assert assessment.flagged and assessment.level == "low"
    assert (assessment.labels, assessment.kind, assessment.harm_to_others) == (
        ("ideation",),
        "indirect",
        False,
    )
    assert [span.of(text) for span in assessment.evidence] == ["I feel numb all the time"]
    (finding,) = assessment.findings
    expected = sigmoid(8.0 / math.sqrt(len(features("I feel numb all the time", BITS))) - 2.0)
    assert finding.source == "model" and finding.probability == pytest.approx(expected, rel=1e-5)
    (annotation,) = assessment.to_annotations()
    assert annotation.layer == layers.RISK and annotation.score == 0.25
    assert annotation.detail["source"] == "model"
    assert annotation.detail["probability"] == pytest.approx(expected, abs=1e-4)
    rebuilt = RiskAssessment.from_annotations([annotation])
    assert (
        rebuilt.findings[0].source == "model"
        and rebuilt.findings[0].probability == annotation.detail["probability"]
    )


def test_rules_findings_carry_no_probability() -> None:
    (annotation, *_) = RiskScreen(model=None).screen("I want to die").to_annotations()
    assert annotation.detail["source"] == "rules" and "probability" not in annotation.detail
    assert RiskAssessment.from_annotations([annotation]).findings[0].probability is None


def test_when_the_rules_flag_the_model_adds_nothing() -> None:
    model = hand_model({"kill": 9.0, "today": 9.0}, bias=0.0)
    assessment = RiskScreen(model=model).screen("I want to kill myself. Today was long.")
    assert assessment.labels == ("ideation",) and {f.source for f in assessment.findings} == {"rules"}


@pytest.mark.parametrize(
    "text",
    [
        "I cut myself shaving",
        "I've been killing myself to meet the deadline",
        "I nearly died of embarrassment",
    ],
    ids=["accident", "deadline", "embarrassment"],
)
def test_figures_of_speech_the_rules_know_silence_the_model(text: str) -> None:
    model = hand_model({"myself": 9.0, "died": 9.0}, bias=0.0)
    assert model.hits(text)
    assert not RiskScreen(model=model).screen(text).flagged


def test_someone_elses_suicide_counts_only_when_the_rest_of_the_sentence_reaches_the_threshold() -> None:
    model = hand_model({"suicide": 10.0, "join": 20.0}, bias=-3.0)
    screen = RiskScreen(model=model)
    grief = screen.screen("My uncle died by suicide.")
    assert model.hits("My uncle died by suicide.") and not grief.flagged
    assert grief.level == "low" and grief.evidence  # the rules' mention, as before
    text = "My uncle died by suicide and I want to join him."
    bereaved = screen.screen(text)
    assert bereaved.flagged and bereaved.findings[0].source == "model"
    assert bereaved.findings[0].span.of(text) == "My uncle died by suicide and I want to join him"


def test_a_vetoed_sentence_gives_way_to_the_next_best() -> None:
    model = hand_model({"shaving": 9.0, "numb": 6.0}, bias=0.0)
    text = "I cut myself shaving. I feel numb."
    assessment = RiskScreen(model=model).screen(text)
    assert [span.of(text) for span in assessment.evidence] == ["I feel numb"]


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        pytest.param("They keep telling me to hold on. I'm so tired of it.", True, id="word-after"),
        pytest.param("I feel hopeless. They keep telling me to hold on.", True, id="word-before"),
        pytest.param(
            "I feel hopeless. Work was fine. They keep telling me to hold on.", False, id="two-away"
        ),
        pytest.param("They keep telling me to hold on. Work was fine.", False, id="no-word"),
    ],
)
def test_a_word_of_risk_in_the_sentence_beside_a_hit_counts(text: str, flagged: bool) -> None:
    # Only "hold" carries weight; "tired of" and "hopeless" are words of risk (RISK_CONTEXT).
    model = hand_model({"hold": 9.0}, bias=-2.0)
    assessment = RiskScreen(model=model).screen(text)
    assert assessment.flagged == flagged
    if flagged:
        assert [span.of(text) for span in assessment.evidence] == ["They keep telling me to hold on"]


def test_demo_prints_each_sentence_with_its_probability(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["I", "want", "it", "all", "to", "stop.", "Anyway."]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["threshold"] == shipped_risk_model().threshold
    assert [row["sentence"] for row in out["sentences"]] == ["I want it all to stop", "Anyway"]
    assert main([]) == 0
    assert "I just want it all to stop" in capsys.readouterr().out


# --- the C-SSRS evaluation -------------------------------------------------------------------------

TINY = DATA / "risk_cssrs_tiny.csv"


def test_read_cssrs_keeps_the_complete_posts_of_a_cut_cell() -> None:
    users = read_cssrs(TINY)
    assert [u.label for u in users] == [
        "Supportive",
        "Supportive",
        "Indicator",
        "Ideation",
        "Behavior",
        "Attempt",
        "Ideation",
    ]
    assert users[0].posts == ("Hang in there, you matter.", "Have you talked to a therapist?")
    assert users[-1] == CssrsUser("u7", "Ideation", ("I wish I was dead",), truncated=True)
    assert not any(u.truncated for u in users[:-1])


def test_evaluate_cssrs_on_a_tiny_file() -> None:
    # Rules alone flag u2 (a Supportive "why do you want to die?"), u4, u5 and u7; they miss u6,
    # whose only post the hand-built model catches. By hand: at risk = u4 u5 u6 u7.
    result = evaluate_cssrs(TINY, RiskScreen(model=hand_model({"numb": 9.0})))
    assert (result["n_users"], result["n_posts"], result["truncated_users"], result["n_at_risk"]) == (
        7,
        9,
        1,
        4,
    )
    assert result["recall_at_risk"] == 1.0  # 4 of 4
    assert result["precision"] == 0.8  # 4 of the 5 flagged
    assert result["false_alarm_supportive"] == 0.5 and result["flagged_indicator"] == 0.0
    assert result["flagged_rate"] == {
        "Supportive": 0.5,
        "Indicator": 0.0,
        "Ideation": 1.0,
        "Behavior": 1.0,
        "Attempt": 1.0,
    }
    assert result["n_by_label"] == {
        "Supportive": 2,
        "Indicator": 1,
        "Ideation": 2,
        "Behavior": 1,
        "Attempt": 1,
    }
    rules = result["rules_only"]
    assert rules["recall_at_risk"] == 0.75 and rules["precision"] == 0.75  # 3 of 4; 3 of 4
    assert rules["flagged_rate"]["Attempt"] == 0.0 and rules["false_alarm_supportive"] == 0.5
    assert result["seconds"] >= 0 and rules["seconds"] >= 0
    json.dumps(result)  # JSON-able as it is


def test_evaluate_cssrs_defaults_to_the_shipped_gate() -> None:
    result = evaluate_cssrs(TINY)
    assert result["recall_at_risk"] >= result["rules_only"]["recall_at_risk"] == 0.75


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("User,Label\nu1,Ideation\n", "line 2: the columns User, Post and Label are needed"),
        ("User,Post,Label\nu1,['hi'],Worried\n", "label 'Worried' is none of"),
    ],
    ids=["no-post-column", "unknown-label"],
)
def test_read_cssrs_refuses_other_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "users.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_cssrs(path)


def test_read_cssrs_says_what_to_give_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="give the C-SSRS Reddit CSV file"):
        read_cssrs(tmp_path / "missing.csv")


def test_odd_post_cells(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "User,Post,Label\nu1,'just one post',Ideation\nu2,['cut before any end,Attempt\n"
        "u3,\"['one', \"\"two ', ' three\",Behavior\n",
        encoding="utf-8",
    )
    one, broken, inner = read_cssrs(path)
    assert one.posts == ("just one post",) and not one.truncated
    assert broken.posts == () and broken.truncated
    assert inner.posts == ("one",) and inner.truncated  # the separator inside the cut post fails first


def test_user_metrics_of_labels_without_users_are_none() -> None:
    metrics = user_metrics([CssrsUser("a", "Supportive", ("hi",))], [False])
    assert metrics["recall_at_risk"] is None and metrics["precision"] is None
    assert metrics["false_alarm_supportive"] == 0.0 and metrics["flagged_indicator"] is None
    assert user_metrics([], [])["n_users"] == 0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I keep thinking about my mother.", id="keep-thinking"),
        pytest.param("I keep thinking about work.", id="keep-thinking-work"),
    ],
)
def test_model_hits_without_a_word_of_risk_do_not_flag(text: str) -> None:
    # The shipped model scores these ordinary therapy sentences over its threshold (Reddit
    # artefacts); the context gate keeps them from interrupting a session with a check-in.
    from reverie.analysis.risk_model import shipped_risk_model

    model = shipped_risk_model()
    assert model.probability(text) >= model.threshold
    assert not RiskScreen().screen(text).flagged


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I wouldn't be upset if I never woke up", id="never-woke-up"),
        pytest.param("I've been giving away my books and my records", id="giving-away"),
    ],
)
def test_model_still_reaches_phrasings_with_a_word_of_risk(text: str) -> None:
    assert RiskScreen().screen(text).flagged


def test_therapy_talk_rate_counts_client_utterances_only(tmp_path: Path) -> None:
    from reverie.analysis.risk_eval import evaluate_therapy_talk

    path = tmp_path / "talk.csv"
    path.write_text(
        "transcript_id,interlocutor,utterance_text\n"
        "1,therapist,Do you want to kill time before the appointment?\n"
        "1,client,I want to kill myself\n"
        "1,client,I walked the dog and cooked dinner\n"
        "1,client,My sister called about the holidays\n"
        "1,client,I had a coffee with a friend\n",
        encoding="utf-8",
    )
    result = evaluate_therapy_talk(path)
    assert result["n_client_utterances"] == 4
    assert result["flagged_rate"] == 0.25
    assert result["flagged_rate_rules_only"] == 0.25
    assert result["examples"] == ["I want to kill myself"]


def test_therapy_talk_rate_refuses_a_file_without_client_talk(tmp_path: Path) -> None:
    from reverie.analysis.risk_eval import evaluate_therapy_talk
    from reverie.errors import InputError

    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError):
        evaluate_therapy_talk(path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError):
        evaluate_therapy_talk(binary)

"""PDM-2 formulation: hypotheses with evidence, nothing unobserved rated, clinician sign-off."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from reverie.analysis import layers
from reverie.domain import Annotation, Evidence, HypothesisStatus, Span, Speaker, Utterance
from reverie.errors import EmptyInputError, InputError, ModelUnavailableError, NotFoundError
from reverie.formulation import (
    Formulation,
    ReviewAction,
    Section,
    SignedFormulation,
    client_view,
    load_pdm2,
    propose_formulation,
)
from reverie.formulation.pdm2 import parse_pdm2
from reverie.memory.links import Pattern

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DR = "Dr. Rivera"


class Case:
    """Hand-built utterances and annotations, as a store would return them."""

    def __init__(self) -> None:
        self.utterances: list[Utterance] = []
        self.annotations: dict[int, list[Annotation]] = {}

    def say(
        self, session: int, text: str, *found: Annotation, speaker: Speaker = Speaker.CLIENT
    ) -> Utterance:
        ordinal = 1 + sum(u.session_number == session for u in self.utterances)
        utterance = Utterance(len(self.utterances) + 1, session, session, ordinal, speaker, text, AT)
        self.utterances.append(utterance)
        # spans are given as the words themselves and found in the text here
        self.annotations[utterance.id] = [_placed(text, a) for a in found]
        return utterance

    def propose(self, patterns: Sequence[Pattern] = ()) -> Formulation:
        return propose_formulation(self.utterances, self.annotations, patterns)


def _placed(text: str, ann: Annotation) -> Annotation:
    cue = ann.detail.get("cue")
    if isinstance(cue, str) and cue in text:
        at = text.index(cue)
        return Annotation(ann.layer, ann.label, ann.score, Span(at, at + len(cue)), ann.detail)
    return ann


def affect(label: str, cue: str) -> Annotation:
    return Annotation(layers.AFFECT, label, 0.6, detail={"cue": cue})


def defense(label: str, maturity: str, cue: str) -> Annotation:
    return Annotation(layers.DEFENSES, label, 0.35, detail={"cue": cue, "maturity": maturity})


def episode(
    other: str, *, ro: str | None = None, rs: str | None = None, wish: str | None = None
) -> Annotation:
    detail: dict[str, Any] = {"other": other, "past": False, "evidence": {}}
    for key, value in (("response_of_other", ro), ("response_of_self", rs), ("wish", wish)):
        if value:
            detail[key] = value
    return Annotation(layers.EPISODES, "episode", 0.7, detail=detail)


def rich_case() -> Case:
    case = Case()
    case.say(1, "My boss ignored my idea and I went quiet.", episode("boss", ro="ignores", rs="withdraws"))
    case.say(1, "I feel so sad these days.", affect("sadness", "sad"))
    case.say(1, "It's not a big deal, I'm totally fine.", defense("denial", "immature", "I'm totally fine"))
    case.say(1, "Tell me more.", affect("sadness", "more"), speaker=Speaker.THERAPIST)
    case.say(
        2,
        "I'm so stupid, I always blame myself.",
        episode("self", rs="self_critical"),
        affect("shame", "stupid"),
    )
    case.say(
        2, "My sister ignored me and I went quiet again.", episode("sister", ro="ignores", rs="withdraws")
    )
    case.say(2, "I realise I always do this when people ignore me.")
    case.say(2, "It doesn't bother me at all.", defense("denial", "immature", "It doesn't bother me at all"))
    case.say(3, "Part of me wonders why I keep going back.")
    case.say(3, "I cried, I was so sad and lonely.", affect("sadness", "sad"), affect("loneliness", "lonely"))
    case.say(3, "Anyway haha.", defense("humour", "mature", "haha"))
    case.say(3, "Everyone is against me.", defense("projection", "immature", "Everyone is against me"))
    case.say(3, "Whatever, it's for the best.", defense("rationalization", "neurotic", "it's for the best"))
    return case


PATTERN = Pattern(
    categories={"response_of_other": "ignores", "response_of_self": "withdraws"},
    evidence=[
        Evidence(1, 1, "My boss ignored my idea and I went quiet."),
        Evidence(2, 2, "My sister ignored me"),
    ],
    utterances=2,
    sessions=2,
    others=("boss", "sister"),
)


@pytest.fixture
def formulation() -> Formulation:
    return rich_case().propose([PATTERN])


# -- proposing ------------------------------------------------------------------------------------


def test_every_item_is_an_unconfirmed_hypothesis_with_evidence(formulation: Formulation) -> None:
    case = rich_case()
    texts = {(u.session_number, u.ordinal): u.text for u in case.utterances}
    assert formulation.items
    for item in formulation.items:
        h = item.hypothesis
        assert h.status is HypothesisStatus.UNCONFIRMED, item.id
        assert h.evidence, item.id
        assert 0 < h.score <= 0.7, item.id
        assert item.review is None
        for e in h.evidence:
            assert e.quote and e.quote in texts[(e.session, e.utterance)], (item.id, e)


def test_every_section_is_proposed_from_the_rich_case(formulation: Formulation) -> None:
    ids = {i.id for i in formulation.items}
    assert {"p.level", "m.self_observing", "m.defensive_functioning", "rt.response_of_other"} <= ids
    assert {"rt.response_of_self", "defense.denial", "defense.profile"} <= ids
    assert "rt.pattern.response_of_other=ignores+response_of_self=withdraws" in ids
    assert {s for s in Section} == {i.section for i in formulation.items} | {Section.S_AXIS}
    assert formulation.basis == {"utterances": 12, "sessions": 3}


def test_nothing_unobserved_is_rated(formulation: Formulation) -> None:
    rated = {i.hypothesis.detail["capacity"] for i in formulation.section(Section.M_AXIS)}
    unrated = {n.capacity for n in formulation.not_rated}
    assert rated.isdisjoint(unrated)
    assert rated | unrated == {c.id for c in load_pdm2().capacities}
    reasons = {n.capacity: n.reason for n in formulation.not_rated}
    assert "no word cues" in reasons["adaptation_resiliency"]
    assert reasons["impulse_control"] == "no cues seen"


def test_a_case_without_cues_has_no_items_and_rates_nothing() -> None:
    case = Case()
    case.say(1, "We went to the shop.")
    case.say(1, "Then we came home.")
    found = case.propose()
    assert found.items == ()
    assert len(found.not_rated) == 12


def test_therapist_turns_are_never_evidence() -> None:
    case = Case()
    for _ in range(4):
        case.say(
            1,
            "You seem sad and ashamed.",
            affect("sadness", "sad"),
            affect("shame", "ashamed"),
            speaker=Speaker.THERAPIST,
        )
    case.say(1, "Maybe.")
    assert case.propose().items == ()


def test_no_client_utterance_is_refused() -> None:
    case = Case()
    case.say(1, "Hello, what brings you here?", speaker=Speaker.THERAPIST)
    with pytest.raises(EmptyInputError, match="no client utterances"):
        case.propose()


@pytest.mark.parametrize(
    ("count", "rating"),
    [
        pytest.param(1, None, id="below-minimum"),
        pytest.param(2, 3, id="some"),
        pytest.param(5, 2, id="frequent"),
    ],
)
def test_a_concern_is_rated_by_how_often_it_shows(count: int, rating: int | None) -> None:
    case = Case()
    for n in range(count):
        case.say(1 + n % 2, "I feel so ashamed.", affect("shame", "ashamed"))
    found = {i.id: i for i in case.propose().items}
    item = found.get("m.self_esteem")
    assert (item.hypothesis.detail["rating"] if item else None) == rating


IMMATURE, NEUROTIC, MATURE = (
    ("denial", "immature"),
    ("rationalization", "neurotic"),
    ("suppression", "mature"),
)
SPLITTING = ("splitting", "immature")


@pytest.mark.parametrize(
    ("defenses", "rating", "level"),
    [
        pytest.param([SPLITTING] * 2 + [IMMATURE] * 3, 2, "borderline", id="immature-with-splitting"),
        pytest.param([IMMATURE] * 5, 2, "neurotic", id="immature-without-splitting"),
        pytest.param([NEUROTIC] * 3 + [IMMATURE, MATURE], 3, "neurotic", id="neurotic"),
        pytest.param([MATURE] * 5, 4, "healthy", id="mature"),
        pytest.param([IMMATURE, NEUROTIC, NEUROTIC], 3, None, id="too-few-for-a-level"),
    ],
)
def test_defense_maturity_rates_m8_and_suggests_a_level(
    defenses: list[tuple[str, str]], rating: int, level: str | None
) -> None:
    case = Case()
    for n, (label, maturity) in enumerate(defenses):
        case.say(1 + n % 3, "It is what it is.", defense(label, maturity, "It is what it is"))
    found = {i.id: i for i in case.propose().items}
    assert found["m.defensive_functioning"].hypothesis.detail["rating"] == rating
    assert (found["p.level"].hypothesis.detail["level"] if "p.level" in found else None) == level
    if "p.level" in found:
        assert found["p.level"].hypothesis.confidence.value == "low"


def test_a_style_needs_two_kinds_of_cue() -> None:
    sad_only = Case()
    for n in range(4):
        sad_only.say(1 + n % 2, "I feel sad.", affect("sadness", "sad"))
    assert not any(i.id.startswith("p.style.") for i in sad_only.propose().items)

    both = Case()
    for n in range(2):
        both.say(1 + n, "I feel sad.", affect("sadness", "sad"))
        both.say(1 + n, "I blame myself.", episode("self", rs="self_critical"))
    style = {i.id: i for i in both.propose().items}["p.style.depressive"]
    assert style.hypothesis.detail["counts"] == {"affect:sadness": 2, "rs:self_critical": 2}


def test_borderline_is_never_proposed_without_splitting() -> None:
    case = Case()
    for n in range(6):
        case.say(1 + n, "It's fine.", defense("denial", "immature", "It's fine"))
    level = {i.id: i for i in case.propose().items}["p.level"].hypothesis
    assert level.detail["level"] == "neurotic"
    assert "borderline organization is not proposed" in level.statement


@pytest.mark.parametrize(
    ("sessions_with_cues", "proposed"),
    [pytest.param(1, False, id="one-session-in-six"), pytest.param(2, True, id="two-sessions-in-six")],
)
def test_a_pattern_must_recur_across_sessions(sessions_with_cues: int, proposed: bool) -> None:
    case = Case()
    for session in range(1, 7):
        if session <= sessions_with_cues:
            for _ in range(3):
                case.say(session, "I feel anxious.", affect("anxiety", "anxious"))
        else:
            case.say(session, "We went to the shop.")
    assert ("s.anxiety" in {i.id for i in case.propose().items}) is proposed


def test_relationship_theme_counts_and_quotes(formulation: Formulation) -> None:
    ro = formulation.item("rt.response_of_other").hypothesis
    assert ro.detail["category"] == "ignores" and ro.detail["count"] == 2 and ro.detail["of"] == 2
    rs = formulation.item("rt.response_of_self").hypothesis
    assert rs.detail["counts"] == {"withdraws": 2, "self_critical": 1}
    assert [e.utterance for e in rs.evidence] == [1, 2]
    pattern = formulation.item("rt.pattern.response_of_other=ignores+response_of_self=withdraws")
    assert pattern.hypothesis.evidence == tuple(PATTERN.evidence)
    assert pattern.plain == (
        "A pattern comes back in your relationships: others seem not to notice you and you pull back."
    )


def test_defense_profile_counts_by_defense_and_maturity(formulation: Formulation) -> None:
    profile = formulation.item("defense.profile").hypothesis.detail
    assert profile["by_defense"] == {"denial": 2, "humour": 1, "projection": 1, "rationalization": 1}
    assert profile["by_maturity"] == {"immature": 3, "mature": 1, "neurotic": 1}
    assert profile["predominant"] == "immature"
    denial = formulation.item("defense.denial").hypothesis
    assert denial.detail["maturity"] == "immature" and len(denial.evidence) == 2


# -- review and sign-off --------------------------------------------------------------------------


def review_all(f: Formulation) -> Formulation:
    for n, item in enumerate(f.items):
        if n % 3 == 0:
            f = f.confirm(item.id, DR, at=AT)
        elif n % 3 == 1:
            f = f.edit(item.id, f"Clinician's wording {n}.", DR, plain=f"Plain words {n}.", at=AT)
        else:
            f = f.reject(item.id, DR, "Not borne out in the room.", at=AT)
    return f


def test_sign_off_is_refused_while_any_item_is_unreviewed(formulation: Formulation) -> None:
    first = formulation.items[0].id
    partly = formulation.confirm(first, DR, at=AT)
    with pytest.raises(InputError, match="still unreviewed") as excinfo:
        partly.sign_off(DR)
    assert formulation.items[1].id in str(excinfo.value) and first not in str(excinfo.value)


@pytest.mark.parametrize("name", [pytest.param("", id="empty"), pytest.param("   ", id="blank")])
def test_every_action_needs_a_clinician(formulation: Formulation, name: str) -> None:
    item = formulation.items[0].id
    for act in (
        lambda: formulation.confirm(item, name),
        lambda: formulation.edit(item, "x", name),
        lambda: formulation.reject(item, name, "why"),
        lambda: review_all(formulation).sign_off(name),
    ):
        with pytest.raises(InputError, match="Name the licensed clinician"):
            act()


def test_actions_record_the_review_and_leave_the_original_unchanged(formulation: Formulation) -> None:
    item = formulation.items[0]
    edited = formulation.edit(item.id, "  Revised.  ", DR, at=AT).item(item.id)
    assert edited.hypothesis.statement == "Revised." and edited.plain == "Revised."
    assert edited.hypothesis.status is HypothesisStatus.CONFIRMED
    assert edited.review is not None and edited.review.original == item.hypothesis.statement
    rejected = formulation.reject(item.id, DR, "No.", at=AT).item(item.id)
    assert rejected.hypothesis.status is HypothesisStatus.REJECTED and rejected.review is not None
    assert rejected.review.reason == "No."
    assert formulation.item(item.id) == item


def test_bad_actions_say_what_to_do(formulation: Formulation) -> None:
    with pytest.raises(NotFoundError, match=r"p\.level"):
        formulation.confirm("m.nonexistent", DR)
    with pytest.raises(InputError, match="Say why"):
        formulation.reject(formulation.items[0].id, DR, " ")
    with pytest.raises(InputError, match="new wording"):
        formulation.edit(formulation.items[0].id, "", DR)


def test_client_sees_nothing_before_sign_off(formulation: Formulation) -> None:
    assert client_view(formulation) == []
    assert client_view(review_all(formulation)) == []


def test_client_sees_only_confirmed_and_edited_items_in_plain_language(formulation: Formulation) -> None:
    reviewed = review_all(formulation)
    signed = reviewed.sign_off(DR, at=AT)
    shown = client_view(signed)
    kept = [
        i for i in reviewed.items if i.review and i.review.action is not ReviewAction.REJECTED and i.plain
    ]
    assert [s.text for s in shown] == [i.plain for i in kept]
    assert shown and all("Clinician's wording" not in s.text and "Hypothesis" not in s.text for s in shown)
    rejected_plain = {
        i.plain for i in reviewed.items if i.review and i.review.action is ReviewAction.REJECTED
    }
    assert not rejected_plain & {s.text for s in shown}
    assert all(len(s.quotes) <= 2 for s in shown)


# -- JSON -----------------------------------------------------------------------------------------


def test_formulation_round_trips_through_json(formulation: Formulation) -> None:
    for f in (formulation, review_all(formulation)):
        again = Formulation.from_json(json.loads(json.dumps(f.to_json())))
        assert again == f


def test_signed_formulation_round_trips_through_json(formulation: Formulation) -> None:
    signed = review_all(formulation).sign_off(DR, at=AT)
    again = SignedFormulation.from_json(json.loads(json.dumps(signed.to_json())))
    assert again == signed
    assert client_view(again) == client_view(signed)


def test_a_tampered_document_is_refused(formulation: Formulation) -> None:
    data = formulation.to_json()
    confirmed_without_review = copy.deepcopy(data)
    confirmed_without_review["items"][0]["status"] = "confirmed"
    for bad in ({"format": "something else"}, {**data, "items": [{"id": "x"}]}, confirmed_without_review):
        with pytest.raises(InputError, match="not a stored formulation"):
            Formulation.from_json(bad)
    unsigned = {
        "format": "reverie.formulation.signed.v1",
        "clinician": DR,
        "signed_at": AT.isoformat(),
        "formulation": data,
    }
    with pytest.raises(InputError, match="unreviewed"):
        SignedFormulation.from_json(unsigned)


# -- the data -------------------------------------------------------------------------------------


def test_pdm2_data_has_the_three_axes() -> None:
    pdm2 = load_pdm2()
    assert [c.number for c in pdm2.capacities] == list(range(1, 13))
    assert {lv.id for lv in pdm2.levels} == {"healthy", "neurotic", "borderline", "psychotic"}
    assert {"depressive", "obsessive_compulsive", "narcissistic", "paranoid"} <= {s.id for s in pdm2.styles}
    assert {"depressive", "anxiety", "trauma", "somatic"} <= {p.id for p in pdm2.symptom_patterns}
    assert "Lingiardi" in pdm2.source and pdm2.licence


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(("s_axis", "patterns", 0, "cues"), ["affect:saddness"], "affect", id="unknown-label"),
        pytest.param(("p_axis", "styles", 0, "cues"), ["mood:low"], "unknown kind", id="unknown-kind"),
        pytest.param(("m_axis", "capacities", 1, "signal", "kind"), "vibes", "signal kind", id="signal-kind"),
    ],
)
def test_broken_pdm2_data_fails_when_loaded(path: tuple[Any, ...], value: object, message: str) -> None:
    from importlib import resources

    raw = json.loads(
        resources.files("reverie.formulation").joinpath("data", "pdm2.json").read_text(encoding="utf-8")
    )
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ModelUnavailableError, match=message):
        parse_pdm2(raw)

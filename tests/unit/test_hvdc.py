"""Hall–Van de Castle coding (``hvdc``) and its indicators (``hvdc_indicators``).

Every dream report here was written for these tests; none comes from DreamBank.
"""

from __future__ import annotations

import importlib.util
import json
import math
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from reverie.analysis.hvdc import (
    BodyPart,
    Character,
    DreamCoding,
    Emotion,
    Fortune,
    Interaction,
    Setting,
    Striving,
    code_dream,
)
from reverie.analysis.hvdc_indicators import (
    INDICATORS,
    cohen_h,
    compare_with_norms,
    indicators,
    published_norms,
)
from reverie.analysis.lexicon import load_lexicon
from reverie.domain import Span
from reverie.errors import InputError

# --- the coder ---------------------------------------------------------------------------------


def test_friendly_interaction_with_a_known_female_friend_indoors() -> None:
    coding = code_dream("I was sitting in my living room with my friend Clara. She hugged me warmly.")
    (friend,) = coding.characters
    assert (coding.quote(friend), friend.relation, friend.sex, friend.familiar) == (
        "friend",
        "known",
        "female",
        True,
    )
    assert friend.sex_inferred
    (hug,) = coding.interactions
    assert (coding.quote(hug), hug.kind, hug.initiator, hug.recipient) == (
        "hugged",
        "friendliness",
        "character",
        "dreamer",
    )
    (room,) = coding.settings
    assert (coding.quote(room), room.location, room.familiarity) == ("living room", "indoor", "familiar")


def test_aggressive_interaction_with_an_unknown_man() -> None:
    coding = code_dream("A man I had never seen chased me down a dark street and hit me.")
    (man,) = coding.characters
    assert (man.relation, man.sex, man.familiar) == ("stranger", "male", False)
    assert [(coding.quote(i), i.kind, i.physical, i.initiator, i.recipient) for i in coding.interactions] == [
        ("chased", "aggression", True, "character", "dreamer"),
        ("hit", "aggression", True, "character", "dreamer"),
    ]
    (street,) = coding.settings
    assert (street.location, street.familiarity) == ("outdoor", "unfamiliar")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "I was attacked by a man near the bridge.", ("character", "dreamer", False), id="passive"
        ),
        pytest.param("I slapped the old man.", ("dreamer", "character", False), id="dreamer-aggressor"),
        pytest.param(
            "My brother and I argued about the car.", ("dreamer", "character", True), id="reciprocal"
        ),
        pytest.param("A woman yelled at me.", ("character", "dreamer", False), id="verbal"),
        pytest.param("I saw a man hit a boy.", ("character", "character", False), id="witnessed"),
    ],
)
def test_who_initiates_an_aggression(text: str, expected: tuple[str, str, bool]) -> None:
    (aggression,) = code_dream(text).interactions
    assert aggression.kind == "aggression"
    assert (aggression.initiator, aggression.recipient, aggression.reciprocal) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("He hit the wall with his fist.", id="no-one-on-the-receiving-end"),
        pytest.param("I did not hit him.", id="negated"),
        pytest.param("We hit the road at dawn.", id="figure-of-speech"),
    ],
)
def test_no_aggression(text: str) -> None:
    assert [i for i in code_dream(text).interactions if i.kind == "aggression"] == []


def test_sexuality_and_friendliness_among_us() -> None:
    coding = code_dream("My girlfriend and I kissed. Then she gave me a ring.")
    assert [(i.kind, i.initiator, i.recipient, i.reciprocal) for i in coding.interactions] == [
        ("sexuality", "dreamer", "character", True),
        ("friendliness", "character", "dreamer", False),
    ]


def test_a_misfortune_befalls_the_dreamer() -> None:
    coding = code_dream("I slipped on the ice and broke my leg.")
    assert [(coding.quote(f), f.kind, f.type, f.dreamer_involved, f.bodily) for f in coding.fortunes] == [
        ("slipped", "misfortune", "accident", True, False),
        ("broke my leg", "misfortune", "injury", True, True),
    ]
    assert [(coding.quote(b), b.region) for b in coding.body_parts] == [("my leg", "extremities")]


def test_harm_done_by_a_character_is_aggression_not_misfortune() -> None:
    coding = code_dream("A man shot me and I was bleeding.")
    assert [i.kind for i in coding.interactions] == ["aggression"]
    assert coding.fortunes == ()


def test_the_five_emotions_and_whose_they_are() -> None:
    coding = code_dream(
        "I was terrified of the dark. Later I felt confused. My mother was angry. In the end I was happy and sad at once."
    )
    assert [(coding.quote(e), e.label, e.dreamer) for e in coding.emotions] == [
        ("terrified", "apprehension", True),
        ("confused", "confusion", True),
        ("angry", "anger", False),
        ("happy", "happiness", True),
        ("sad", "sadness", True),
    ]


def test_a_negated_emotion_is_not_coded() -> None:
    assert code_dream("I was not afraid of the dog.").emotions == ()


@pytest.mark.parametrize(
    ("text", "outcome", "mine"),
    [
        pytest.param("I tried to open the door but couldn't.", "failure", True, id="failure"),
        pytest.param("Finally I managed to climb the wall.", "success", True, id="success"),
        pytest.param("He failed the test.", "failure", False, id="someone-else-fails"),
    ],
)
def test_successes_and_failures(text: str, outcome: str, mine: bool) -> None:
    (striving,) = code_dream(text).strivings
    assert (striving.outcome, striving.dreamer_involved) == (outcome, mine)


def test_good_fortune() -> None:
    (luck,) = code_dream("I found some money on the sidewalk.").fortunes
    assert (luck.kind, luck.dreamer_involved) == ("good_fortune", True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("I walked alone through the woods.", [], id="the-dreamer-is-no-character"),
        pytest.param(
            "A man came in. The man sat down. Another man left.",
            [("man", "male"), ("man", "male")],
            id="mentioned-again-counts-once",
        ),
        pytest.param("Three women were singing.", [("women", "female")], id="a-group-is-one-character"),
        pytest.param("My friend (m, 23) came in.", [("friend", "male")], id="sex-in-brackets"),
        pytest.param("I was a waiter in a big hotel.", [], id="the-dreamer-in-a-role"),
        pytest.param(
            "JS waved. My friend JS laughed.", [("JS", "indefinite"), ("friend", "indefinite")], id="initials"
        ),
        pytest.param(
            "My parents and a dog were there.",
            [("parents", "joint"), ("a dog", "indefinite")],
            id="joint-animal",
        ),
    ],
)
def test_characters(text: str, expected: list[tuple[str, str]]) -> None:
    coding = code_dream(text)
    assert [(coding.quote(c), c.sex) for c in coding.characters] == expected


def test_my_teacher_is_known_a_teacher_is_not() -> None:
    mine, theirs = code_dream("My teacher talked to a teacher from another school.").characters
    assert (mine.relation, theirs.relation) == ("known", "occupational")


def test_every_item_points_into_the_text() -> None:
    text = "In a strange house my sister screamed at a man. I fell down the stairs and hurt my back. I was scared."
    coding = code_dream(text)
    groups = (coding.characters, coding.interactions, coding.emotions, coding.settings, coding.fortunes)
    items = [item for group in groups for item in group] + list(coding.body_parts)
    assert len(items) >= 8
    for item in items:
        assert 0 <= item.span.start < item.span.end <= len(text)
        assert coding.quote(item) == text[item.span.start : item.span.end]


@pytest.mark.parametrize("name", ["characters", "interactions", "emotions", "settings", "outcomes", "body"])
def test_lexicons_say_where_they_come_from(name: str) -> None:
    lexicon = load_lexicon(f"hvdc_{name}")
    assert "Hall and Van de Castle" in lexicon.source
    assert lexicon.licence


# --- indicators on hand-made codings -------------------------------------------------------------

S = Span(0, 1)


def _person(sex: str, relation: str = "stranger", group: bool = False) -> Character:
    return Character(S, "human", relation, sex, group)


def _dream(**parts: tuple[object, ...]) -> DreamCoding:
    fields = ("characters", "interactions", "emotions", "settings", "fortunes", "strivings", "body_parts")
    return DreamCoding("x", **{f: parts.get(f, ()) for f in fields})  # type: ignore[arg-type]


def test_male_female_percent_from_known_counts() -> None:
    one = _dream(characters=(_person("male"), _person("male"), _person("indefinite")))
    two = _dream(characters=(_person("male"), _person("female"), _person("joint", "family", group=True)))
    values = indicators([one, two])
    assert values["male_female_percent"] == pytest.approx(75.0)  # 3 men of 4 with a definite sex
    assert values["family_percent"] == pytest.approx(100 / 6)
    assert values["group_percent"] == pytest.approx(100 / 6)
    assert values["familiarity_percent"] == pytest.approx(100 / 6)


def test_social_interaction_indicators() -> None:
    chars = (_person("male"), _person("female"), Character(S, "animal", "animal", "indefinite", False))
    interactions = (
        Interaction(S, "aggression", "character", "dreamer", physical=True),
        Interaction(S, "aggression", "dreamer", "character"),
        Interaction(S, "aggression", "character", "dreamer"),
        Interaction(S, "aggression", "character", "character", physical=True),
        Interaction(S, "friendliness", "dreamer", "character"),
        Interaction(S, "sexuality", "dreamer", "character", reciprocal=True),
    )
    values = indicators([_dream(characters=chars, interactions=interactions), _dream()])
    assert values["animal_percent"] == pytest.approx(100 / 3)
    assert values["ac_index"] == pytest.approx(4 / 3)
    assert values["fc_index"] == pytest.approx(1 / 3)
    assert values["sc_index"] == pytest.approx(1 / 3)
    assert values["aggressor_percent"] == pytest.approx(100 / 3)  # 1 as aggressor, 2 as victim
    assert values["befriender_percent"] == pytest.approx(100.0)
    assert values["physical_aggression_percent"] == pytest.approx(50.0)
    assert values["aggression_friendliness_percent"] == pytest.approx(75.0)  # 3 of 4 dreamer-involved
    assert values["dreams_with_aggression_percent"] == pytest.approx(50.0)


def test_self_concept_settings_and_emotions() -> None:
    dream = _dream(
        interactions=(Interaction(S, "aggression", "character", "dreamer"),),
        fortunes=(Fortune(S, "misfortune", "injury", True), Fortune(S, "misfortune", "loss", False)),
        strivings=(Striving(S, "success", True), Striving(S, "failure", True), Striving(S, "failure", True)),
        settings=(Setting(S, "house", "indoor", "familiar"), Setting(S, "street", "outdoor", "questionable")),
        emotions=(Emotion(S, "apprehension", True), Emotion(S, "happiness", True)),
        body_parts=(BodyPart(S, "torso"), BodyPart(S, "head"), BodyPart(S, "anatomy"), BodyPart(S, "head")),
    )
    values = indicators([dream])
    # negative: victim 1 + misfortune 1 + failures 2; positive: success 1
    assert values["self_negativity_percent"] == pytest.approx(80.0)
    assert values["dreamer_involved_success_percent"] == pytest.approx(100 / 3)
    assert values["bodily_misfortunes_percent"] == pytest.approx(50.0)
    assert values["indoor_setting_percent"] == pytest.approx(50.0)
    assert values["familiar_setting_percent"] == pytest.approx(100.0)  # questionable is left out
    assert values["negative_emotions_percent"] == pytest.approx(50.0)
    assert values["torso_anatomy_percent"] == pytest.approx(50.0)
    assert values["dreams_with_striving_percent"] == pytest.approx(100.0)


def test_none_on_zero_denominators() -> None:
    assert set(indicators([])) == {spec.key for spec in INDICATORS}
    assert all(v is None for v in indicators([]).values())
    only_animals = indicators([_dream(characters=(Character(S, "animal", "animal", "indefinite", False),))])
    assert only_animals["animal_percent"] == pytest.approx(100.0)
    assert only_animals["male_female_percent"] is None
    assert only_animals["physical_aggression_percent"] is None
    assert only_animals["ac_index"] == 0.0


# --- effect size and norms -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p1", "p2", "h"),
    [
        pytest.param(0.5, 0.5, 0.0, id="equal"),
        pytest.param(1.0, 0.0, math.pi, id="extremes"),
        pytest.param(0.67, 0.5, 0.3469, id="formula"),
        pytest.param(0.34, 0.50, -0.3257, id="negative"),
    ],
)
def test_cohen_h(p1: float, p2: float, h: float) -> None:
    assert cohen_h(p1, p2) == pytest.approx(h, abs=1e-4)
    # the same effect size in its other closed form, acos(1 - 2p)
    assert cohen_h(p1, p2) == pytest.approx(math.acos(1 - 2 * p1) - math.acos(1 - 2 * p2))


def test_cohen_h_wants_proportions() -> None:
    with pytest.raises(InputError, match="divide percentages by 100"):
        cohen_h(67, 50)


def test_compare_with_norms() -> None:
    values = {spec.key: None for spec in INDICATORS} | {"male_female_percent": 50.0, "ac_index": 0.2}
    rows = {row.key: row for row in compare_with_norms(values, "male")}
    assert [r.key for r in compare_with_norms(values, "male")] == [spec.key for spec in INDICATORS]
    mf = rows["male_female_percent"]
    assert (mf.value, mf.norm, mf.difference) == (50.0, 67.0, -17.0)
    assert mf.h == pytest.approx(cohen_h(0.50, 0.67))
    assert rows["ac_index"].h is None  # h is for percentages
    women = {row.key: row for row in compare_with_norms(values, "female")}
    assert women["male_female_percent"].norm is None  # not confirmed: left out, not guessed
    assert women["male_female_percent"].difference is None


def test_compare_with_norms_needs_a_sex() -> None:
    with pytest.raises(InputError, match="'male' or 'female'"):
        compare_with_norms({}, "m")


def test_norms_file_names_its_sources() -> None:
    raw = json.loads(
        resources.files("reverie.instruments").joinpath("data", "hvdc_norms.json").read_text("utf-8")
    )
    keys = {spec.key for spec in INDICATORS}
    assert "Hall" in raw["citation"] and "Domhoff" in raw["citation"]
    assert raw["norms"], "at least one confirmed norm"
    for key, entry in raw["norms"].items():
        assert key in keys
        assert entry["confirmed_in"]
        assert all(0 <= entry[sex] <= 100 for sex in ("male", "female") if sex in entry)
    assert set(raw["not_confirmed"]) <= keys
    assert published_norms()["female"]["physical_aggression_percent"] == 34.0


# --- the report script ---------------------------------------------------------------------------


def _script() -> ModuleType:
    path = Path(__file__).parents[2] / "scripts" / "hvdc_norms_report.py"
    spec = importlib.util.spec_from_file_location("hvdc_norms_report", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_script_prints_one_line_per_indicator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "dreams.csv"
    csv_file.write_text(
        'sex,n,dream\nm,1,"A man hit me in the kitchen."\nf,2,"My sister hugged me in the garden."\n',
        encoding="utf-8",
    )
    assert _script().main([str(csv_file)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 + len(INDICATORS)
    assert lines[0].startswith("| Indicator | Men: ours (n=1)")
    physical = next(line for line in lines if line.startswith("| Physical Aggression Percent"))
    assert physical.split("|")[2:4] == [" 100% ", " 50% "]

"""A PDM-2 formulation proposed from patterns across sessions: hypotheses, not verdicts.

``propose_formulation(utterances, annotations, patterns)`` reads the client's utterances of a
case, their stored annotations (as ``Store.annotations(case_id)`` returns them) and the
recurring relationship patterns (``PastPresentLinker.patterns()``), and proposes:

- **P axis**: a level of personality organization, from the maturity of the defense cues
  ("borderline" only where splitting is cued too; never "psychotic": no word cue speaks to
  reality testing), and the personality styles whose cues recur (by default at least two
  kinds of cue, in three utterances, in a fifth of the sessions);
- **M axis**: ratings of the capacities the cues speak to (``capacities.py``); the others are
  listed as not rated, never filled in;
- **S axis**: symptom patterns whose cues recur (in a fifth of the sessions, by default);
- **relationship theme**: the most frequent wish, response of other and response of self
  over the relationship episodes (Luborsky's CCRT), with counts, and each recurring pattern;
- **defense profile**: every defense cued, with its count and Vaillant maturity, and the
  counts by maturity level.

Every item is a ``Hypothesis`` with evidence (the client's own sentences) and a score capped
low or moderate (``pdm2.json``), status ``UNCONFIRMED``. Nothing is proposed without evidence.
Thresholds and wording are data; see docs/formulation.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reverie.domain import Annotation, Hypothesis, Utterance
from reverie.errors import EmptyInputError
from reverie.formulation.capacities import rate_capacities, recurs
from reverie.formulation.cues import EPISODE_PARTS, CueIndex, Support, counted, support, support_score
from reverie.formulation.pdm2 import Pdm2, load_pdm2
from reverie.formulation.signoff import Formulation, FormulationItem, Section

if TYPE_CHECKING:  # case memory (and numpy) is not loaded to read a pattern's fields
    from reverie.memory.links import Pattern

_PART_NAMES = {
    "wish": "wish",
    "response_of_other": "response of other",
    "response_of_self": "response of self",
}


def propose_formulation(
    utterances: Sequence[Utterance],
    annotations: Mapping[int, Sequence[Annotation]],
    patterns: Sequence[Pattern] = (),
    *,
    pdm2: Pdm2 | None = None,
) -> Formulation:
    """A formulation of unconfirmed hypotheses (see the module docstring).

    ``annotations`` maps utterance id to its stored annotations; only client utterances are
    read. Raises ``EmptyInputError`` when there is no client utterance at all.
    """
    data = pdm2 or load_pdm2()
    index = CueIndex(utterances, annotations, data.phrases)
    if not index.utterances:
        raise EmptyInputError(
            "There is nothing to formulate from: the case has no client utterances yet. Hold a session first."
        )
    m_items, not_rated = rate_capacities(index, data)
    items = [
        *_personality_level(index, data),
        *_styles(index, data),
        *m_items,
        *_symptom_patterns(index, data),
        *_relationship_theme(index, patterns, data),
        *_defense_profile(index, data),
    ]
    return Formulation(
        items=tuple(items),
        not_rated=tuple(not_rated),
        basis={"utterances": len(index.utterances), "sessions": index.sessions},
    )


def _hypothesis(
    kind: str, statement: str, found: Support, cap: float, limit: int, detail: dict[str, Any]
) -> Hypothesis:
    return Hypothesis(
        kind=kind,
        statement=statement,
        evidence=found.evidence(limit),
        score=support_score(found.utterances, found.sessions, cap),
        detail={"utterances": found.utterances, "sessions": found.sessions, **detail},
    )


# -- P axis ------------------------------------------------------------------------------------


def _personality_level(index: CueIndex, pdm2: Pdm2) -> list[FormulationItem]:
    rated = [c for c in index.find(["defense:*"]) if c.detail.get("maturity") in pdm2.maturity_scale]
    if len(rated) < pdm2.threshold("p_level_min_cues"):
        return []
    mean = sum(pdm2.maturity_scale[str(c.detail["maturity"])] for c in rated) / len(rated)
    cut = pdm2.level_cutoffs
    splitting = support(c for c in rated if c.label == "splitting").utterances
    level_id = "healthy" if mean >= cut["healthy_from"] else "neurotic"
    caveat = ""
    if mean < cut["borderline_below"]:
        # Immature defenses alone ("it's no big deal") are everyday speech; borderline
        # organization is proposed only where splitting, its hallmark, is cued as well.
        if splitting >= cut["borderline_min_splitting"]:
            level_id = "borderline"
        else:
            caveat = " Immature defenses predominate, but splitting is not cued: borderline organization is not proposed."
    level = pdm2.level(level_id)
    found = support(rated)
    statement = (
        f"P axis, level of personality organization: {level.name} range ({level.description}). "
        f"Hypothesis from {len(rated)} defense cues only (mean maturity {mean:.2f}, immature 2 / neurotic 3 / "
        f"mature 4); PDM-2 places the level from the M-axis capacities and a clinical interview.{caveat}"
    )
    detail = {"level": level.id, "mean_maturity": round(mean, 2), "cues": len(rated), "splitting": splitting}
    hypothesis = _hypothesis(
        "pdm2.p.level",
        statement,
        found,
        pdm2.confidence_caps["p_level"],
        pdm2.threshold("evidence_per_item"),
        detail,
    )
    return [FormulationItem("p.level", Section.P_AXIS, hypothesis, level.plain)]


def _styles(index: CueIndex, pdm2: Pdm2) -> list[FormulationItem]:
    items = []
    for style in pdm2.styles:
        if not style.cues:
            continue  # a style reverie has no cues for is never proposed
        found = support(index.find(style.cues))
        if (
            found.utterances < pdm2.threshold("p_style_min_utterances")
            or found.kinds < pdm2.threshold("p_style_min_kinds")
            or not recurs(found, index, pdm2)
        ):
            continue
        statement = (
            f"P axis, {style.name} personality style ({style.description}). Hypothesis from "
            f"{counted(found.utterances, 'utterance')} in {counted(found.sessions, 'session')}: {found.summary()}."
        )
        detail = {"style": style.id, "counts": found.counts()}
        hypothesis = _hypothesis(
            "pdm2.p.style",
            statement,
            found,
            pdm2.confidence_caps["p_style"],
            pdm2.threshold("evidence_per_item"),
            detail,
        )
        items.append(FormulationItem(f"p.style.{style.id}", Section.P_AXIS, hypothesis, style.plain))
    return items


# -- S axis ------------------------------------------------------------------------------------


def _symptom_patterns(index: CueIndex, pdm2: Pdm2) -> list[FormulationItem]:
    items = []
    for pattern in pdm2.symptom_patterns:
        found = support(index.find(pattern.cues))
        if found.utterances < pattern.min_utterances or not recurs(found, index, pdm2):
            continue
        statement = (
            f"S axis, {pattern.name} ({pattern.group}: {pattern.description}). Hypothesis from "
            f"{counted(found.utterances, 'utterance')} in {counted(found.sessions, 'session')}: {found.summary()}."
        )
        detail = {"pattern": pattern.id, "group": pattern.group, "counts": found.counts()}
        hypothesis = _hypothesis(
            "pdm2.s",
            statement,
            found,
            pdm2.confidence_caps["s_axis"],
            pdm2.threshold("evidence_per_item"),
            detail,
        )
        items.append(FormulationItem(f"s.{pattern.id}", Section.S_AXIS, hypothesis, pattern.plain))
    return items


# -- relationship theme (CCRT) -----------------------------------------------------------------


def _relationship_theme(index: CueIndex, patterns: Sequence[Pattern], pdm2: Pdm2) -> list[FormulationItem]:
    items = []
    cap, limit = pdm2.confidence_caps["relationship_theme"], pdm2.threshold("evidence_per_item")
    for part, kind in EPISODE_PARTS.items():
        cues = index.find([f"{kind}:*"])
        counts = Counter(c.label for c in cues)
        if not counts:
            continue
        category, count = counts.most_common(1)[0]
        if count < pdm2.threshold("theme_min_episodes"):
            continue
        found = support(c for c in cues if c.label == category)
        others = ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in counts.most_common() if k != category)
        statement = (
            f"Core relationship theme, {_PART_NAMES[part]}: {category.replace('_', ' ')}, in {count} of "
            f"{len(cues)} coded episodes" + (f" (others: {others})" if others else "") + ". Hypothesis."
        )
        detail = {"part": part, "category": category, "count": count, "of": len(cues), "counts": dict(counts)}
        hypothesis = _hypothesis(f"ccrt.{part}", statement, found, cap, limit, detail)
        items.append(
            FormulationItem(
                f"rt.{part}", Section.RELATIONSHIP_THEME, hypothesis, _plain_part(part, category, pdm2)
            )
        )
    for pattern in patterns:
        if pattern.evidence:
            items.append(_pattern_item(pattern, cap, limit, pdm2))
    return items


def _plain_part(part: str, category: str, pdm2: Pdm2) -> str:
    words = pdm2.relationship_words.get(part, {}).get(category)
    if not words:
        return ""
    if part == "wish":
        return f"In your stories about other people, you often wish {words}."
    if part == "response_of_other":
        return f"In your stories about other people, they often {words}."
    return f"In your stories about other people, you often {words}."


def _pattern_item(pattern: Pattern, cap: float, limit: int, pdm2: Pdm2) -> FormulationItem:
    parts = sorted(pattern.categories.items())
    named = " and ".join(f"{_PART_NAMES.get(p, p)} = {v.replace('_', ' ')}" for p, v in parts)
    with_whom = f", with {', '.join(pattern.others)}" if pattern.others else ""
    statement = (
        f"Recurring relationship pattern: {named}, in {pattern.utterances} utterances across "
        f"{pattern.sessions} sessions{with_whom}. Hypothesis."
    )
    hypothesis = Hypothesis(
        kind="ccrt.pattern",
        statement=statement,
        evidence=tuple(pattern.evidence[:limit]),
        score=support_score(pattern.utterances, pattern.sessions, cap),
        detail={
            "categories": dict(pattern.categories),
            "utterances": pattern.utterances,
            "sessions": pattern.sessions,
            "others": list(pattern.others),
        },
    )
    said = [pdm2.relationship_words.get(p, {}).get(v) for p, v in parts]
    plain = ""
    if all(said):
        clauses = [
            f"others {w}" if p == "response_of_other" else f"you {w}"
            for (p, _), w in zip(parts, said, strict=True)
        ]
        plain = f"A pattern comes back in your relationships: {' and '.join(clauses)}."
    key = "+".join(f"{p}={v}" for p, v in parts)
    return FormulationItem(f"rt.pattern.{key}", Section.RELATIONSHIP_THEME, hypothesis, plain)


# -- defense profile ---------------------------------------------------------------------------


def _defense_profile(index: CueIndex, pdm2: Pdm2) -> list[FormulationItem]:
    cues = index.find(["defense:*"])
    if not cues:
        return []
    cap, limit = pdm2.confidence_caps["defense_profile"], pdm2.threshold("evidence_per_item")
    items = []
    for label, _ in Counter(c.label for c in cues).most_common():
        found = support(c for c in cues if c.label == label)
        maturity = str(found.cues[0].detail.get("maturity", "unknown"))
        statement = (
            f"Defense: {label.replace('_', ' ')} ({maturity}), cued in {counted(found.utterances, 'utterance')} "
            f"across {counted(found.sessions, 'session')}. Hypothesis."
        )
        detail = {"defense": label, "maturity": maturity, "count": len(found.cues)}
        hypothesis = _hypothesis("defense", statement, found, cap, limit, detail)
        items.append(
            FormulationItem(
                f"defense.{label}", Section.DEFENSE_PROFILE, hypothesis, pdm2.defense_plain.get(label, "")
            )
        )
    by_level = Counter(str(c.detail.get("maturity", "unknown")) for c in cues)
    found = support(cues)
    levels = ", ".join(f"{n} {lv}" for lv, n in by_level.most_common())
    predominant = by_level.most_common(1)[0][0]
    statement = (
        f"Defense profile: {len(cues)} cues of {len({c.label for c in cues})} defenses ({levels}); "
        f"predominantly {predominant}. Hypothesis."
    )
    detail = {
        "by_defense": dict(Counter(c.label for c in cues).most_common()),
        "by_maturity": dict(by_level.most_common()),
        "predominant": predominant,
    }
    hypothesis = Hypothesis(
        kind="defense.profile",
        statement=statement,
        evidence=found.evidence(limit, one_per_key=True),
        score=support_score(found.utterances, found.sessions, cap),
        detail={"utterances": found.utterances, "sessions": found.sessions, **detail},
    )
    items.append(FormulationItem("defense.profile", Section.DEFENSE_PROFILE, hypothesis, ""))
    return items

"""The crisis gate: screens one client message for suicide, self-harm and harm to others.

It runs before anything else in a turn and never depends on a language model. Its first
layer is rules (``reverie.analysis.risk_rules``): compiled regular expressions over the
lower-cased text, with apostrophes optional ("dont" = "don't"). Recall comes first. A negated
or past statement ("I'm not going to kill myself") still flags, at level ``low``; only talk
about someone else's suicide ("my uncle died by suicide") and known figures of speech ("this
commute is killing me") stay unflagged.

Its second layer is a small trained linear model (``reverie.analysis.risk_model``), consulted
only when the rules flag nothing: a sentence it scores at or above its threshold flags the
message at level ``low`` (label ``ideation``, kind ``indirect``, ``source="model"`` with the
probability), unless the rules recognise a figure of speech or an accident in that sentence,
neither it nor the sentences beside it hold a word of risk, or it talks of someone else's
suicide and the rest of it falls below the threshold. It can only add flags, never remove one.

Levels follow the Columbia scale: wish to be dead (``low``) < active ideation or self-harm
(``moderate``) < method, intent, a masked method request or harm to others (``high``) <
plan or behaviour: preparatory acts, attempts, means at hand (``imminent``). An attempt
placed in the distant past ("years ago") is ``high``.

Every rule names trigger words that any of its matches contains; a rule runs only when one
occurs, and in long messages only near it, so the gate stays well under a millisecond for a
typical message. The outgoing-text guard uses ``contains_method_information``.

Demo: ``python -m reverie.analysis.risk "I won't be a burden much longer"``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from reverie.analysis import layers, risk_rules
from reverie.analysis.doc import Doc
from reverie.domain import Annotation, Span

if TYPE_CHECKING:  # numpy loads with the model, not with the rules
    from reverie.analysis.risk_model import RiskModel

__all__ = [
    "KINDS",
    "LEVELS",
    "NO_RISK",
    "RiskAnnotator",
    "RiskAssessment",
    "RiskFinding",
    "RiskScreen",
    "contains_method_information",
    "max_level",
]

LEVELS = ("none", "low", "moderate", "high", "imminent")
KINDS = ("none", "explicit", "indirect", "masked")
_RANK = {level: i for i, level in enumerate(LEVELS)}
_SCORE = {"none": 0.0, "low": 0.25, "moderate": 0.5, "high": 0.75, "imminent": 1.0}
_LABEL_ORDER = {label: i for i, label in enumerate(layers.RISK_LABELS)}
# Which kind wins when a message holds several: a plain statement, then a disguised request.
_KIND_ORDER = {"explicit": 3, "masked": 2, "indirect": 1, "none": 0}


def max_level(levels: Iterable[str]) -> str:
    """The highest of ``levels`` on the Columbia-ordered scale (``"none"`` for no levels)."""
    return max(levels, key=_RANK.__getitem__, default="none")


@dataclass(frozen=True, slots=True)
class RiskFinding:
    """One rule (or the trained layer) that fired: what it means, how strongly, and where in
    the text. ``source`` is ``"rules"`` or ``"model"``; a model finding carries its
    ``probability`` and spans the sentence it scored highest."""

    label: str
    level: str
    kind: str
    span: Span
    negated: bool = False
    past: bool = False
    source: str = "rules"
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """The gate's verdict on one message. ``flagged`` switches the session to the crisis
    protocol; ``level`` may be ``"low"`` while unflagged when only someone else's suicide was
    talked about (``evidence`` then points at those words)."""

    flagged: bool
    level: str
    labels: tuple[str, ...]
    kind: str
    harm_to_others: bool
    evidence: tuple[Span, ...]
    findings: tuple[RiskFinding, ...] = ()

    def to_annotations(self) -> list[Annotation]:
        """One annotation of layer ``risk.v1`` per finding (none when nothing flagged); its
        detail holds the level, kind, negation, past, source and (model only) probability."""
        return [
            Annotation(
                layer=layers.RISK,
                label=f.label,
                score=_SCORE[f.level],
                span=f.span,
                detail=_detail(f),
            )
            for f in self.findings
        ]

    @classmethod
    def from_annotations(cls, annotations: Sequence[Annotation]) -> RiskAssessment:
        """Rebuild the assessment from stored ``risk.v1`` annotations (other layers ignored)."""
        findings = [
            RiskFinding(
                label=a.label,
                level=str(a.detail.get("level", "high")),
                kind=str(a.detail.get("kind", "explicit")),
                span=a.span or Span(0, 0),
                negated=bool(a.detail.get("negated", False)),
                past=bool(a.detail.get("past", False)),
                source=str(a.detail.get("source", "rules")),
                probability=_probability(a.detail.get("probability")),
            )
            for a in annotations
            if a.layer == layers.RISK
        ]
        return _assess(findings, [])

    def to_json(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "level": self.level,
            "labels": list(self.labels),
            "kind": self.kind,
            "harm_to_others": self.harm_to_others,
            "evidence": [[s.start, s.end] for s in self.evidence],
        }


NO_RISK = RiskAssessment(False, "none", (), "none", False, ())


def _detail(f: RiskFinding) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "level": f.level,
        "kind": f.kind,
        "negated": f.negated,
        "past": f.past,
        "source": f.source,
    }
    if f.probability is not None:
        detail["probability"] = round(f.probability, 4)
    return detail


def _probability(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _merge(spans: Iterable[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """Overlapping ``(start, end)`` windows merged, clipped to ``[0, size]``, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(size, end)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _matches(pattern: re.Pattern[str], lower: str, triggers: tuple[str, ...]) -> Iterator[re.Match[str]]:
    """The matches of ``pattern`` that contain one of ``triggers``: none when no trigger occurs,
    else a scan of the whole text (short messages) or of the windows around the triggers."""
    if len(lower) <= 2 * risk_rules.REACH:
        if any(t in lower for t in triggers):
            yield from pattern.finditer(lower)
        return
    around = []
    for trigger in triggers:
        at = lower.find(trigger)
        while at != -1:
            around.append((at - risk_rules.REACH, at + len(trigger) + risk_rules.REACH))
            at = lower.find(trigger, at + 1)
    for start, end in _merge(around, len(lower)):
        yield from pattern.finditer(lower, start, end)


def _clause_around(text: str, start: int, end: int) -> tuple[str, str]:
    """The words before and after ``[start, end)`` within the same clause (60 chars at most)."""
    left = text[max(0, start - 60) : start]
    cut = 0
    for m in risk_rules.BOUNDARY.finditer(left):
        cut = m.end()
    right = text[end : end + 60]
    stop = risk_rules.BOUNDARY.search(right)
    return left[cut:], right[: stop.start()] if stop else right


_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def _normalise(text: str) -> str:
    """Lower case with straight apostrophes, always the same length as ``text`` (spans agree)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters ("İ") lower to two: keep those as they are
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered.translate(_APOSTROPHES)


class RiskScreen:
    """The crisis gate. Build it once (rules compile here) and call ``screen`` per message.

    ``model`` is the trained second layer: by default the shipped weights (loaded on the
    first ``RiskScreen()`` of the process and shared; ``ModelUnavailableError`` if they are
    missing or altered), ``None`` for rules only, or any ``RiskModel``."""

    def __init__(self, model: RiskModel | Literal["shipped"] | None = "shipped") -> None:
        self._rules = risk_rules.compile_rules()
        if model == "shipped":
            from reverie.analysis.risk_model import shipped_risk_model

            model = shipped_risk_model()
        self.model: RiskModel | None = model

    def screen(self, text: str) -> RiskAssessment:
        """Assess one message. Pure and deterministic; never raises for any string."""
        lower = _normalise(text)
        findings, mentions = self._rule_findings(text, lower)
        if not findings and self.model is not None:
            findings = _model_findings(self.model, text, lower)
        return _assess(findings, mentions)

    def _rule_findings(self, text: str, lower: str) -> tuple[list[RiskFinding], list[Span]]:
        """What the rules found, and the spans that only mention someone else's suicide."""
        raw: list[RiskFinding] = []
        for rule in self._rules:
            for m in _matches(rule.pattern, lower, rule.triggers):
                start = m.start()
                if rule.boundary and start and (lower[start - 1].isalnum() or lower[start - 1] == "_"):
                    continue
                if rule.subject is not None:
                    window = max(0, start - 70)
                    found = rule.subject.search(lower, window, start)
                    if found is None:
                        continue
                    start = found.start()
                # A victim named by a word we do not know ("kill Dave") counts only when the
                # client wrote it with a capital letter, as a name.
                if m.lastgroup == "name" and (
                    not text[m.start("name")].isupper() or m.group("name") in risk_rules.NOT_A_NAME
                ):
                    continue
                raw.append(RiskFinding(rule.label, rule.level, rule.kind, Span(start, m.end())))
        if not raw:
            return [], []
        reach = risk_rules.REACH
        near = _merge([(f.span.start - reach, f.span.end + reach) for f in raw], len(lower))
        excluded = [Span(*m.span()) for a, b in near for m in risk_rules.EXCLUSIONS.finditer(lower, a, b)]
        mentioned = [Span(*m.span()) for a, b in near for m in risk_rules.MENTION.finditer(lower, a, b)]
        findings: list[RiskFinding] = []
        mentions: list[Span] = []
        for f in raw:
            if any(_overlaps(f.span, s) for s in excluded):
                continue
            if f.kind != "masked" and any(_overlaps(f.span, s) for s in mentioned):
                mentions.append(f.span)
                continue
            findings.append(_qualify(f, lower))
        if any(f.label in risk_rules.SUICIDAL and not f.negated for f in findings):
            # Thoughts of dying next to a means or a place ("I want to die. The pills are
            # right there") count as thoughts with a method.
            taken = [f.span for f in findings]
            for m in _matches(risk_rules.MEANS_NAMED, lower, risk_rules.MEANS_NAMED_WORDS):
                span = Span(m.start(), m.end())
                if not any(_overlaps(span, t) for t in taken):
                    findings.append(RiskFinding("method", "high", "explicit", span))
        return findings, mentions


def _model_findings(model: RiskModel, text: str, lower: str) -> list[RiskFinding]:
    """The trained layer's finding: its highest-scoring sentence at or over its threshold,
    passing over sentences where the rules recognise a figure of speech or an accident ("I cut
    myself shaving") and sentences with no word of death, harm, ending or despair
    (``risk_rules.RISK_CONTEXT``: "I keep thinking about my mother") in them or in the sentence
    just before or after: a thought is often split across sentences or lines ("everyone keeps
    telling me to hold on. I don't see the point"). A sentence that talks of someone else's
    suicide counts only if the rest of it still reaches the threshold: the bereaved can be at
    risk themselves ("since my dad took his own life I keep thinking I should follow him"), but
    "my uncle died by suicide" alone is grief."""
    scored = model.score(text)
    over = [i for i, s in enumerate(scored) if s.probability >= model.threshold]
    for i in sorted(over, key=lambda i: (-scored[i].probability, scored[i].span.start)):
        hit = scored[i]
        sentence = lower[hit.span.start : hit.span.end]
        around = lower[scored[max(i - 1, 0)].span.start : scored[min(i + 1, len(scored) - 1)].span.end]
        if not risk_rules.RISK_CONTEXT.search(around) or risk_rules.EXCLUSIONS.search(sentence):
            continue
        if risk_rules.MENTION.search(sentence) and (
            model.probability(risk_rules.MENTION.sub(" ", sentence)) < model.threshold
        ):
            continue
        p = hit.probability
        return [RiskFinding("ideation", "low", "indirect", hit.span, source="model", probability=p)]
    return []


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _qualify(f: RiskFinding, lower: str) -> RiskFinding:
    """Lower a finding's level when its clause negates it or places it in the past; a masked
    request keeps its level ("not for me, but..." is how such requests are often masked)."""
    if f.kind == "masked":
        return f
    before, after = _clause_around(lower, f.span.start, f.span.end)
    if f.label == "harm_to_others":  # its match starts at "I", so "I would never..." is inside it
        before += lower[f.span.start : f.span.end]
    negated = risk_rules.NEGATION.search(before) is not None
    past = risk_rules.PAST.search(before) is not None or risk_rules.PAST.search(after) is not None
    level = f.level
    if past and level == "imminent":
        level = "high"  # an attempt long ago is a risk factor, not an emergency
    elif negated or past:
        level = "low"
    return RiskFinding(f.label, level, f.kind, f.span, negated, past)


def _assess(findings: Sequence[RiskFinding], mentions: Sequence[Span]) -> RiskAssessment:
    if not findings:
        if not mentions:
            return NO_RISK
        return RiskAssessment(False, "low", (), "none", False, tuple(sorted(set(mentions), key=_span_key)))
    findings = sorted(findings, key=lambda f: (f.span.start, f.span.end, _LABEL_ORDER[f.label]))
    labels = tuple(sorted({f.label for f in findings}, key=_LABEL_ORDER.__getitem__))
    kind = max((f.kind for f in findings), key=_KIND_ORDER.__getitem__)
    harm = any(f.label == "harm_to_others" and not f.negated for f in findings)
    spans = {f.span for f in findings} | set(mentions)
    return RiskAssessment(
        flagged=True,
        level=max_level(f.level for f in findings),
        labels=labels,
        kind=kind,
        harm_to_others=harm,
        evidence=tuple(sorted(spans, key=_span_key)),
        findings=tuple(findings),
    )


def _span_key(span: Span) -> tuple[int, int]:
    return (span.start, span.end)


def contains_method_information(text: str) -> bool:
    """True when ``text`` names a means, dose, height, place or instruction for harming
    oneself or another. The outgoing-text guard blocks any reply for which this is true; it
    is deliberately broad (a reply that mentions a bridge at all is blocked)."""
    return risk_rules.METHOD_INFORMATION.search(_normalise(text)) is not None


class RiskAnnotator:
    """The crisis gate as a pipeline step: adds the assessment's ``risk.v1`` annotations."""

    name = "risk"
    requires: tuple[str, ...] = ()
    assigns: tuple[str, ...] = (layers.RISK,)

    def __init__(self, screen: RiskScreen | None = None) -> None:
        self._screen = screen or RiskScreen()

    def annotate(self, doc: Doc) -> None:
        doc.layers.setdefault(layers.RISK, [])
        for annotation in self._screen.screen(doc.text).to_annotations():
            doc.add(annotation)


def main(argv: Sequence[str]) -> int:
    """Print the assessment of the text given on the command line, with its evidence and the
    layer (rules or model) behind each finding."""
    text = " ".join(argv) or "I don't see the point in going on"
    assessment = RiskScreen().screen(text)
    out = assessment.to_json()
    out["evidence"] = [span.of(text) for span in assessment.evidence]
    out["findings"] = [{"label": f.label, **_detail(f)} for f in assessment.findings]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main() in the tests
    raise SystemExit(main(sys.argv[1:]))

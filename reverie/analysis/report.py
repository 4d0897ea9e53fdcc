"""A transcript analysed into a report a clinician can check against the quotes.

Every finding carries its evidence (utterance number and the words). An episode names the
other, the wish and the two responses, each with the words it rests on (``evidence``); one
told over several client turns ("My mum found out." / "She went mad at me") is joined by
``episode_threads.join_episodes`` and carries ``turns``, ``evidence_turns`` and ``quotes``; a
defense or transference cue comes with the sentence it sits in (``sentence``), so the cue can
be read in its context. Defenses, patterns and transference are hypotheses, and the report
says so. ``affect`` counts the lexicon's clinical emotion words (``affect.v1``); ``emotions``
gives the trained GoEmotions model's labels (``emotion.v1``) per utterance with the sentence
that voices each, and the most frequent feelings, apart from the stances (``STANCE_LABELS``:
in transcripts mostly "yeah", "no" and "I don't know"), or, when the model could not run, why.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.emotion import STANCE_LABELS, shipped_model_problem
from reverie.analysis.episode_threads import join_episodes
from reverie.analysis.episodes import EpisodeAnnotator
from reverie.analysis.key_moments import cycle_blocks
from reverie.analysis.lexicon import sentence_spans
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.risk import RiskScreen
from reverie.domain import Annotation, Speaker

HYPOTHESIS_NOTE = "Hypotheses from word cues, unconfirmed until a clinician reviews them."
EMOTION_NOTE = (
    "Emotions found by a model trained on GoEmotions (Reddit comments; docs/models/affect.md), "
    "sentence by sentence. A score is the model's probability: compare it with its label's own "
    "threshold, not with other labels. Not a clinical instrument."
)


def _quote(doc: Doc, ann: Annotation, limit: int = 160) -> str:
    text = ann.span.of(doc.text) if ann.span else doc.text
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _sentence(doc: Doc, ann: Annotation, limit: int = 240) -> str:
    """The sentence(s) around an annotation's span, shortened to about ``limit`` characters."""
    if ann.span is None:
        return _quote(doc, ann, limit)
    spans = sentence_spans(doc.text)
    start = max((s for s, _ in spans if s <= ann.span.start), default=0)
    end = min((e for _, e in spans if e >= ann.span.end), default=len(doc.text))
    text = doc.text[start:end].strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def analyse(turns: Sequence[tuple[Speaker, str]], pipeline: Pipeline, screen: RiskScreen) -> list[Doc]:
    docs = []
    for speaker, text in turns:
        doc = pipeline.run(text, speaker)
        if speaker is Speaker.CLIENT:
            for ann in screen.screen(text).to_annotations():
                doc.add(ann)
        docs.append(doc)
    return docs


def build_report(docs: Sequence[Doc], pipeline: Pipeline | None = None) -> dict[str, Any]:
    """The report of ``docs`` (a transcript analysed by ``analyse``). Given the ``pipeline``
    that analysed them, episodes told over several turns are joined with its own episode
    annotator instead of a new one."""
    client = [(i, d) for i, d in enumerate(docs, 1) if d.speaker is Speaker.CLIENT]
    risk, defenses, transference, dreams = [], [], [], []
    episodes: list[dict[str, Any]] = []
    own = [a for a in pipeline.annotators if isinstance(a, EpisodeAnnotator)] if pipeline else []
    joined = join_episodes(docs, own[0] if own else None)
    replaced = {id(j.replaces) for j in joined if j.replaces is not None}
    affect: Counter[str] = Counter()
    moments = []
    for number, doc in client:
        for ann in doc.get(layers.RISK):
            risk.append(
                {
                    "utterance": number,
                    "label": ann.label,
                    "score": round(ann.score, 2),
                    "quote": _quote(doc, ann),
                    "source": str(ann.detail.get("source", "rules")),
                    **{k: v for k, v in ann.detail.items() if k in {"kind", "level", "probability"}},
                }
            )
        for ann in doc.get(layers.AFFECT):
            affect[ann.label] += 1
        for ann in doc.get(layers.EPISODES):
            if id(ann) in replaced:
                continue  # told on in the next turns: the joined episode stands for it
            episodes.append(
                {
                    "utterance": number,
                    "quote": _quote(doc, ann, 240),
                    **{
                        k: ann.detail.get(k)
                        for k in ("other", "wish", "response_of_other", "response_of_self", "past")
                    },
                    "evidence": dict(ann.detail.get("evidence", {})),
                }
            )
        for ann in doc.get(layers.DEFENSES):
            defenses.append(
                {
                    "utterance": number,
                    "defense": ann.label,
                    "maturity": ann.detail.get("maturity"),
                    "score": round(ann.score, 2),
                    "quote": _quote(doc, ann),
                    "sentence": _sentence(doc, ann),
                }
            )
        for ann in doc.get(layers.TRANSFERENCE):
            transference.append(
                {
                    "utterance": number,
                    "marker": ann.label,
                    "quote": _quote(doc, ann),
                    "sentence": _sentence(doc, ann),
                }
            )
        for ann in doc.get(layers.DREAMS):
            dreams.append(
                {
                    "utterance": number,
                    "quote": _quote(doc, ann, 240),
                    "elements": ann.detail.get("elements", []),
                }
            )
        intensity = sum(a.score for a in doc.get(layers.AFFECT))
        if intensity > 0:
            moments.append((intensity, number, doc))
    episodes += [j.to_json() for j in joined]
    episodes.sort(key=lambda e: int(e["utterance"]))  # stable: an utterance keeps its order
    patterns = _patterns(episodes)
    blocks = cycle_blocks(docs)
    peaks = [
        {
            "utterance": n,
            "intensity": round(i, 2),
            "affect": sorted(d.labels(layers.AFFECT)),
            "quote": _quote(d, Annotation("", ""), 200),
        }
        for i, n, d in sorted(moments, key=lambda m: (-m[0], m[1]))[:5]
    ]
    return {
        "utterances": len(docs),
        "client_utterances": len(client),
        "risk": {"flagged": bool(risk), "findings": risk},
        "affect": dict(affect.most_common()),
        "emotions": _emotions(docs, client),
        "episodes": episodes,
        "patterns": patterns,
        "defenses": {
            "note": HYPOTHESIS_NOTE,
            "cues": defenses,
            "profile": dict(Counter(d["defense"] for d in defenses).most_common()),
            "by_maturity": dict(Counter(str(d["maturity"]) for d in defenses).most_common()),
        },
        "transference": {"note": HYPOTHESIS_NOTE, "markers": transference},
        "dreams": dreams,
        "key_moments": {
            "note": "Blocks of ~150 client words where emotional tone and abstraction are both above the "
            "session mean: an approximation of Mergenthaler's Therapeutic Cycles Model.",
            "blocks": [m.to_json() for m in blocks if m.is_key],
            "blocks_measured": len(blocks),
        },
        "emotional_peaks": peaks,
    }


def _emotions(docs: Sequence[Doc], client: Sequence[tuple[int, Doc]]) -> dict[str, Any]:
    """The ``emotion.v1`` findings of the client's utterances, every label with its sentence;
    ``summary`` tallies the feelings and ``stances`` the ``STANCE_LABELS``, each by the number of
    utterances. ``available`` is false, with the ``problem``, when no utterance met the model."""
    if docs and not any(layers.EMOTION in d.layers for d in docs):
        problem = shipped_model_problem() or "The emotion annotator was not in the analysis pipeline."
        return {
            "note": EMOTION_NOTE,
            "available": False,
            "problem": problem,
            "summary": [],
            "stances": [],
            "utterances": [],
        }
    found: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    highest: dict[str, float] = {}
    for number, doc in client:
        anns = sorted(doc.get(layers.EMOTION), key=lambda a: (a.span.start if a.span else 0, -a.score))
        if not anns:
            continue
        found.append(
            {
                "utterance": number,
                "emotions": [
                    {
                        "label": a.label,
                        "score": round(a.score, 2),
                        "threshold": a.detail.get("threshold"),
                        "quote": _quote(doc, a, 240),
                    }
                    for a in anns
                ],
            }
        )
        for a in anns:
            highest[a.label] = max(highest.get(a.label, 0.0), a.score)
        counts.update({a.label for a in anns})  # utterances, not sentences
    tally = [
        {"label": label, "utterances": n, "max_score": round(highest[label], 2)}
        for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], -highest[kv[0]], kv[0]))
    ]
    return {
        "note": EMOTION_NOTE,
        "available": True,
        "summary": [t for t in tally if t["label"] not in STANCE_LABELS],
        "stances": [t for t in tally if t["label"] in STANCE_LABELS],
        "utterances": found,
    }


def _patterns(episodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for ep in episodes:
        for field in ("response_of_other", "response_of_self"):
            if ep.get(field):
                groups[(field, str(ep[field]))].append(ep)
    return [
        {
            "category": field,
            "value": value,
            "count": len(eps),
            "others": sorted({str(e.get("other")) for e in eps if e.get("other")}),
            "evidence": [
                {
                    "utterance": e["utterance"],
                    "quote": e["quote"],
                    **({"turns": e["turns"]} if "turns" in e else {}),
                }
                for e in eps[:5]
            ],
            "note": HYPOTHESIS_NOTE,
        }
        for (field, value), eps in sorted(groups.items(), key=lambda kv: -len(kv[1]))
        if len(eps) >= 2
    ]


def _render_risk(findings: Sequence[dict[str, Any]]) -> list[str]:
    """The rules' findings with their level; the trained layer's own flags apart, as questions
    to ask: in a recorded session they are the gate's recall-first guesses, not findings."""
    if not findings:
        return ["No risk language found by the crisis gate."]
    ruled = [f for f in findings if f.get("source") != "model"]
    guessed = [f for f in findings if f.get("source") == "model"]
    out = [
        f"- **{f['label']}**, level {f.get('level', 'unknown')} (utterance {f['utterance']}): “{f['quote']}”"
        for f in ruled
    ]
    if guessed:
        if out:
            out.append("")
        out += [
            "Worth asking about: the trained layer alone flagged these (it errs towards flagging; "
            "probability in brackets). In a live session each would have led to a gentle check-in.",
            "",
        ]
        out += [
            f"- utterance {f['utterance']} ({f.get('probability', 0):.2f}): “{f['quote']}”" for f in guessed
        ]
    return out


def render_markdown(report: dict[str, Any], title: str = "Transcript analysis") -> str:
    out = [
        f"# {title}",
        "",
        f"{report['utterances']} utterances, {report['client_utterances']} by the client.",
        "",
    ]
    out += ["## Risk", ""]
    out += _render_risk(report["risk"]["findings"])
    out += ["", "## Affect", ""]
    out += [f"- {k}: {v}" for k, v in report["affect"].items()] or ["No affect words found."]
    out += ["", "## Emotions (trained model)", "", _render_emotions(report["emotions"])]
    out += ["", "## Relationship episodes", ""]
    for e in report["episodes"]:
        out += _render_episode(e)
    if not report["episodes"]:
        out.append("None found.")
    out += ["", "## Patterns (hypotheses)", ""]
    for p in report["patterns"]:
        quotes = "; ".join(f"{_utterances(q)}: “{q['quote']}”" for q in p["evidence"])
        out.append(f"- {p['category'].replace('_', ' ')} = {p['value']} ×{p['count']} — {quotes}")
    if not report["patterns"]:
        out.append("None recurring yet.")
    out += ["", "## Defenses (hypotheses)", ""]
    out += [
        f"- {d['defense']} ({d.get('maturity')}; utterance {d['utterance']}, {d['score']}): “{d['quote']}” in “{d['sentence']}”"
        for d in report["defenses"]["cues"]
    ] or ["No cues found."]
    if report["defenses"].get("by_maturity"):
        levels = ", ".join(f"{k} {v}" for k, v in report["defenses"]["by_maturity"].items())
        out += ["", f"Cues by maturity level (Vaillant): {levels}."]
    out += ["", "## Transference (hypotheses)", ""]
    out += [
        f"- {t['marker']} (utterance {t['utterance']}): “{t['quote']}” in “{t['sentence']}”"
        for t in report["transference"]["markers"]
    ] or ["No markers found."]
    out += ["", "## Dreams", ""]
    out += [f"- utterance {d['utterance']}: “{d['quote']}”" for d in report["dreams"]] or [
        "No dream reports."
    ]
    out += ["", "## Key moments (connecting: high emotional tone and abstraction)", ""]
    out += [
        f"- utterances {m['utterances'][0]}-{m['utterances'][1]} (tone z {m['tone_z']}, abstraction z "
        f"{m['abstraction_z']}): “{m['evidence'][0]['quote'] if m['evidence'] else ''}”"
        for m in report["key_moments"]["blocks"]
    ] or [
        f"None: in none of the {report['key_moments'].get('blocks_measured', 0)} blocks were both above the "
        "session mean (a transcript needs at least two blocks of ~150 client words)."
    ]
    out += ["", "## Emotional peaks", ""]
    out += [
        f"- utterance {m['utterance']} ({', '.join(m['affect'])}): “{m['quote']}”"
        for m in report["emotional_peaks"]
    ] or ["None."]
    out += ["", f"_{HYPOTHESIS_NOTE}_", ""]
    return "\n".join(out)


def _utterances(entry: dict[str, Any]) -> str:
    turns = entry.get("turns")
    return f"{turns[0]}-{turns[-1]}" if turns else str(entry["utterance"])


def _render_episode(e: dict[str, Any]) -> list[str]:
    """An episode as a list item; one told over several turns says so and gives each part's
    utterance, as the turns may be far apart."""
    evidence, turns = e.get("evidence") or {}, e.get("turns")
    said_in = e.get("evidence_turns") or {}
    parts = []
    for k in ("other", "wish", "response_of_other", "response_of_self"):
        if e.get(k):
            said = evidence.get(k)
            where = f", utterance {said_in[k]}" if turns and k in said_in else ""
            parts.append(f"{k.replace('_', ' ')}: **{e[k]}**" + (f" (“{said}”{where})" if said else ""))
    when = " — told as past" if e.get("past") else ""
    if not turns:
        return [f"- utterance {e['utterance']}{when}: {'; '.join(parts)}", f"  > {e['quote']}"]
    passage = " / ".join(f"{q['utterance']}: {q['quote']}" for q in e.get("quotes", []))
    return [
        f"- told over utterances {turns[0]}-{turns[-1]} (joined across turns){when}: {'; '.join(parts)}",
        f"  > {passage}",
    ]


def _render_emotions(emotions: dict[str, Any]) -> str:
    if not emotions["available"]:
        return f"The emotion model did not run: {emotions['problem']}"
    if not emotions["utterances"]:
        return "No emotion found by the model in the client's utterances."
    feelings = ", ".join(f"{s['label']} ×{s['utterances']}" for s in emotions["summary"]) or "none"
    out = [f"Most frequent feelings (client utterances): {feelings}."]
    if emotions["stances"]:
        stances = ", ".join(f"{s['label']} ×{s['utterances']}" for s in emotions["stances"])
        out.append(f"Stances and states of knowing (mostly “yeah”, “no”, “I don't know”): {stances}.")
    out.append("")
    for entry in emotions["utterances"]:
        by_quote: dict[str, list[str]] = defaultdict(list)
        for e in entry["emotions"]:
            if e["label"] not in STANCE_LABELS:
                bar = "" if e["threshold"] is None else f" (threshold {e['threshold']:.2f})"
                by_quote[e["quote"]].append(f"{e['label']} {e['score']:.2f}{bar}")
        out += [f"- utterance {entry['utterance']}: {', '.join(ls)} — “{q}”" for q, ls in by_quote.items()]
    out += ["", f"_{emotions['note']}_"]
    return "\n".join(out)

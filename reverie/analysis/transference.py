"""``TransferenceAnnotator``: how the client relates to reverie itself.

In psychodynamic work the relationship with the therapist is itself material: a client may
idealize, devalue, fear the therapist's judgment or come to depend on the sessions. Here the
therapist is reverie, so this layer notices when the client speaks to or about it. Labels are
``layers.TRANSFERENCE_LABELS``:

- ``about_therapist``: the client speaks of or to reverie ("you don't understand", "this
  program", "talking to you"); every other label implies it.
- ``idealizing``, ``devaluing``, ``fear_of_judgment``, ``dependency``: phrases of the
  ``transference`` lexicon, score 0.7 (hypotheses for the clinician, never verdicts);
- an evaluation ("amazing", "rubbish", "isn't helping") counts as ``idealizing`` or
  ``devaluing`` only in a sentence that already speaks to or of reverie ("This app is
  amazing", "Your questions are so generic"), score 0.6.

Only client utterances are read: in a therapist's turn "you" is the client. ``TherapistAddress``
is shared with the figures layer, which names reverie as the figure "therapist".
"""

from __future__ import annotations

from collections.abc import Sequence

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.lexicon import (
    Lexicon,
    PhraseMatch,
    Scan,
    load_lexicon,
    longest_only,
    merged,
    scan_of,
    sentence_of,
    without_blocked,
)
from reverie.domain import Annotation, Span, Speaker

_GUARDS = ("_generic", "_quote")


def voided_by_guards(matches: Sequence[PhraseMatch], scan: Scan) -> list[PhraseMatch]:
    """Cues that survive the guards found before them in their sentence.

    A generic "you" ("when you're a kid, you don't understand") voids the cues after it, and
    those it contains ("you never know", "it gets to you"), unless the sentence is a question;
    a verb of reported speech ("my mom said you're useless") always voids them.
    """
    guards = [m for m in matches if m.label in _GUARDS]
    if not guards:
        return list(matches)
    sentences, text = scan.sentences, scan.text
    kept = []
    for cue in matches:
        if cue.label in _GUARDS:
            continue
        start, end = sentences[sentence_of(sentences, cue.start)] if sentences else (0, len(text))
        question = text[start:end].rstrip().endswith("?")
        voided = any(
            start <= g.start
            and (g.end <= cue.start or (g.start <= cue.start and cue.end <= g.end))
            and (g.label == "_quote" or not question)
            for g in guards
        )
        if not voided:
            kept.append(cue)
    return kept


class TherapistAddress:
    """Finds where a client speaks to or about reverie (``therapist_address`` lexicon)."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lex = lexicon or load_lexicon("therapist_address")
        self._matcher = lex.matcher(lex.phrases("phrases"))

    def cues_and_guards(self, scan: Scan) -> tuple[list[PhraseMatch], list[PhraseMatch]]:
        """The address cues (blockers removed, guards not yet applied) and the guards."""
        key = (self, "cues_and_guards")
        if key not in scan.memo:  # figures, transference and acts all ask
            found = self._matcher.find(scan)
            guards = [m for m in found if m.label in _GUARDS]
            cues = merged(without_blocked([m for m in found if m.label not in _GUARDS]))
            scan.memo[key] = (cues, guards)
        cues, guards = scan.memo[key]
        return list(cues), list(guards)

    def find(self, scan: Scan) -> list[PhraseMatch]:
        """The address cues that no guard voids."""
        cues, guards = self.cues_and_guards(scan)
        return voided_by_guards(cues + guards, scan) if cues else []


class TransferenceAnnotator:
    """How the client relates to reverie, on ``transference.v1``. Detail: ``{"cue"}``."""

    name = "transference"
    requires: tuple[str, ...] = (layers.TOKENS,)
    assigns: tuple[str, ...] = (layers.TRANSFERENCE,)

    def __init__(self, lexicon: Lexicon | None = None, address: TherapistAddress | None = None) -> None:
        lex = lexicon or load_lexicon("transference")
        table = lex.phrases("phrases")
        unknown = sorted(set(table) - set(layers.TRANSFERENCE_LABELS))
        if unknown:
            raise lex.error(f"has labels {unknown} outside layers.TRANSFERENCE_LABELS")
        self._matcher = lex.matcher(table)
        evaluations = lex.phrases("evaluations")
        if not set(evaluations) <= {"idealizing", "devaluing"}:
            raise lex.error("has evaluations other than idealizing and devaluing")
        self._evaluations = lex.matcher(evaluations)
        self._address = address or TherapistAddress()

    def annotate(self, doc: Doc) -> None:
        if doc.speaker is not Speaker.CLIENT or not doc.tokens:
            return
        text = doc.text
        scan = scan_of(text, doc.tokens)
        cues, guards = self._address.cues_and_guards(scan)
        stances = longest_only(self._matcher.find(scan))
        if not cues and not stances:
            return
        # one set of guards for both: "my dad said you're useless" is neither address nor stance
        kept = voided_by_guards(cues + stances + guards, scan)
        address = [m for m in kept if m.label not in layers.TRANSFERENCE_LABELS]
        for m in address:
            doc.add(_annotation("about_therapist", 0.8, text, m))
        for m in kept:
            if m.label not in layers.TRANSFERENCE_LABELS:
                continue
            doc.add(_annotation(m.label, 0.7, text, m))
            if not any(a.start < m.end and m.start < a.end for a in address):
                doc.add(_annotation("about_therapist", 0.7, text, m))
        if kept:
            self._evaluate(doc, scan, kept)

    def _evaluate(self, doc: Doc, scan: Scan, kept: Sequence[PhraseMatch]) -> None:
        """Evaluations in the sentences that speak of reverie, where no stance was found yet."""
        sentences = scan.sentences or [(0, len(doc.text))]
        spoken = {sentence_of(sentences, m.start) for m in kept}
        stanced = {(sentence_of(sentences, m.start), m.label) for m in kept}
        for m in longest_only(self._evaluations.find(scan)):
            where = sentence_of(sentences, m.start)
            if where in spoken and (where, m.label) not in stanced:
                doc.add(_annotation(m.label, 0.6, doc.text, m))


def _annotation(label: str, score: float, text: str, m: PhraseMatch) -> Annotation:
    return Annotation(layers.TRANSFERENCE, label, score, Span(m.start, m.end), {"cue": text[m.start : m.end]})


# Demo: python -m reverie.analysis.transference "You're the only one who understands me"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["transference"], [layers.TRANSFERENCE])

"""Names of the annotation layers and their labels: the vocabulary annotators share.

A layer name carries its version (``risk.v1``); bump it when the meaning of its labels
changes, so stored annotations of an older version are never read as the new one.
"""

from __future__ import annotations

TOKENS = "tokens.v1"  # not stored: the tokenizer's output, required by most annotators
RISK = "risk.v1"  # the crisis gate's findings (see reverie.analysis.risk)
AFFECT = "affect.v1"  # emotions from the lexicon (clinical labels), score = intensity
EMOTION = "emotion.v1"  # GoEmotions emotions from the trained model, score = its probability
TEMPORAL = "temporal.v1"  # childhood / past / present / future orientation
FIGURES = "figures.v1"  # people in the client's life (mother, partner, boss, the therapist...)
PLACES = "places.v1"  # places named (home, school, work, a town)
EPISODES = "episodes.v1"  # relationship episodes: other, wish, response of other, of self
DEFENSES = "defenses.v1"  # cues of defense mechanisms (hypotheses)
TRANSFERENCE = "transference.v1"  # how the client relates to reverie itself
ACTS = "acts.v1"  # what the client is doing with words: asking advice, asking if human...
DREAMS = "dreams.v1"  # a dream report and its elements

# Labels of the risk layer, after the Columbia scale, plus harm to others and masked requests.
RISK_LABELS = (
    "wish_to_be_dead",
    "ideation",
    "method",
    "intent",
    "plan",
    "behaviour",
    "self_harm",
    "harm_to_others",
    "masked_method_request",
)

# Labels of the acts layer.
ACT_LABELS = (
    "advice_request",  # "what should I do?"
    "ai_question",  # "are you a real person?"
    "memory_probe",  # "do you remember what I said about X?"  detail: {"topic": str}
    "wants_to_end_therapy",  # "I think I want to stop coming"
    "retraction",  # "never mind", "forget I said that", "I was joking"
    "assent",  # "yes", "that's fine", "ok"
    "dissent",  # "no", "I'd rather not"
    "greeting",
    "thanks",
    "question_to_therapist",
)

TRANSFERENCE_LABELS = ("about_therapist", "idealizing", "devaluing", "fear_of_judgment", "dependency")

DEFENSE_LABELS = (
    "denial",
    "minimization",
    "intellectualization",
    "rationalization",
    "projection",
    "displacement",
    "splitting",
    "reaction_formation",
    "isolation_of_affect",
    "humour",
    "suppression",
    "sublimation",
)

TEMPORAL_LABELS = ("childhood", "past", "present", "future")

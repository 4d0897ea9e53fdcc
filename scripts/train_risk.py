"""Train the crisis gate's second layer (reverie/analysis/models/risk-v1.npz) and measure it.

    .venv/bin/python scripts/train_risk.py --report risk-report.json  # cross-validate, choose, train
    .venv/bin/python scripts/train_risk.py --repeats 1 --out /tmp/risk.npz  # one draw: a quick comparison
    .venv/bin/python scripts/train_risk.py --no-cv --threshold 0.7       # just retrain (about 15 s)

Needs scikit-learn for training only (``pip install -e '.[train]'``, i.e. scikit-learn==1.9.1);
reverie itself scores with numpy. Data: the C-SSRS Reddit file (Gaur et al., WWW 2019, CC BY
4.0; one row per user, the user's label a weak label for each post), the hand-written
sentences of tests/data/risk_sentences.tsv, and GoEmotions' Reddit comments (Apache-2.0) that
the rules leave alone, as examples of ordinary talk. tests/data/risk_heldout.tsv and GoEmotions'
dev comments are never trained on. The data are read from ../shared/data beside the repository.

Cross-validation splits the *users* into folds (and the hand-written sentences alongside), so
every figure labelled "cv" comes from users and sentences the fold's model never saw; it is
repeated over --repeats draws of the folds and the figures are their means. The threshold is
chosen recall first: the highest at which every draw catches --target-recall of the at-risk
users with --spare users to spare, among those at which the trained layer alone raises false
alarms on at most --max-false-alarms of the held-out hand-written negatives. The shipped model
is then trained on everything; its sha256 must be recorded in reverie/analysis/risk_model.py.
Client talk of AnnoMI counselling sessions (--therapy-talk; never trained on, its licence does
not allow shipping derived weights) is measured at every threshold when the file is there.

The same data give the same bytes: liblinear runs on one BLAS thread (the number of cores does
not change the last bits), and the shipped file was written with OpenBLAS's "Haswell" kernel
(x86-64 with AVX2; ``python -m threadpoolctl -i numpy scipy`` shows it, OPENBLAS_CORETYPE=Haswell
forces it): another kernel can differ in the last bit of a few weights, and so in the sha256.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from reverie.analysis.risk import RiskScreen
from reverie.analysis.risk_eval import AT_RISK_LABELS, CssrsUser, evaluate_cssrs, read_cssrs, user_metrics
from reverie.analysis.risk_model import RiskModel, features
from reverie.bench import synthetic_client_sentence

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cssrs_reddit" / "cssrs_dev.csv"
BACKGROUND = ROOT.parent / "shared" / "data" / "goemotions" / "original"
THERAPY_TALK = ROOT.parent / "shared" / "data" / "annomi" / "annomi_dev.csv"
BITS = 18  # 262,144 hashed buckets: 1 MB of float32, a few collisions among ~100k n-grams
THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
_PLACEHOLDER = re.compile(r"\[[A-Z]*\]")
SHOWN = ("hyperbole", "grief", "sadness", "supportive", "ordinary")  # false alarms printed by kind


@dataclass(frozen=True)
class Recipe:
    """How the shipped weights were trained (the defaults); the options exist to compare."""

    C: float = 1.0  # inverse L2 strength
    hand_weight: float = 50.0  # one hand-written sentence counts as 50 weakly labelled posts
    indicator_weight: float = 2.0  # Indicator users: the contrast between distress and suicidality
    background_weight: float = 1.0  # one ordinary Reddit comment (GoEmotions), a negative
    min_features: int = 6  # a message of one or two words is scored as if it had six features


@dataclass(frozen=True)
class Sentence:
    text: str
    at_risk: bool
    kind: str


def read_sentences(path: Path) -> list[Sentence]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("text\t"):
            continue
        text, label, kind = [*line.split("\t"), ""][:3]
        if label not in ("at_risk", "not"):
            raise SystemExit(f"{path}: label {label!r} must be at_risk or not: {line!r}")
        out.append(Sentence(text, label == "at_risk", kind))
    return out


def read_background(path: Path) -> list[str]:
    """Ordinary Reddit comments (GoEmotions, Apache-2.0) that the rules do not flag: negatives
    that teach the layer what everyday talk sounds like."""
    rules = RiskScreen(model=None)
    # The data set masks names as "[NAME]": dropped, or the word "name" would learn to mean "safe".
    lines = path.read_text(encoding="utf-8").splitlines()
    texts = [_PLACEHOLDER.sub("", line.split("\t", 1)[0]) for line in lines]
    return [t for t in texts if not rules.screen(t).flagged]


def matrix(texts: Sequence[str], min_features: int) -> sp.csr_matrix:
    """Binary hashed n-grams, each row L2-normalised (as RiskModel scores a sentence, with the
    same floor of min_features)."""
    indices: list[int] = []
    indptr = [0]
    values: list[float] = []
    for text in texts:
        grams = features(text, BITS)
        indices += grams
        indptr.append(len(indices))
        values += [1.0 / np.sqrt(max(min_features, len(grams)))] * len(grams)
    return sp.csr_matrix(
        (np.asarray(values, np.float32), np.asarray(indices, np.int64), np.asarray(indptr, np.int64)),
        shape=(len(texts), 1 << BITS),
    )


def fit(
    recipe: Recipe,
    users: Sequence[CssrsUser],
    hand: Sequence[Sentence],
    background: Sequence[str],
    threshold: float,
) -> RiskModel:
    texts: list[str] = []
    labels: list[bool] = []
    weights: list[float] = []
    for user in users:
        for post in user.posts:
            texts.append(post)
            labels.append(user.label in AT_RISK_LABELS)
            weights.append(recipe.indicator_weight if user.label == "Indicator" else 1.0)
    for s in hand:
        texts.append(s.text)
        labels.append(s.at_risk)
        weights.append(recipe.hand_weight)
    texts += background
    labels += [False] * len(background)
    weights += [recipe.background_weight] * len(background)
    classifier = LogisticRegression(C=recipe.C, solver="liblinear", class_weight="balanced", random_state=0)
    # liblinear's dot products run in OpenBLAS, which splits long vectors across threads: the
    # last bits of the weights would depend on the number of cores. One thread, the same bytes.
    with threadpool_limits(limits=1, user_api="blas"):
        classifier.fit(
            matrix(texts, recipe.min_features), np.asarray(labels), sample_weight=np.asarray(weights)
        )
    coef = classifier.coef_[0].astype(np.float32)
    return RiskModel(coef, float(classifier.intercept_[0]), threshold, recipe.min_features)


KEYS = ("rules_only", *(str(t) for t in THRESHOLDS))
Verdicts = tuple[bool, ...]  # one per KEYS: the rules alone, then the gate at each threshold


class Gates:
    """The gate with one model at every threshold of THRESHOLDS, and the rules alone: the
    real RiskScreen each time, so the figures are the gate's own."""

    def __init__(self, model: RiskModel) -> None:
        self.rules = RiskScreen(model=None)
        self.model = model
        self.screens = [
            RiskScreen(model=RiskModel(model.weights, model.bias, t, model.min_features)) for t in THRESHOLDS
        ]

    def verdicts(self, text: str) -> Verdicts:
        if self.rules.screen(text).flagged:
            return (True,) * len(KEYS)
        top = self.model.probability(text)  # below a threshold, the gate there cannot flag
        pairs = zip(THRESHOLDS, self.screens, strict=True)
        return (False, *(top >= t and screen.screen(text).flagged for t, screen in pairs))


def sentence_rows(verdicts: Sequence[Verdicts], sentences: Sequence[Sentence]) -> dict[str, Any]:
    """For the rules alone and each threshold: recall and false alarms on hand-written
    sentences; ``model_false_alarms`` counts only those the rules did not raise."""
    table = {}
    kinds = sorted({s.kind for s in sentences if not s.at_risk})
    for j, key in enumerate(KEYS):
        positives = [v[j] for v, s in zip(verdicts, sentences, strict=True) if s.at_risk]
        negatives = [(v[j], v[0], s.kind) for v, s in zip(verdicts, sentences, strict=True) if not s.at_risk]
        table[key] = {
            "recall": _rate(positives),
            "false_alarms": _rate([f for f, _, _ in negatives]),
            "model_false_alarms": _rate([f and not rules for f, rules, _ in negatives]),
            "false_alarms_by_kind": {k: _rate([f for f, _, kind in negatives if kind == k]) for k in kinds},
            "n": [len(positives), len(negatives)],
        }
    return table


def _rate(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def user_rows(users: Sequence[CssrsUser], verdicts: Sequence[Sequence[Verdicts]]) -> dict[str, Any]:
    """User-level metrics (a user is flagged when any post flags) for each key of KEYS."""
    return {
        key: user_metrics(users, [any(v[j] for v in posts) for posts in verdicts])
        for j, key in enumerate(KEYS)
    }


def cross_validate(
    recipe: Recipe,
    users: Sequence[CssrsUser],
    hand: Sequence[Sentence],
    background: Sequence[str],
    folds: int,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Out-of-fold verdicts for every user's posts and every hand-written sentence, with the
    folds drawn by ``seed``."""
    user_folds = StratifiedKFold(folds, shuffle=True, random_state=seed).split(
        np.zeros(len(users)), [u.label for u in users]
    )
    hand_folds = StratifiedKFold(folds, shuffle=True, random_state=seed).split(
        np.zeros(len(hand)), [s.at_risk for s in hand]
    )
    user_verdicts: list[list[Verdicts]] = [[] for _ in users]
    hand_verdicts: list[Verdicts] = [()] * len(hand)
    for k, ((u_train, u_test), (h_train, h_test)) in enumerate(zip(user_folds, hand_folds, strict=True)):
        started = time.perf_counter()
        model = fit(
            recipe, [users[i] for i in u_train], [hand[i] for i in h_train], background, THRESHOLDS[0]
        )
        gates = Gates(model)
        for i in u_test:
            user_verdicts[i] = [gates.verdicts(post) for post in users[i].posts]
        for i in h_test:
            hand_verdicts[i] = gates.verdicts(hand[i].text)
        print(f"  fold {k + 1}/{folds}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return user_rows(users, user_verdicts), sentence_rows(hand_verdicts, hand)


def repeated_cv(
    recipe: Recipe,
    users: Sequence[CssrsUser],
    hand: Sequence[Sentence],
    background: Sequence[str],
    folds: int,
    repeats: int,
) -> dict[str, Any]:
    """Cross-validation repeated over ``repeats`` draws of the folds (seeds 0, 1, ...): each
    figure's mean over the draws, and each draw's own rows, so that a figure resting on one
    lucky draw shows."""
    draws = []
    for seed in range(repeats):
        print(f" draw {seed + 1}/{repeats} of the folds", file=sys.stderr)
        draws.append(cross_validate(recipe, users, hand, background, folds, seed))
    return {
        "seeds": list(range(repeats)),
        "users": _mean([u for u, _ in draws]),
        "sentences": _mean([h for _, h in draws]),
        "draws": [{"users": u, "sentences": h} for u, h in draws],
    }


def _mean(rows: Sequence[Any]) -> Any:
    """The mean of each float over ``rows`` (alike nested dicts); other values (counts, None)
    are the same in every draw and are kept."""
    first = rows[0]
    if isinstance(first, dict):
        return {key: _mean([row[key] for row in rows]) for key in first}
    if isinstance(first, float):
        return round(sum(rows) / len(rows), 4)
    return first


def caught(users_row: dict[str, Any]) -> int:
    """How many at-risk users a row of ``user_metrics`` flagged."""
    recall: float = users_row["recall_at_risk"]
    n: int = users_row["n_at_risk"]
    return round(recall * n)


def needed(n_at_risk: int, target: float) -> int:
    """The fewest at-risk users whose recall reaches ``target``."""
    return math.ceil(round(target * n_at_risk, 6))


def choose(cv: dict[str, Any], max_false_alarms: float, target: float, spare: int) -> tuple[float, bool]:
    """Recall first: the highest threshold at which every draw of the cross-validation finds
    ``target`` of the at-risk users with ``spare`` users to spare, among the thresholds whose
    trained-layer false alarms on held-out hand-written negatives (mean over the draws) stay
    within ``max_false_alarms``. When none does, the lowest threshold within that cap (the
    most recall it allows; the highest threshold if none is within it), and False."""
    within = [t for t in THRESHOLDS if cv["sentences"][str(t)]["model_false_alarms"] <= max_false_alarms]
    n = cv["users"][str(THRESHOLDS[0])]["n_at_risk"]
    good = [
        t for t in within if all(caught(d["users"][str(t)]) >= needed(n, target) + spare for d in cv["draws"])
    ]
    if good:
        return max(good), True
    return (min(within) if within else THRESHOLDS[-1]), False


def target_check(cv: dict[str, Any], threshold: float, target: float) -> dict[str, Any]:
    """The cross-validated recall of at-risk users at ``threshold`` against ``target``: in
    each draw, how many were caught and how many more could be missed before it falls short
    (``margin_users``; negative: how many more must be caught)."""
    key = str(threshold)
    n = cv["users"][key]["n_at_risk"]
    by_draw = [caught(d["users"][key]) for d in cv["draws"]]
    return {
        "target": target,
        "recall_mean": cv["users"][key]["recall_at_risk"],
        "needed": needed(n, target),
        "caught_by_draw": by_draw,
        "margin_users_by_draw": [c - needed(n, target) for c in by_draw],
        "met_in_every_draw": min(by_draw) >= needed(n, target),
    }


def print_table(
    title: str, users: dict[str, Any] | None, hand: dict[str, Any], draws: Sequence[dict[str, Any]] = ()
) -> None:
    print(f"\n{title}")
    print(
        "threshold   user recall  supportive FA  indicator  precision | sentence recall  FA (model)  "
        f"({' '.join(SHOWN)})" + ("  | user recall by draw" if draws else "")
    )
    for key, row in hand.items():
        u = users[key] if users else None
        left = (
            f"{u['recall_at_risk']:>11.3f}  {u['false_alarm_supportive']:>13.3f}  {u['flagged_indicator']:>9.3f}"
            f"  {u['precision']:>9.3f}"
            if u
            else " " * 47
        )
        kinds = row["false_alarms_by_kind"]
        picked = " ".join(f"{kinds.get(k, 0.0):.2f}" for k in SHOWN)
        by_draw = " ".join(f"{d['users'][key]['recall_at_risk']:.3f}" for d in draws)
        print(
            f"{key:<10}{left} | {row['recall']:>15.3f}  {row['false_alarms']:.3f} ({row['model_false_alarms']:.3f})"
            f"  ({picked})" + (f"  | {by_draw}" if draws else "")
        )


def ordinary_talk(model: RiskModel, background_dev: Sequence[str]) -> dict[str, Any]:
    """How often ordinary talk flags: held-out Reddit comments (GoEmotions dev, one message
    each) and 2,000-character messages of reverie's synthetic client sentences (bench)."""
    rng = random.Random(11)
    long = [" ".join(synthetic_client_sentence(rng) for _ in range(25))[:2000] for _ in range(200)]
    short = [synthetic_client_sentence(rng) for _ in range(1000)]
    out: dict[str, Any] = {}
    for name, screen in (("rules_only", RiskScreen(model=None)), ("gate", RiskScreen(model=model))):
        out[name] = {
            "reddit_comments": _rate([screen.screen(t).flagged for t in background_dev]),
            "synthetic_sentences": _rate([screen.screen(t).flagged for t in short]),
            "synthetic_2000_chars": _rate([screen.screen(t).flagged for t in long]),
        }
    out["n"] = {
        "reddit_comments": len(background_dev),
        "synthetic_sentences": len(short),
        "synthetic_2000_chars": len(long),
    }
    return out


def talk_rows(
    gates: Gates, reddit_comments: Sequence[str], therapy_talk: Path
) -> dict[str, dict[str, float]]:
    """For the rules alone and each threshold: the share of held-out Reddit comments and (when
    the file is there) of AnnoMI client utterances that the gate flags."""
    sets = {"reddit_comments": list(reddit_comments)}
    if therapy_talk.exists():
        with therapy_talk.open(encoding="utf-8", newline="") as handle:
            sets["annomi_client"] = [
                row["utterance_text"]
                for row in csv.DictReader(handle)
                if row.get("interlocutor") == "client" and row.get("utterance_text")
            ]
    verdicts = {name: [gates.verdicts(text) for text in texts] for name, texts in sets.items()}
    return {
        key: {name: _rate([v[j] for v in found]) for name, found in verdicts.items()}
        for j, key in enumerate(KEYS)
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sentences", type=Path, default=ROOT / "tests" / "data" / "risk_sentences.tsv")
    parser.add_argument("--heldout", type=Path, default=ROOT / "tests" / "data" / "risk_heldout.tsv")
    parser.add_argument(
        "--background",
        type=Path,
        default=BACKGROUND,
        help="folder with GoEmotions train.tsv (trained on) and dev.tsv (measured)",
    )
    parser.add_argument(
        "--therapy-talk",
        type=Path,
        default=THERAPY_TALK,
        help="AnnoMI-format CSV whose client utterances are measured (never trained on)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reverie" / "analysis" / "models" / "risk-v1.npz")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--repeats", type=int, default=5, help="draws of the folds, each a whole cross-validation"
    )
    parser.add_argument("--no-cv", action="store_true", help="skip cross-validation (needs --threshold)")
    parser.add_argument("--threshold", type=float, help="use this threshold instead of choosing one")
    parser.add_argument(
        "--target-recall",
        type=float,
        default=0.95,
        help="cross-validated recall of at-risk users to reach in every draw",
    )
    parser.add_argument(
        "--spare", type=int, default=2, help="at-risk users to spare beyond --target-recall in every draw"
    )
    parser.add_argument(
        "--max-false-alarms",
        type=float,
        default=0.05,
        help="cap on the trained layer's false alarms on held-out hand-written negatives",
    )
    parser.add_argument("--report", type=Path, help="write every figure as JSON here")
    defaults = Recipe()
    for name in ("C", "hand_weight", "indicator_weight", "background_weight"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    parser.add_argument("--min-features", type=int, default=defaults.min_features)
    args = parser.parse_args(argv)
    if args.no_cv and args.threshold is None:
        parser.error("--no-cv needs --threshold")
    recipe = Recipe(
        args.C, args.hand_weight, args.indicator_weight, args.background_weight, args.min_features
    )

    users, hand, heldout = read_cssrs(args.data), read_sentences(args.sentences), read_sentences(args.heldout)
    background = read_background(args.background / "train.tsv") if recipe.background_weight > 0 else []
    background_dev = read_background(args.background / "dev.tsv")
    report: dict[str, Any] = {
        "data": {
            "users": len(users),
            "posts": sum(len(u.posts) for u in users),
            "hand_sentences": len(hand),
            "heldout_sentences": len(heldout),
            "background_comments": len(background),
        },
        "recipe": {"bits": BITS, **asdict(recipe)},
    }
    threshold = args.threshold
    if not args.no_cv:
        print(
            f"cross-validating: {args.repeats} draws of {args.folds} folds of users and sentences...",
            file=sys.stderr,
        )
        cv = repeated_cv(recipe, users, hand, background, args.folds, args.repeats)
        report["cv"] = cv
        print_table(
            f"CROSS-VALIDATED (users and sentences the fold's model never saw; mean of {args.repeats} "
            "draws of the folds)",
            cv["users"],
            cv["sentences"],
            cv["draws"],
        )
        if threshold is None:
            threshold, met = choose(cv, args.max_false_alarms, args.target_recall, args.spare)
            if not met:
                print(
                    f"\nNO threshold within the false-alarm cap {args.max_false_alarms} reaches recall "
                    f"{args.target_recall} with {args.spare} users to spare in every draw: took {threshold}"
                )
        check = cv["target"] = target_check(cv, threshold, args.target_recall)
        print(
            f"\nthreshold {threshold}: at-risk users caught in each draw {check['caught_by_draw']} "
            f"(mean recall {check['recall_mean']:.3f}); target {args.target_recall} needs {check['needed']}: "
            f"{'met' if check['met_in_every_draw'] else 'NOT MET'} in every draw, "
            f"margins {check['margin_users_by_draw']} users"
        )
    assert threshold is not None
    report["threshold"] = threshold

    model = fit(recipe, users, hand, background, threshold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    digest = model.save(args.out)
    report["weights"] = {"path": str(args.out), "sha256": digest, "bytes": args.out.stat().st_size}

    gates = Gates(model)
    report["heldout"] = sentence_rows([gates.verdicts(s.text) for s in heldout], heldout)
    print_table("HELD-OUT SENTENCES (never trained on; final model)", None, report["heldout"])
    report["ordinary_talk"] = ordinary_talk(model, background_dev)
    print("\nORDINARY TALK flagged (final model; never trained on):", json.dumps(report["ordinary_talk"]))
    report["ordinary_talk_by_threshold"] = talk_rows(gates, background_dev, args.therapy_talk)
    print("ORDINARY TALK flagged at each threshold (final model):")
    for key, row in report["ordinary_talk_by_threshold"].items():
        print(f"  {key:<10} " + "  ".join(f"{name} {rate:.4f}" for name, rate in row.items()))
    report["in_sample"] = evaluate_cssrs(args.data, RiskScreen(model=model))
    print(f"\nIN-SAMPLE (users the shipped model was trained on), threshold {threshold}:")
    print(json.dumps({k: v for k, v in report["in_sample"].items() if k not in ("rules_only", "n_by_label")}))
    print(f"\nthreshold {threshold}; wrote {args.out} ({report['weights']['bytes']} bytes), sha256 {digest}")
    print("record it: SHIPPED_SHA256 in reverie/analysis/risk_model.py")
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

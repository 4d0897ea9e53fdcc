"""How well the crisis gate finds Reddit users at risk, on the C-SSRS Reddit data.

The data (Gaur et al., WWW 2019, CC BY 4.0, doi:10.5281/zenodo.2667859) label each *user* on
the Columbia scale: ``Supportive``, ``Indicator``, ``Ideation``, ``Behavior``, ``Attempt``. The
gate screens single messages, so a user counts as flagged when any of their posts flags.
Users labelled Ideation, Behavior or Attempt are at risk; a flagged Supportive user is a false
alarm; Indicator (risk factors without ideation) is borderline and reported on its own.

``evaluate_cssrs(path)`` gives JSON-able metrics for a gate (the shipped one by default) next
to the same metrics for the rules alone. ``reverie eval risk FILE`` prints them.
"""

from __future__ import annotations

import ast
import csv
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reverie.analysis.risk import RiskScreen
from reverie.errors import InputError

__all__ = [
    "AT_RISK_LABELS",
    "CSSRS_LABELS",
    "CssrsUser",
    "evaluate_cssrs",
    "evaluate_therapy_talk",
    "evaluate_users",
    "read_cssrs",
    "user_metrics",
]

CSSRS_LABELS = ("Supportive", "Indicator", "Ideation", "Behavior", "Attempt")
AT_RISK_LABELS = frozenset({"Ideation", "Behavior", "Attempt"})

# Posts are a Python list literal; some cells were cut at a spreadsheet's 32,759-character
# limit mid-post. Their complete posts are kept: cut after the last "', '" that parses.
_POST_SEPARATOR = re.compile(r"""['"], ['"]""")


@dataclass(frozen=True, slots=True)
class CssrsUser:
    """One labelled user with their posts; ``truncated`` when the file cut their last post."""

    user: str
    label: str
    posts: tuple[str, ...]
    truncated: bool = False


def _posts(cell: str) -> tuple[tuple[str, ...], bool]:
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        for m in reversed(list(_POST_SEPARATOR.finditer(cell))):
            try:
                value = ast.literal_eval(cell[: m.start() + 1] + "]")
            except (ValueError, SyntaxError):
                continue
            return _strings(value), True
        return (), True
    return _strings(value), False


def _strings(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(str(item) for item in items)


def read_cssrs(path: Path) -> list[CssrsUser]:
    """The users of a C-SSRS Reddit CSV (columns ``User``, ``Post``, ``Label``).

    Raises ``InputError`` when the file cannot be read, lacks a column or has another label."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"Cannot read {path} ({error}): give the C-SSRS Reddit CSV file.") from error
    users = []
    for line, row in enumerate(rows, start=2):
        if any(row.get(column) is None for column in ("User", "Post", "Label")):
            raise InputError(f"{path} line {line}: the columns User, Post and Label are needed.")
        if row["Label"] not in CSSRS_LABELS:
            raise InputError(
                f"{path} line {line}: label {row['Label']!r} is none of {', '.join(CSSRS_LABELS)}."
            )
        posts, truncated = _posts(row["Post"])
        users.append(CssrsUser(row["User"], row["Label"], posts, truncated))
    return users


def user_metrics(users: Sequence[CssrsUser], flagged: Sequence[bool]) -> dict[str, Any]:
    """Recall of at-risk users, precision, and the flagged rate of each label, for ``flagged``
    (one verdict per user, in order). Rates of labels with no users are ``None``."""
    counts = {label: [0, 0] for label in CSSRS_LABELS}
    for user, flag in zip(users, flagged, strict=True):
        counts[user.label][0] += int(flag)
        counts[user.label][1] += 1
    at_risk = sum(counts[label][1] for label in AT_RISK_LABELS)
    found = sum(counts[label][0] for label in AT_RISK_LABELS)
    raised = sum(int(f) for f in flagged)
    rate = {label: _ratio(hit, n) for label, (hit, n) in counts.items()}
    return {
        "n_users": len(users),
        "n_at_risk": at_risk,
        "recall_at_risk": _ratio(found, at_risk),
        "precision": _ratio(found, raised),
        "false_alarm_supportive": rate["Supportive"],
        "flagged_indicator": rate["Indicator"],
        "flagged_rate": rate,
        "n_by_label": {label: n for label, (_, n) in counts.items()},
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def evaluate_users(users: Sequence[CssrsUser], screen: RiskScreen) -> dict[str, Any]:
    """``user_metrics`` for ``screen`` (a user is flagged when any post flags), with the
    seconds the screening took."""
    started = time.perf_counter()
    flagged = [any(screen.screen(post).flagged for post in user.posts) for user in users]
    seconds = time.perf_counter() - started
    return {**user_metrics(users, flagged), "seconds": round(seconds, 3)}


def evaluate_cssrs(path: Path, screen: RiskScreen | None = None) -> dict[str, Any]:
    """Metrics of ``screen`` (default: the shipped gate, rules and trained layer) on the
    C-SSRS Reddit file at ``path``, and of the rules alone under ``rules_only``.

    Figures on the file the shipped model was trained on are in-sample; the cross-validated
    ones are in ``docs/models/risk.md``."""
    users = read_cssrs(path)
    gate = screen if screen is not None else RiskScreen()
    result = {
        "file": str(path),
        "n_posts": sum(len(u.posts) for u in users),
        "truncated_users": sum(u.truncated for u in users),
        **evaluate_users(users, gate),
    }
    result["rules_only"] = evaluate_users(users, RiskScreen(model=None))
    return result


def evaluate_therapy_talk(path: Path, screen: RiskScreen | None = None) -> dict[str, Any]:
    """How often the gate flags ordinary counselling talk: the client utterances of an
    AnnoMI-format CSV (motivational interviewing about drinking, smoking, diet...), which
    are taken as not at risk. A flag there costs a check-in question in a real session.

    Returns the rate for the gate and for the rules alone, with the first flagged texts."""
    gate = screen if screen is not None else RiskScreen()
    rules = RiskScreen(model=None)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            texts = [
                row["utterance_text"]
                for row in csv.DictReader(handle)
                if row.get("interlocutor") == "client" and row.get("utterance_text")
            ]
    except (OSError, UnicodeDecodeError, KeyError, csv.Error) as exc:
        raise InputError(f"{path}: not an AnnoMI-format CSV ({exc}).") from exc
    if not texts:
        raise InputError(f"{path}: no client utterances (columns interlocutor, utterance_text).")
    flagged = [text for text in texts if gate.screen(text).flagged]
    by_rules = sum(rules.screen(text).flagged for text in texts)
    return {
        "file": str(path),
        "n_client_utterances": len(texts),
        "flagged_rate": round(len(flagged) / len(texts), 4),
        "flagged_rate_rules_only": round(by_rules / len(texts), 4),
        "examples": [text[:160] for text in flagged[:10]],
    }

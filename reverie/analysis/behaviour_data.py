"""Reading AnnoMI-format files for the behaviour coder.

AnnoMI (Wu et al. 2022, 2023) codes each utterance of demonstration motivational-interviewing
sessions: therapist turns by their main behaviour, client turns by their talk type. Only the
columns in ``COLUMNS`` are read; a row whose code is not in the vocabulary is refused, naming
its line.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reverie.domain import Speaker
from reverie.errors import InputError, TranscriptFormatError

THERAPIST_LABELS = ("question", "reflection", "therapist_input", "other")
CLIENT_LABELS = ("change", "neutral", "sustain")
LABELS: Mapping[Speaker, tuple[str, ...]] = {
    Speaker.THERAPIST: THERAPIST_LABELS,
    Speaker.CLIENT: CLIENT_LABELS,
}
LABEL_COLUMNS: Mapping[Speaker, str] = {
    Speaker.THERAPIST: "main_therapist_behaviour",
    Speaker.CLIENT: "client_talk_type",
}
COLUMNS = ("transcript_id", "utterance_id", "interlocutor", "utterance_text", *LABEL_COLUMNS.values())


@dataclass(frozen=True, slots=True)
class CodedConversation:
    """One transcript of an AnnoMI-format file, in spoken order, with the gold codes."""

    transcript_id: str
    turns: tuple[tuple[Speaker, str], ...]
    codes: tuple[str, ...]


def read_annomi(path: Path) -> list[CodedConversation]:
    """Read an AnnoMI-format CSV; raise ``InputError`` naming the line of anything unusable."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise TranscriptFormatError(
                    f"{path} lacks the AnnoMI columns {', '.join(missing)}; give AnnoMI-simple.csv "
                    "or a file with the same columns."
                )
            rows = [(reader.line_num, row) for row in reader]
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}. Check the path.") from exc
    except UnicodeDecodeError as exc:
        raise TranscriptFormatError(f"{path} is not valid UTF-8; save it as UTF-8.") from exc
    grouped: dict[str, list[tuple[int, Speaker, str, str]]] = {}
    for line, row in rows:
        who = row["interlocutor"].strip().lower()
        if who not in ("therapist", "client"):
            raise TranscriptFormatError(f"{path}, line {line}: interlocutor must be therapist or client.")
        speaker = Speaker(who)
        code = row[LABEL_COLUMNS[speaker]].strip()
        if code not in LABELS[speaker]:
            raise TranscriptFormatError(
                f"{path}, line {line}: {LABEL_COLUMNS[speaker]} {code!r} is not one of "
                f"{', '.join(LABELS[speaker])}; fix or remove the row."
            )
        try:
            order = int(row["utterance_id"])
        except ValueError as exc:
            raise TranscriptFormatError(f"{path}, line {line}: utterance_id must be a number.") from exc
        grouped.setdefault(row["transcript_id"].strip(), []).append(
            (order, speaker, row["utterance_text"], code)
        )
    if not grouped:
        raise TranscriptFormatError(f"{path} has no utterances; give a labelled AnnoMI-format CSV.")
    return [
        CodedConversation(
            tid, tuple((s, t) for _, s, t, _ in sorted(items)), tuple(c for *_, c in sorted(items))
        )
        for tid, items in grouped.items()
    ]


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

"""Reading transcripts of sessions: plain text with ``T:``/``C:`` prefixes, CSV, JSONL or WebVTT.

Every format yields ``(Speaker, text)`` pairs in spoken order. A file that cannot be read raises
``TranscriptFormatError`` naming the line, and nothing is returned for a partly read file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from reverie.domain import Speaker
from reverie.errors import EmptyInputError, InputTooLargeError, TranscriptFormatError

MAX_BYTES = 50 * 1024 * 1024
_PREFIX = re.compile(r"^\s*(T|C|THERAPIST|CLIENT|COUNSELLOR|COUNSELOR|PATIENT|ANALYST)\s*[:>]\s*(.*)$", re.I)
_SPEAKERS = {
    "t": Speaker.THERAPIST,
    "therapist": Speaker.THERAPIST,
    "counsellor": Speaker.THERAPIST,
    "counselor": Speaker.THERAPIST,
    "analyst": Speaker.THERAPIST,
    "interviewer": Speaker.THERAPIST,
    "c": Speaker.CLIENT,
    "client": Speaker.CLIENT,
    "patient": Speaker.CLIENT,
}
_SPEAKER_COLUMNS = ("speaker", "interlocutor", "role", "who")
_TEXT_COLUMNS = ("text", "utterance", "utterance_text", "content", "message")


def _speaker(value: str, where: str) -> Speaker:
    speaker = _SPEAKERS.get(value.strip().lower())
    if speaker is None:
        raise TranscriptFormatError(f"{where}: unknown speaker {value!r}; use T/therapist or C/client.")
    return speaker


def read_transcript(path: Path, *, transcript: str | None = None) -> list[tuple[Speaker, str]]:
    """Read a transcript file; the format is chosen by the suffix (.csv, .jsonl, else text).

    A CSV holding several transcripts (a ``transcript_id`` column, as in AnnoMI) needs
    ``transcript`` to choose one."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TranscriptFormatError(f"Cannot read {path}: {exc.strerror or exc}. Check the path.") from exc
    if len(raw) > MAX_BYTES:
        raise InputTooLargeError(f"{path} is {len(raw):,} bytes; split transcripts over {MAX_BYTES:,} bytes.")
    if b"\x00" in raw:
        raise TranscriptFormatError(
            f"{path} looks binary (it contains NUL bytes); give a text, CSV or JSONL file."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TranscriptFormatError(f"{path}, line {line}: not valid UTF-8; save the file as UTF-8.") from exc
    return parse_transcript(text, fmt=path.suffix.lower().lstrip("."), name=str(path), transcript=transcript)


def parse_transcript(
    text: str, *, fmt: str = "txt", name: str = "transcript", transcript: str | None = None
) -> list[tuple[Speaker, str]]:
    if not text.strip():
        raise EmptyInputError(f"{name} is empty; give a transcript with at least one utterance.")
    if transcript is not None and fmt != "csv":
        raise TranscriptFormatError(f"{name}: choosing a transcript needs a CSV with a transcript_id column.")
    if fmt == "vtt" or (fmt == "txt" and text.lstrip("\ufeff").startswith("WEBVTT")):
        turns = _parse_vtt(text, name)
    elif fmt == "csv":
        turns = _parse_csv(text, name, transcript)
    elif fmt in {"jsonl", "ndjson"}:
        turns = _parse_jsonl(text, name)
    else:
        turns = _parse_text(text, name)
    if not turns:
        raise EmptyInputError(f"{name} has no utterances.")
    return turns


def _parse_text(text: str, name: str) -> list[tuple[Speaker, str]]:
    turns: list[tuple[Speaker, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _PREFIX.match(line)
        if m:
            turns.append((_speaker(m.group(1), f"{name}, line {number}"), m.group(2).strip()))
        elif turns:  # a continuation line belongs to the previous speaker
            speaker, said = turns[-1]
            turns[-1] = (speaker, f"{said} {line.strip()}".strip())  # no leading space after an empty "T:"
        else:
            raise TranscriptFormatError(
                f"{name}, line {number}: no speaker prefix; start lines with 'T:' (therapist) or 'C:' (client)."
            )
    return [(s, t) for s, t in turns if t]


def _columns(header: list[str], name: str) -> tuple[str, str]:
    lowered = {h.strip().lower(): h for h in header}
    speaker = next((lowered[c] for c in _SPEAKER_COLUMNS if c in lowered), None)
    said = next((lowered[c] for c in _TEXT_COLUMNS if c in lowered), None)
    if speaker is None or said is None:
        raise TranscriptFormatError(
            f"{name}: needs a speaker column ({', '.join(_SPEAKER_COLUMNS)}) and a text column "
            f"({', '.join(_TEXT_COLUMNS)}); found {', '.join(header) or 'none'}."
        )
    return speaker, said


def _parse_csv(text: str, name: str, transcript: str | None) -> list[tuple[Speaker, str]]:
    try:
        # strict: an unclosed quote is an error, not one utterance swallowing the rest of the file
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        header = list(reader.fieldnames or [])
        speaker_col, text_col = _columns(header, name)
        id_col = next((h for h in header if h.strip().lower() == "transcript_id"), None)
        if transcript is not None and id_col is None:
            raise TranscriptFormatError(f"{name}: has no transcript_id column; leave out --transcript.")
        turns, ids = [], []
        for row in reader:
            where = f"{name}, line {reader.line_num}"
            if id_col is not None:
                row_id = (row.get(id_col) or "").strip()
                if row_id not in ids:
                    ids.append(row_id)
                if transcript is not None and row_id != transcript:
                    continue
            said = (row.get(text_col) or "").strip()
            if said:
                turns.append((_speaker(row.get(speaker_col) or "", where), said))
        if transcript is None and len(ids) > 1:
            raise TranscriptFormatError(
                f"{name} holds {len(ids)} transcripts; choose one with --transcript ID "
                f"(the first are {', '.join(ids[:5])})."
            )
        if transcript is not None and transcript not in ids:
            raise TranscriptFormatError(
                f"{name}: no transcript {transcript!r}; known ids begin {', '.join(ids[:5])}."
            )
        return turns
    except csv.Error as exc:
        raise TranscriptFormatError(f"{name}: malformed CSV ({exc}); check quoting.") from exc


def _parse_jsonl(text: str, name: str) -> list[tuple[Speaker, str]]:
    turns = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{name}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TranscriptFormatError(
                f"{where}: not JSON ({exc.msg}); each line must be one JSON object."
            ) from exc
        if not isinstance(row, dict):
            raise TranscriptFormatError(f"{where}: expected a JSON object with speaker and text.")
        speaker_col, text_col = _columns(list(row), where)
        said = row.get(text_col)
        if not isinstance(said, str):
            raise TranscriptFormatError(f"{where}: the text must be a string.")
        if said.strip():
            turns.append((_speaker(str(row.get(speaker_col)), where), said.strip()))
    return turns


_VOICE = re.compile(r"^<v(?:\.[\w.-]+)*\s+([^>]+)>(.*?)(?:</v>)?$", re.I)
_TAG = re.compile(r"</?[^>]+>")


def _parse_vtt(text: str, name: str) -> list[tuple[Speaker, str]]:
    """WebVTT (W3C): a ``WEBVTT`` header, then cues (an optional identifier, a ``-->`` timing line,
    payload lines) separated by blank lines; NOTE, STYLE and REGION blocks are skipped. The speaker
    is the cue's voice span (``<v Therapist>``) or a ``T:``/``C:`` prefix; a cue with neither
    continues the previous speaker."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or not lines[0].startswith("WEBVTT"):
        raise TranscriptFormatError(f"{name}, line 1: a WebVTT file starts with 'WEBVTT'.")
    turns: list[tuple[Speaker, str]] = []
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, line in enumerate(lines[1:], 2):
        if line.strip():
            blocks[-1].append((number, line.strip()))
        elif blocks[-1]:
            blocks.append([])
    for block in blocks:
        if not block or block[0][1].split()[0] in {"NOTE", "STYLE", "REGION"}:
            continue
        timing = next((i for i, (_, line) in enumerate(block) if "-->" in line), None)
        if timing is None:
            continue  # the header's own metadata lines
        for number, line in block[timing + 1 :]:
            where = f"{name}, line {number}"
            voice, prefix = _VOICE.match(line), _PREFIX.match(_TAG.sub("", line))
            if voice:
                speaker, said = _speaker(voice.group(1).split()[0], where), _TAG.sub("", voice.group(2))
            elif prefix:
                speaker, said = _speaker(prefix.group(1), where), prefix.group(2)
            elif turns:
                speaker, said = turns[-1][0], _TAG.sub("", line)
            else:
                raise TranscriptFormatError(
                    f"{where}: no speaker; use a voice span like '<v Therapist>' or a 'T:'/'C:' prefix."
                )
            said = said.strip()
            if not said:
                continue
            if turns and turns[-1][0] is speaker:
                turns[-1] = (speaker, f"{turns[-1][1]} {said}")
            else:
                turns.append((speaker, said))
    return turns

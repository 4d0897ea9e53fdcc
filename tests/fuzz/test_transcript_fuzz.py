"""Fuzzing the transcript reader (``reverie analyze``): any file gives turns or a clear ``InputError``.

Property tests feed the parser arbitrary bytes, text with mixed newlines and NUL bytes, and
CSV/JSONL with random columns and values; a few hand-made hostile files go through the real
``reverie analyze`` command, which must exit 1 with a one-line ``reverie: ...`` message and no
traceback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverie.analysis.transcript import MAX_BYTES, read_transcript
from reverie.cli import main
from reverie.domain import Speaker
from reverie.errors import InputError, InputTooLargeError, TranscriptFormatError

FORMATS = ["txt", "csv", "jsonl", "vtt"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _read(tmp_path: Path, data: bytes, fmt: str) -> list[tuple[Speaker, str]] | InputError:
    path = tmp_path / f"t.{fmt}"
    path.write_bytes(data)
    try:
        turns = read_transcript(path)
    except InputError as exc:
        assert str(exc).strip(), "an error must say something"
        return exc
    assert turns, "a transcript read without error has at least one turn"
    for speaker, said in turns:
        assert isinstance(speaker, Speaker)
        assert isinstance(said, str) and said.strip() == said and said
    return turns


@FUZZ
@given(data=st.binary(max_size=2000), fmt=st.sampled_from(FORMATS))
def test_arbitrary_bytes_give_turns_or_an_input_error(tmp_path: Path, data: bytes, fmt: str) -> None:
    outcome = _read(tmp_path, data, fmt)
    if b"\x00" in data:
        assert isinstance(outcome, TranscriptFormatError) and "NUL" in str(outcome)


_LINE = st.one_of(
    st.sampled_from(["T: hello", "C: I feel stuck", "CLIENT> yes", "t:", "  C :  so  ", "no prefix", ""]),
    st.text(max_size=40),
)
_NEWLINE = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x1c", "\u2028", "\x85"])


@FUZZ
@given(lines=st.lists(st.tuples(_LINE, _NEWLINE), max_size=20), fmt=st.sampled_from(FORMATS))
def test_text_with_mixed_newlines_gives_turns_or_an_input_error(
    tmp_path: Path, lines: list[tuple[str, str]], fmt: str
) -> None:
    text = "".join(line + newline for line, newline in lines)
    if not _has_surrogates(text):  # not encodable as UTF-8; invalid UTF-8 is the bytes test's
        _read(tmp_path, text.encode(), fmt)


def _has_surrogates(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


_CELL = st.one_of(st.sampled_from(["T", "C", "client", "therapist", "x", ""]), st.text(max_size=15))
_COLUMN = st.one_of(
    st.sampled_from(["speaker", "text", "interlocutor", "utterance_text", "transcript_id", "who", "content"]),
    st.text(max_size=8),
)


@FUZZ
@given(header=st.lists(_COLUMN, max_size=5), rows=st.lists(st.lists(_CELL, max_size=6), max_size=10))
def test_csv_with_random_columns_gives_turns_or_an_input_error(
    tmp_path: Path, header: list[str], rows: list[list[str]]
) -> None:
    if _has_surrogates("".join(header) + "".join("".join(r) for r in rows)):
        return
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    _read(tmp_path, out.getvalue().encode(), "csv")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _CELL,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_COLUMN, inner, max_size=4),
    max_leaves=8,
)


@FUZZ
@given(
    rows=st.lists(
        st.one_of(_JSON, st.dictionaries(_COLUMN, _JSON, max_size=4), st.text(max_size=20)), max_size=8
    )
)
def test_jsonl_with_random_values_gives_turns_or_an_input_error(tmp_path: Path, rows: list[object]) -> None:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    text = "\n".join(lines)
    if _has_surrogates(text):
        return
    _read(tmp_path, text.encode(), "jsonl")


def test_a_file_over_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no need to write 50 MB
    with pytest.raises(InputTooLargeError, match="split"):
        read_transcript(path)


def test_a_huge_single_line_within_the_limit_is_read(tmp_path: Path) -> None:
    said = "word " * 400_000  # 2 MB on one line
    outcome = _read(tmp_path, f"C: {said}\n".encode(), "txt")
    assert outcome == [(Speaker.CLIENT, said.strip())]


# -- the command ---------------------------------------------------------------------------

HOSTILE = [
    pytest.param("empty.txt", b"", id="empty"),
    pytest.param("blank.txt", b" \n\r\n\t\n", id="only-white-space"),
    pytest.param("binary.txt", bytes(range(256)) * 4, id="binary"),
    pytest.param("latin1.txt", "C: j'ai été là\n".encode("latin-1"), id="invalid-utf8"),
    pytest.param("bad.csv", b'speaker,text\nC,"unclosed\n', id="malformed-csv"),
    pytest.param("cols.csv", b"name,said\nC,hello\n", id="wrong-columns"),
    pytest.param("bad.jsonl", b'{"speaker": "C", "text": "ok"}\n{"speaker": \n', id="malformed-jsonl"),
    pytest.param("list.jsonl", b"[1, 2, 3]\n", id="jsonl-not-objects"),
    pytest.param("nul.txt", b"C: hello\x00there\n", id="nul-byte"),
    pytest.param("who.txt", b"X: who is this\n", id="no-speaker-prefix"),
]


@pytest.mark.parametrize(("name", "data"), HOSTILE)
def test_analyze_refuses_a_hostile_file_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes
) -> None:
    """In-process through ``main`` (what the console script runs): any other exception fails the test."""
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["analyze", str(path), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("reverie: ") and err.count("\n") == 1
    assert out == ""  # no partial report


def test_analyze_in_a_subprocess_exits_1_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b'speaker,text\nC,"unclosed\n')
    done = subprocess.run(
        [sys.executable, "-m", "reverie.cli", "analyze", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "REVERIE_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("reverie: ") and "malformed CSV" in done.stderr
    assert "Traceback" not in done.stderr

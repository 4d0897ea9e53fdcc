"""Fuzzing what a client types: every message gets a reply and is stored, or a clear error and is not.

A property test drives the real engine (SQLite, hashing embedder) with arbitrary text, control
characters and NUL included, counting the client's stored messages before and after each turn;
one scripted ``reverie session --json`` run sends invalid UTF-8, empty, huge and control-character
lines through standard input and checks each line's answer against what the database holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverie.domain import Speaker
from reverie.domain.access import ConsentKind
from reverie.errors import InputError
from reverie.settings import Settings
from reverie.storage import Keyring, open_store

LIMIT = 2_000


@pytest.fixture(scope="module")
def engine_and_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object, int]]:
    from reverie.runtime import Runtime

    folder = tmp_path_factory.mktemp("fuzz-session")
    config = Settings(
        data_dir=folder,
        db=str(folder / "r.db"),
        embedder="hashing",
        clinician="Dr. K",
        max_message_chars=LIMIT,
    )
    runtime = Runtime.open(config)
    case = runtime.store.create_case("fuzz", clinician="Dr. K")
    runtime.store.record_consent(case.id, ConsentKind.AI_SESSIONS, True, actor="test")
    engine = runtime.engine()
    engine.open("fuzz")
    yield engine, runtime.store, case.id
    runtime.close()


def _client_count(store: object, case_id: int) -> int:
    return sum(1 for u in store.utterances(case_id) if u.speaker is Speaker.CLIENT)  # type: ignore[attr-defined]


_MESSAGE = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),  # control characters
    st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=20), st.text(max_size=20)),
    st.text(min_size=LIMIT - 5, max_size=LIMIT + 5, alphabet="ab é"),  # around the size limit
    st.sampled_from(["", " ", "\t\r", "I keep thinking about my father.", "\u202e\u200b hidden"]),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(text=_MESSAGE)
def test_a_message_is_answered_and_stored_or_refused_and_not_stored(
    engine_and_store: tuple[object, object, int], text: str
) -> None:
    engine, store, case_id = engine_and_store
    before = _client_count(store, case_id)
    try:
        reply = engine.turn(text)  # type: ignore[attr-defined]
    except InputError as exc:
        assert str(exc).strip()
        assert _client_count(store, case_id) == before  # nothing partial
        return
    assert reply.text
    assert _client_count(store, case_id) == before + 1
    said = [u for u in store.utterances(case_id) if u.speaker is Speaker.CLIENT][-1]  # type: ignore[attr-defined]
    assert said.text == text.strip()


def test_session_standard_input_with_hostile_lines(tmp_path: Path) -> None:
    key = Keyring.generate().to_base64()
    db = tmp_path / "r.db"
    with open_store(str(db), keyring=Keyring.from_base64(key)) as store:
        case = store.create_case("k", clinician="Dr. K")
        store.record_consent(case.id, ConsentKind.AI_SESSIONS, True, actor="test")
    lines: list[tuple[bytes, bool | None]] = [  # (line, stored?) None: skipped without an answer
        (b"I keep thinking about my father.", True),
        (b"caf\xe9 au lait", False),  # Latin-1: invalid UTF-8
        (b"", None),
        (b"   ", None),
        (b"\x01\x02 beep \x7f", False),
        (b"nul \x00 inside", False),
        (b"x" * 30_000, False),  # over the 20,000-character limit
        (b"He never listened.\r", True),  # CRLF line end
        ("\u00e9t\u00e9 \U0001f600 ok".encode(), True),
        (b"\xff\xfe\xfd", False),
    ]
    stdin = b"".join(line + b"\n" for line, _ in lines) + b"/end\n"
    env = {
        **os.environ,
        "REVERIE_EMBEDDER": "hashing",
        "REVERIE_DATA_DIR": str(tmp_path),
        "REVERIE_CLINICIAN": "Dr. K",
        "REVERIE_MASTER_KEY": key,
    }
    done = subprocess.run(
        [sys.executable, "-m", "reverie.cli", "session", "--case", "k", "--db", str(db), "--json"],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert "Traceback" not in done.stderr.decode()
    assert done.returncode == 1  # some lines were refused
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    answers = out[1:-1]  # between the opening and the closing
    expected = [stored for _, stored in lines if stored is not None]
    assert len(answers) == len(expected)
    for answer, stored in zip(answers, expected, strict=True):
        if stored:
            assert "text" in answer
        else:
            assert answer["stored"] is False and answer["error"].startswith("line ")
    with open_store(str(db), keyring=Keyring.from_base64(key)) as store:
        case = store.get_case("k")
        kept = [u.text for u in store.utterances(case.id) if u.speaker is Speaker.CLIENT]
    assert kept == ["I keep thinking about my father.", "He never listened.", "\u00e9t\u00e9 \U0001f600 ok"]

"""The episode index behind the linker: same answers as a plain scan, and fast at 50k."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pytest

from reverie.domain import Annotation, Span
from reverie.memory.embedding import HashingEmbedder
from reverie.memory.episodes import EpisodeIndex
from reverie.memory.index import CaseMemory
from reverie.memory.links import PastPresentLinker
from reverie.memory.recollections import EPISODE_FIELDS, EpisodeFacts
from reverie.storage.memory import InMemoryStore

RO = ["ignores", "mocks", "criticizes", "supports", None]
RS = ["withdraws", "protests", "clings", None]
OTHERS = ["father", "mother", "boss", None]
T = TypeVar("T")


@dataclass
class Said:
    """What the reference scan knows of one utterance."""

    session: int
    ordinal: int
    episodes: list[EpisodeFacts]
    childhood: bool


def facts(rng: random.Random) -> list[EpisodeFacts]:
    return [
        EpisodeFacts(
            other=rng.choice(OTHERS),
            response_of_other=rng.choice(RO),
            response_of_self=rng.choice(RS),
            past=rng.random() < 0.4,
            span=Span(0, 3) if rng.random() < 0.5 else None,
        )
        for _ in range(rng.choice([1, 1, 1, 2, 3]))
    ]


def fill(scenario: str, seed: int) -> tuple[EpisodeIndex, dict[int, Said]]:
    """An index and the same utterances kept plainly; the scenario decides how turns arrive."""
    rng = random.Random(seed)
    index, said = EpisodeIndex(threading.RLock()), {}
    row = 0
    for session in range(1, 7):
        for ordinal in range(1, rng.randint(2, 15)):
            said[row] = Said(session, ordinal, facts(rng), rng.random() < 0.3)
            row += 1
    rows = list(said)
    if scenario == "late-turns":  # rows of later sessions come before turns added to earlier ones
        rows.sort(key=lambda r: (said[r].ordinal % 3, r))
    for r in rows:
        s = said[r]
        index.add(r, s.session, s.ordinal, s.episodes, s.childhood)
    if scenario == "re-indexed":  # annotations of earlier turns corrected: removed, added again
        for r in rng.sample(rows, len(rows) // 3):
            index.remove(r)
            said[r].episodes = facts(rng) if rng.random() < 0.8 else []
            s = said[r]
            index.add(r, s.session, s.ordinal, s.episodes, s.childhood)
    return index, said


def matches(f: EpisodeFacts, categories: dict[str, str]) -> bool:
    return all(f.category(name) == value for name, value in categories.items())


def combinations(said: dict[int, Said]) -> list[dict[str, str]]:
    found = []
    for s in said.values():
        for f in s.episodes:
            named = {n: v for n in EPISODE_FIELDS if (v := f.category(n)) is not None}
            found += [named] if len(named) > 1 else []
            found += [{n: v} for n, v in named.items()]
    return [dict(c) for c in {tuple(c.items()) for c in found}]


def reference_spread(rows: list[int], said: dict[int, Said], limit: int) -> list[int]:
    ordered = sorted(rows, key=lambda r: (said[r].session, said[r].ordinal))
    chosen = ordered[:1] if limit > 0 else []
    for r in reversed(ordered):
        if len(chosen) < limit and all(said[c].session != said[r].session for c in chosen):
            chosen.append(r)
    for r in reversed(ordered):
        if len(chosen) < limit and r not in chosen:
            chosen.append(r)
    return sorted(chosen, key=lambda r: (said[r].session, said[r].ordinal))


SCENARIOS = [(s, seed) for s in ("in-order", "late-turns", "re-indexed") for seed in range(4)]
IDS = [f"{s}-{seed}" for s, seed in SCENARIOS]


@pytest.mark.parametrize(("scenario", "seed"), SCENARIOS, ids=IDS)
def test_counts_and_recurrences_equal_a_plain_scan(scenario: str, seed: int) -> None:
    index, said = fill(scenario, seed)
    for categories in combinations(said):
        rows = sorted(r for r, s in said.items() if any(matches(f, categories) for f in s.episodes))
        assert index.counts(categories) == (len(rows), len({said[r].session for r in rows}))
        for limit in (0, 1, 3, 5):
            seen = index.recurrence(categories, examples=limit)
            assert [e.row for e in seen.examples] == reference_spread(rows, said, limit)
            for e in seen.examples:  # the first matching episode of the utterance
                assert e.facts is next(f for f in said[e.row].episodes if matches(f, categories))
        firsts = [next(f for f in said[r].episodes if matches(f, categories)) for r in rows]
        assert seen.others == tuple(dict.fromkeys(f.other for f in firsts if f.other))
    assert sorted(map(sorted, (c.items() for c in index.combinations()))) == sorted(
        map(sorted, (c.items() for c in combinations(said)))
    )
    assert index.counts({"response_of_other": "never-said"}) == (0, 0)


@pytest.mark.parametrize(("scenario", "seed"), SCENARIOS, ids=IDS)
def test_closest_equals_a_plain_scan(scenario: str, seed: int) -> None:
    index, said = fill(scenario, seed)
    rng = random.Random(seed + 100)
    for _ in range(30):
        present = facts(rng)
        before = rng.randint(1, 7)
        shared: dict[int, int] = {}
        for r, s in said.items():
            for f in s.episodes:
                if s.session < before and (f.past or s.childhood):
                    best = max(
                        sum(
                            n.category(x) is not None and n.category(x) == f.category(x)
                            for x in EPISODE_FIELDS
                        )
                        for n in present
                    )
                    shared[r] = max(shared.get(r, 0), best)
        top = max(shared.values(), default=0)
        count, rows = index.closest(present, before_session=before)
        assert count == top
        assert rows.tolist() == (sorted(r for r, n in shared.items() if n == top) if top else [])


@pytest.mark.parametrize(("scenario", "seed"), SCENARIOS[:6], ids=IDS[:6])
def test_records_and_values_equal_a_plain_scan(scenario: str, seed: int) -> None:
    index, said = fill(scenario, seed)
    for field in EPISODE_FIELDS:
        values = sorted({v for s in said.values() for f in s.episodes if (v := f.category(field))})
        assert index.values(field) == values
        for value in values:
            for before in (None, 3):
                expected = [
                    (r, f)
                    for r in sorted(said)
                    for f in said[r].episodes
                    if f.category(field) == value and (before is None or said[r].session < before)
                ]
                found = index.records(field, value, before_session=before)
                assert [(e.row, e.facts) for e in found] == expected


def timed(call: Callable[[], T]) -> tuple[T, float, float]:
    """The answer of ``call`` and its p50 and p95 in ms over 30 calls."""
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        found = call()
        timings.append((time.perf_counter() - started) * 1000)
    return found, float(np.percentile(timings, 50)), float(np.percentile(timings, 95))


# -- a case of 50k utterances, each a relationship episode --------------------------------------
@pytest.fixture
def store() -> Iterator[InMemoryStore]:
    opened = InMemoryStore()
    yield opened
    opened.close()


def episode(other: str, ro: str, rs: str, past: bool) -> Annotation:
    detail = {"other": other, "response_of_other": ro, "response_of_self": rs, "past": past}
    return Annotation(layer="episodes.v1", label="episode", detail=detail)


def test_linking_in_a_case_of_50k_episodes_is_fast(store: InMemoryStore) -> None:
    n, per_session = 50_000, 250  # the client's half of 200 sessions of 500 turns
    embedder = HashingEmbedder()
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((n, embedder.dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ro = [("ignores", "mocks", "criticizes", "supports")[i % 4] for i in range(n)]
    rs = [("withdraws", "protests", "clings")[(i // 4) % 3] for i in range(n)]
    past = [i % 3 == 0 for i in range(n)]
    childhood = Annotation(layer="temporal.v1", label="childhood")
    annotations = [
        (episode(OTHERS[i % 3] or "", ro[i], rs[i], past[i]), *((childhood,) if i % 5 == 0 else ()))
        for i in range(n)
    ]
    memory = CaseMemory(store, store.create_case("ada", clinician="Dr. Rivera").id, embedder)
    memory._loaded = True  # filled directly, as if loaded
    memory._append_rows(
        vectors,
        list(range(1, n + 1)),
        [1 + i // per_session for i in range(n)],
        [1 + i % per_session for i in range(n)],
        [f"My boss ignored me, time {i}." for i in range(n)],
        annotations,
    )
    linker = PastPresentLinker(memory)
    now_text = "My boss ignored my idea and I said nothing."
    now = [episode("boss", "ignores", "withdraws", False)]

    echo, echo_p50, echo_p95 = timed(lambda: linker.find_echo(now_text, now, 150))
    pattern, pattern_p50, pattern_p95 = timed(lambda: linker.find_pattern(now))
    print(f"\nlinking over {n} episodes: find_echo p50 {echo_p50:.1f} ms, p95 {echo_p95:.1f} ms; ", end="")
    print(f"find_pattern p50 {pattern_p50:.1f} ms, p95 {pattern_p95:.1f} ms")

    # The echo: among earlier past or childhood episodes with both responses, the closest.
    both = [
        i
        for i in range(n)
        if ro[i] == "ignores"
        and rs[i] == "withdraws"
        and (past[i] or i % 5 == 0)
        and i // per_session + 1 < 150
    ]
    closest = both[int(np.argmax(vectors[both] @ embedder.embed([now_text])[0]))]
    assert echo is not None
    assert echo.past.utterance_id == closest + 1
    assert echo.shared == {"response_of_other": "ignores", "response_of_self": "withdraws"}
    # The pattern: both responses together, in every session.
    assert pattern is not None
    assert pattern.categories == {"response_of_other": "ignores", "response_of_self": "withdraws"}
    assert pattern.utterances == sum(ro[i] == "ignores" and rs[i] == "withdraws" for i in range(n))
    assert (pattern.sessions, len(pattern.evidence)) == (200, 5)
    assert echo_p95 < 100 and pattern_p95 < 100

"""``reverie bench``: the performance targets of DESIGN section 6, measured in one run.

It builds a synthetic case (``sessions`` past sessions of ``per_session`` utterances, stored in
a fresh SQLite file with their annotations and memory vectors), then times client turns end to
end through the real engine (store, crisis gate, analysis, memory retrieval, plan, phrase,
guard, store), the crisis gate alone, the analysis pipeline's throughput and the CLI's cold
start. Synthetic talk is drawn from a few thousand distinct sentences, so building the case is
quick; the turns timed are new sentences, embedded for real.
"""

from __future__ import annotations

import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reverie.analysis.risk import RiskScreen
from reverie.domain import Annotation, CrisisPlan, Speaker, WorkingAgreement
from reverie.memory import CaseMemory
from reverie.runtime import Runtime
from reverie.settings import Settings

_PEOPLE = [
    "my mother",
    "my father",
    "my partner",
    "my boss",
    "my sister",
    "a friend",
    "my brother",
    "my colleague",
    "my son",
    "my grandmother",
]
_EVENTS = [
    "didn't call back",
    "ignored what I said",
    "criticized my work",
    "was kind to me",
    "cancelled our plans",
    "shouted at me",
    "listened for once",
    "forgot my birthday",
    "asked how I was",
    "left early without a word",
]
_FEELINGS = [
    "and I felt small",
    "and I was furious",
    "and I just went quiet",
    "and I felt relieved",
    "and I couldn't sleep",
    "and I laughed it off",
    "and it hurt more than I expected",
    "and I tried even harder",
    "and nothing much happened",
    "and I felt lonely",
]
_WHEN = ["Yesterday", "Last week", "This morning", "When I was a kid", "Growing up", "On Sunday"]
_THERAPIST = [
    "Say more about that.",
    "What comes to mind?",
    "That sounds painful.",
    "Go on.",
    "What was that like for you?",
    "I'm listening.",
    "Mm.",
    "How did you feel then?",
]
TURN_MESSAGES = [
    "My boss ignored my idea in the meeting again and I just went quiet.",
    "I keep thinking about what my mother said on the phone.",
    "It's not a big deal really, I guess it's fine.",
    "I had a dream last night that I was lost in my old school.",
    "Do you remember what I told you about my sister?",
    "I feel so tired of trying all the time.",
    "My partner forgot our anniversary and I pretended I didn't care.",
    "When I was little my father never listened to me.",
    "What should I do about the job offer?",
    "Sometimes I wonder if you judge me for all this.",
]
TARGETS = {
    "turn_p95_ms": 50.0,
    "crisis_gate_p99_ms": 5.0,
    "analyze_utterances_per_s": 1000.0,
    "help_cold_start_s": 0.5,
}


def synthetic_client_sentence(rng: random.Random) -> str:
    return f"{rng.choice(_WHEN)} {rng.choice(_PEOPLE)} {rng.choice(_EVENTS)} {rng.choice(_FEELINGS)}."


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def build_case(runtime: Runtime, name: str, sessions: int, per_session: int, seed: int = 7) -> int:
    """A case with ``sessions`` past sessions, annotated and indexed; returns its id."""
    store, rng = runtime.store, random.Random(seed)
    case = store.create_case(name, clinician="Dr. Bench", locale="en-US")
    store.save_agreement(case.id, WorkingAgreement(1, 50, 24, 12, "Dr. Bench", accepted=True))
    store.save_crisis_plan(
        case.id, CrisisPlan(warning_signs=("not sleeping",), coping=("a walk",), people=("my sister",))
    )
    store.put_state(
        case.id,
        "engine",
        {
            "intake_step": "done",
            "last_disclosure": datetime.now(UTC).isoformat(),
            "last_activity": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
    )
    cache: dict[str, list[Annotation]] = {}
    for _ in range(sessions):
        session = store.start_session(case.id)
        items = [
            (Speaker.CLIENT, synthetic_client_sentence(rng))
            if i % 2 == 0
            else (Speaker.THERAPIST, rng.choice(_THERAPIST))
            for i in range(per_session)
        ]
        stored = store.add_utterances(session.id, items)
        batch = []
        for utt in stored:
            if utt.speaker is Speaker.CLIENT:
                if utt.text not in cache:
                    cache[utt.text] = runtime.pipeline.run(utt.text).stored_annotations()
                batch.append((utt.id, cache[utt.text]))
        store.save_annotations_many(batch)
        store.end_session(session.id)
    CaseMemory(store, case.id, runtime.embedder).load()  # embeds and stores every vector once
    return case.id


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def bench_turns(runtime: Runtime, case_name: str, turns: int) -> dict[str, Any]:
    engine = runtime.engine(consent_actor="bench")
    open_ms = _timed(lambda: engine.open(case_name))
    rng = random.Random(11)
    times = []
    for i in range(turns):
        message = TURN_MESSAGES[i % len(TURN_MESSAGES)]
        if i >= len(TURN_MESSAGES):  # new words each time, so embeddings are not cached
            message = f"{message} {synthetic_client_sentence(rng)}"
        times.append(_timed(lambda m=message: engine.turn(m)))  # type: ignore[misc]
    engine.close()
    return {
        "open_ms": round(open_ms, 1),
        "turns": turns,
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "p99_ms": round(percentile(times, 99), 2),
    }


def bench_crisis_gate(n: int = 5000) -> dict[str, Any]:
    """The gate as shipped (rules and the trained layer), and rules only for comparison."""
    rng = random.Random(3)
    messages = [synthetic_client_sentence(rng) for _ in range(n // 2)]
    messages += [
        "Everyone would be better off without me. " + synthetic_client_sentence(rng) for _ in range(n // 4)
    ]
    messages += [" ".join(synthetic_client_sentence(rng) for _ in range(30))[:2000] for _ in range(n // 4)]
    out: dict[str, Any] = {"messages": len(messages), "max_chars": max(len(m) for m in messages)}
    for name, screen in (("shipped", RiskScreen()), ("rules_only", RiskScreen(model=None))):
        times = [_timed(lambda m=m, s=screen: s.screen(m)) for m in messages]  # type: ignore[misc]
        out[name] = {"p50_ms": round(percentile(times, 50), 4), "p99_ms": round(percentile(times, 99), 4)}
    out["p50_ms"], out["p99_ms"] = out["shipped"]["p50_ms"], out["shipped"]["p99_ms"]
    return out


def bench_analysis(runtime: Runtime, n: int = 20000) -> dict[str, Any]:
    rng = random.Random(5)
    texts = [synthetic_client_sentence(rng) + " " + rng.choice(TURN_MESSAGES) for _ in range(n)]
    screen = RiskScreen()
    start = time.perf_counter()
    for text in texts:
        runtime.pipeline.run(text)
        screen.screen(text)
    elapsed = time.perf_counter() - start
    return {"utterances": n, "seconds": round(elapsed, 2), "utterances_per_s": round(n / elapsed)}


def bench_cold_start(runs: int = 5) -> dict[str, Any]:
    exe = shutil.which("reverie") or str(Path(sys.executable).with_name("reverie"))
    command = [exe, "--help"] if Path(exe).exists() else [sys.executable, "-m", "reverie.cli", "--help"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return {"runs": runs, "median_s": round(statistics.median(times), 3)}


def run_bench(
    *, sessions: int = 200, per_session: int = 500, turns: int = 200, embedder: str = "minilm"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reverie-bench-") as tmp:
        settings = Settings(db=str(Path(tmp) / "bench.db"), embedder=embedder, data_dir=Path(tmp))  # type: ignore[arg-type]
        runtime = Runtime.open(settings)
        try:
            start = time.perf_counter()
            build_case(runtime, "bench", sessions, per_session)
            setup_s = time.perf_counter() - start
            utterances = runtime.store.count_utterances(runtime.store.get_case("bench").id)
            turn = bench_turns(runtime, "bench", turns)
            gate = bench_crisis_gate()
            analysis = bench_analysis(runtime)
        finally:
            runtime.close()
    cold = bench_cold_start()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "turn_p95_ms": turn["p95_ms"],
        "crisis_gate_p99_ms": gate["p99_ms"],
        "analyze_utterances_per_s": analysis["utterances_per_s"],
        "help_cold_start_s": cold["median_s"],
    }
    targets = [
        {
            "name": name,
            "value": figures[name],
            "target": target,
            "met": figures[name] >= target if name.endswith("per_s") else figures[name] <= target,
        }
        for name, target in TARGETS.items()
    ]
    return {
        "machine": _machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedder": embedder,
        "case": {"sessions": sessions, "utterances": utterances, "setup_s": round(setup_s, 1)},
        "turn": turn,
        "crisis_gate": gate,
        "analysis": analysis,
        "cold_start": cold,
        "peak_rss_mb": round(rss_mb),
        "targets": targets,
    }


def render_bench(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"reverie bench — {m['cpu']}, {m['cores']} cores, Python {m['python']}, embedder {result['embedder']}",
        f"case: {result['case']['sessions']} past sessions, {result['case']['utterances']:,} utterances "
        f"(built in {result['case']['setup_s']} s); session open {result['turn']['open_ms']} ms",
        f"turn end to end: p50 {result['turn']['p50_ms']} ms, p95 {result['turn']['p95_ms']} ms, "
        f"p99 {result['turn']['p99_ms']} ms over {result['turn']['turns']} turns",
        f"crisis gate: p50 {result['crisis_gate']['p50_ms']} ms, p99 {result['crisis_gate']['p99_ms']} ms "
        f"(rules only: p99 {result['crisis_gate']['rules_only']['p99_ms']} ms; messages up to "
        f"{result['crisis_gate']['max_chars']} characters)",
        f"analysis: {result['analysis']['utterances_per_s']:,} utterances/s",
        f"reverie --help cold start: {result['cold_start']['median_s']} s (median of {result['cold_start']['runs']})",
        f"peak RSS: {result['peak_rss_mb']} MB",
        "",
        "target                      value      target   met",
    ]
    for t in result["targets"]:
        lines.append(f"{t['name']:<26} {t['value']:>9} {t['target']:>9}   {'yes' if t['met'] else 'NO'}")
    return "\n".join(lines)

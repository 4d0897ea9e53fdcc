"""The command line: a thin layer over the same services the web app uses.

Every command that touches a case takes ``--db PATH`` (a SQLite file; without it, the user's
data folder). Heavy imports happen inside the commands, so ``reverie --help`` starts fast.
Exit codes: 0 success, 1 an error reverie explains, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from reverie.dialogue.engine import Reply
    from reverie.settings import Settings

END = "/end"


def _settings(args: argparse.Namespace) -> Settings:
    from reverie.settings import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "db", None):
        overrides["db"] = args.db
    if getattr(args, "embedder", None):
        overrides["embedder"] = args.embedder
    from pydantic import ValidationError

    from reverie.errors import ConfigurationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'setting'}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(
            f"Invalid settings ({problems}). Fix the REVERIE_* environment variables."
        ) from exc


def _print_reply(reply: Reply, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(reply.to_json(), ensure_ascii=False) + "\n")
    else:
        out.write(f"\nreverie: {reply.text}\n")
        if (
            reply.evidence
            and reply.intervention not in {"crisis", "intake"}
            and not reply.intervention.startswith(("crisis", "intake"))
        ):
            sources = "; ".join(f"session {e.session}, #{e.utterance}" for e in reply.evidence)
            out.write(f"         (based on: {sources})\n")
    out.flush()


def _lines(stream: Any) -> Any:
    """Client messages from standard input, one per line, decoded strictly as UTF-8."""
    for number, raw in enumerate(stream, 1):
        try:
            yield number, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield number, None


def cmd_session(args: argparse.Namespace) -> int:
    from reverie.commands.terminal import open_session
    from reverie.errors import ConsentRequiredError, InputError, StorageError

    settings = _settings(args)
    from reverie.settings import UNNAMED_CLINICIAN

    if settings.clinician == UNNAMED_CLINICIAN:
        sys.stderr.write(
            "reverie: no supervising clinician is named (set REVERIE_CLINICIAN); "
            "until one is, use reverie only to try it out, not for care.\n"
        )
    try:
        # The case seen through the operator's ScopedStore: every read and write audited.
        runtime, engine = open_session(settings, args.case)
    except StorageError as exc:
        _error(f"the session could not start: {exc}{_IN_DANGER}", args.json)
        return 1
    out = sys.stdout
    interactive = sys.stdin.isatty() and not args.json
    refused = 0
    # Once the store fails, or the client's consent is missing, the session stops taking messages.
    broken: StorageError | ConsentRequiredError | None = None
    try:
        try:
            _print_reply(engine.open(args.case), args.json, out)
        except (StorageError, ConsentRequiredError) as exc:
            broken = exc
            _error(f"the session could not start: {exc}{_IN_DANGER}", args.json)
        if interactive and broken is None:
            out.write("(type /end to finish the session)\n")
        stream = sys.stdin.buffer
        for number, line in _lines(iter(lambda: _read(stream, interactive), b"")):
            if line is not None and line.strip() == END:
                break
            if line is not None and not line.strip():
                continue
            if broken is not None:
                refused += 1
                if args.json or not isinstance(broken, ConsentRequiredError):  # consent: said once
                    _error(
                        f"line {number}: not stored, the session had stopped: {broken}",
                        args.json,
                        stored=False,
                    )
                continue
            if line is None:
                refused += 1
                _error(
                    f"line {number}: not valid UTF-8; nothing was stored. Send plain UTF-8 text.",
                    args.json,
                    stored=False,
                )
                continue
            try:
                _print_reply(engine.turn(line), args.json, out)
            except InputError as exc:
                refused += 1
                _error(f"line {number}: {exc}", args.json, stored=False)
            except ConsentRequiredError as exc:
                # Consent missing, or withdrawn (in the web app) while this session ran: nothing of
                # the message was stored or screened, and no later line will be.
                refused += 1
                broken = exc
                _error(
                    f"line {number}: {exc} The session stops here; no later line is stored.{_IN_DANGER}",
                    args.json,
                    stored=False,
                )
            except StorageError as exc:
                # The engine stores the message first, then the reply in one transaction: either
                # may be the write that failed. Tell the client which, then stop the session.
                refused += 1
                broken = exc
                stored = _client_message_kept(runtime, args.case, line)
                what = (
                    "your message was stored, but reverie could not save its reply"
                    if stored
                    else "your message was not stored"
                )
                _error(
                    f"line {number}: {what}: {exc} The session stops here.{_IN_DANGER}",
                    args.json,
                    stored=stored,
                )
        if engine.active and broken is None:
            _print_reply(engine.close(), args.json, out)
    except KeyboardInterrupt:
        if engine.active and broken is None:
            _print_reply(engine.close(), args.json, out)
    finally:
        runtime.close()
    return 1 if refused or broken else 0


_IN_DANGER = " If you are in danger, call your local emergency number (in the US: 911, or call or text 988)."


def _client_message_kept(runtime: Any, case_name: str, text: str) -> bool:
    """Whether ``text`` is the last thing stored in the case's latest session (read after a failed
    turn: the client's message is stored alone first, the reply after it). Read from the plain
    store, unaudited: only whether it was kept is shown, and an audit row could not be written
    on the full disk this check is for (its failure would read as "not stored")."""
    from reverie.domain import Speaker
    from reverie.errors import StorageError

    try:
        store = runtime.store
        case = store.find_case(case_name)
        sessions = store.sessions(case.id) if case is not None else []
        said = store.utterances(case.id, session_id=sessions[-1].id) if sessions else []
    except StorageError:
        return False
    last = said[-1] if said else None
    # The message is stored stripped of surrounding white space.
    return last is not None and last.speaker is Speaker.CLIENT and last.text == text.strip()


def _read(stream: Any, interactive: bool) -> bytes:
    if interactive:
        sys.stdout.write("you: ")
        sys.stdout.flush()
    line: bytes = stream.readline()
    return line


def _error(message: str, as_json: bool, *, stored: bool | None = None) -> None:
    """Report a problem; with ``--json`` also as a JSON line ``{"error": ..., "stored": ...}``
    (``stored`` only where a client message is concerned: whether it was kept)."""
    if as_json:
        doc: dict[str, Any] = {"error": message}
        if stored is not None:
            doc["stored"] = stored
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stdout.flush()
    sys.stderr.write(f"reverie: {message}\n")


def cmd_analyze(args: argparse.Namespace) -> int:
    from reverie.analysis.report import analyse, build_report, render_markdown
    from reverie.analysis.risk import RiskScreen
    from reverie.analysis.transcript import read_transcript
    from reverie.runtime import listening_pipeline

    turns = read_transcript(Path(args.file), transcript=args.transcript)
    pipeline = listening_pipeline()
    report = build_report(analyse(turns, pipeline, RiskScreen()), pipeline)
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render_markdown(report, title=f"Analysis of {Path(args.file).name}"))
    return 0


EVAL_TASKS = ("risk", "affect", "behaviour", "episodes", "defenses", "transference")


def behaviour_model_path(settings: Settings) -> Path:
    from reverie.analysis.behaviour import default_model_path

    return default_model_path(settings.data_dir)


def cmd_eval(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        from reverie.errors import InputError

        raise InputError(f"No file at {path}; give the labelled file to evaluate on.")
    result: dict[str, Any]
    if args.task == "risk":
        from reverie.analysis.risk_eval import evaluate_cssrs

        result = evaluate_cssrs(path)
    elif args.task == "affect":
        from reverie.analysis.affect_model import evaluate_goemotions

        embedder = None
        if args.tier == "full":
            from reverie.memory import MiniLMEmbedder

            embedder = MiniLMEmbedder()
        result = evaluate_goemotions(path, tier=args.tier, embedder=embedder)
    elif args.task == "behaviour":
        from reverie.analysis.behaviour import evaluate_behaviour

        model = Path(args.model) if args.model else behaviour_model_path(_settings(args))
        if not model.is_file():
            from reverie.errors import ModelUnavailableError

            raise ModelUnavailableError(
                f"No behaviour model at {model}. Train one first: reverie train behaviour --data PATH "
                "(AnnoMI's licence does not allow shipping trained weights)."
            )
        from reverie.analysis.behaviour import model_tier

        encoder = None
        if model_tier(model) == "full":  # the tier is the model's, whatever --tier says
            from reverie.memory import MiniLMEmbedder

            encoder = MiniLMEmbedder()
        result = evaluate_behaviour(path, model, encoder)
    else:
        from reverie.analysis.gold import evaluate_gold

        result = evaluate_gold(args.task, path, half=args.half)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from reverie.analysis.behaviour import train_behaviour

    out = Path(args.out) if args.out else behaviour_model_path(_settings(args))
    out.parent.mkdir(parents=True, exist_ok=True)
    encoder = None
    if args.tier == "full":
        from reverie.memory import MiniLMEmbedder

        encoder = MiniLMEmbedder()
    result = train_behaviour(Path(args.data), out, folds=args.folds, encoder=encoder)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if getattr(args, "web", False):
        from reverie.web.loadbench import render, run_web_bench

        web = run_web_bench(clients=args.clients, turns=args.web_turns, embedder=args.embedder or "hashing")
        print(json.dumps(web, indent=2) if args.json else render(web))
        return 0 if all(t["met"] for t in web["targets"]) or not args.strict else 1
    if getattr(args, "scale", False):
        from reverie.scale_bench import DEFAULT_URL, render_scale, run_scale_bench

        scale = run_scale_bench(
            args.db or DEFAULT_URL,
            cases=args.cases,
            per_case=args.per_case,
            large_case=args.large_case,
            queries=args.queries,
            sizes=[int(size) for size in args.sizes.split(",") if size.strip()],
            annotate=not args.no_annotations,
        )
        print(json.dumps(scale, indent=2) if args.json else render_scale(scale))
        return 0 if all(t["met"] for t in scale["targets"]) or not args.strict else 1
    from reverie.bench import render_bench, run_bench

    result = run_bench(
        sessions=args.sessions,
        per_session=args.per_session,
        turns=args.turns,
        embedder=args.embedder or "minilm",
    )
    print(json.dumps(result, indent=2) if args.json else render_bench(result))
    return 0 if all(t["met"] for t in result["targets"]) or not args.strict else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reverie",
        description="reverie: psychodynamic therapy implemented as software. reverie is an AI, not a "
        "person, and works under a licensed clinician. In an emergency call your local emergency number "
        "(in the US: 911, or call or text 988).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db", metavar="PATH", help="SQLite file (default: reverie.db in the user's data folder)"
        )
        p.add_argument(
            "--embedder", choices=["minilm", "hashing"], help="case-memory embeddings (default: minilm)"
        )

    p = sub.add_parser("session", help="hold a session in the terminal (scripted from standard input too)")
    p.add_argument("--case", default="default", help="the case to open or continue (default: 'default')")
    p.add_argument("--json", action="store_true", help="one JSON line per reply")
    db_option(p)
    p.set_defaults(func=cmd_session)

    p = sub.add_parser("analyze", help="analyse a transcript (text with T:/C: prefixes, CSV or JSONL)")
    p.add_argument("file", help="the transcript file")
    p.add_argument("--format", choices=["json", "md"], default="md")
    p.add_argument("--transcript", metavar="ID", help="for a CSV of many transcripts (AnnoMI): which one")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("eval", help="JSON metrics of a built-in model on a labelled file")
    p.add_argument("task", choices=EVAL_TASKS, help="what to evaluate")
    p.add_argument("file", help="the labelled file, in the format of the matching data set")
    p.add_argument(
        "--tier",
        choices=["fast", "full"],
        default="fast",
        help="affect: the fast tier (hashed features) or full (blended with MiniLM embeddings)",
    )
    p.add_argument("--model", help="behaviour: the trained model file (default: in the data folder)")
    p.add_argument(
        "--half",
        choices=["dev", "test"],
        help="episodes, defenses, transference: score only the dev (odd lines) or test (even lines) half",
    )
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train a model that may not be shipped (behaviour, from AnnoMI)")
    p.add_argument("what", choices=["behaviour"])
    p.add_argument("--data", required=True, help="AnnoMI-format CSV")
    p.add_argument(
        "--out", help="where to write the model (default: models/behaviour.npz in the data folder)"
    )
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds, split by transcript")
    p.add_argument(
        "--tier",
        choices=["fast", "full"],
        default="fast",
        help="fast (hashed words) or full (plus MiniLM sentence vectors: slower, a little better)",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("bench", help="performance benchmarks (DESIGN section 6)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--sessions", type=int, default=200, help="past sessions in the benchmark case")
    p.add_argument("--per-session", type=int, default=500, help="utterances per past session")
    p.add_argument("--turns", type=int, default=200, help="client turns to time")
    p.add_argument("--embedder", choices=["minilm", "hashing"])
    p.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    p.add_argument("--web", action="store_true", help="the web load benchmark instead (docs/web.md)")
    p.add_argument("--clients", type=int, default=50, help="--web: concurrent simulated clients")
    p.add_argument("--web-turns", type=int, default=10, help="--web: turns per client")
    p.add_argument(
        "--scale",
        action="store_true",
        help="case memory at clinic scale on PostgreSQL instead (docs/benchmarks.md)",
    )
    p.add_argument(
        "--db", metavar="URL", help="--scale: the PostgreSQL server (a scratch database is made there)"
    )
    p.add_argument("--cases", type=int, default=100, help="--scale: cases to store")
    p.add_argument("--per-case", type=int, default=10_000, help="--scale: client utterances per case")
    p.add_argument("--large-case", type=int, default=200_000, help="--scale: utterances of the large case")
    p.add_argument("--queries", type=int, default=200, help="--scale: searches timed per sampled case")
    p.add_argument("--sizes", default="", help="--scale: also one in-memory case of each size (e.g. 1000000)")
    p.add_argument("--no-annotations", action="store_true", help="--scale: store no annotations")
    p.set_defaults(func=cmd_bench)

    import importlib

    from reverie.commands import MODULES

    for name in MODULES:
        importlib.import_module(f"reverie.commands.{name}").register(sub, db_option)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from reverie.errors import ReverieError

    try:
        code: int = args.func(args)
        return code
    except ReverieError as exc:
        sys.stderr.write(f"reverie: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Load benchmark of the web app: many signed-in clients, each holding a session.

``python -m reverie.web.loadbench [--clients 50] [--turns 10] [--think 1.0 3.0] [--embedder]``
(also ``reverie bench --web``). What it does, in order:

1. seeds a fresh SQLite database in a temporary folder: one clinician (with TOTP), and
   ``clients`` invited clients who have consented to AI sessions and analysis;
2. starts ``reverie serve`` on a free loopback port as a separate process;
3. runs ``clients`` simulated clients concurrently (asyncio + httpx): each signs in through
   the login form (arrivals spread over the longest think time) and opens the session room
   (the engine opens the intake); once all hold a session, each sends
   ``turns`` messages with the room's fetch call, waiting a think time drawn uniformly from
   ``think`` seconds before each message;
4. reports the latency of every turn (p50/p95/p99, as the client sees it, over loopback) and
   the server's resident memory (peak, from ``/proc/PID/status`` VmHWM), then stops it.

Needs httpx (a development dependency). Linux only for the memory figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PASSWORD = "load-bench-password"
MESSAGES = [
    "I've been feeling stuck and low since the new job started.",
    "My sister is around. No medication.",
    "When I was a kid my father never listened when I showed him my drawings.",
    "I'd like to feel less alone and speak up more.",
    "Yes, that works.",
    "I stop sleeping and stop answering messages.",
    "Going for a walk, music",
    "My sister Anna, she always picks up",
    "No, that's all.",
    "Work was hard again today, my manager ignored my idea in the meeting.",
    "It reminded me of how my father used to look past me.",
    "I don't know why I keep bringing this up.",
]


def seed(settings: Any, clients: int) -> None:
    """A clinician and ``clients`` consenting clients (``client-0`` ...) in ``settings``' database."""
    from datetime import UTC, datetime, timedelta

    from reverie.access.service import AccessService
    from reverie.access.totp import STEP_SECONDS, code_at
    from reverie.domain.access import AccountRole, ConsentKind
    from reverie.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        access = AccessService.from_settings(runtime.store, settings)
        account = access.create_account("bench-clinician", PASSWORD, AccountRole.CLINICIAN)
        secret = access.enrol_totp(account.id).secret
        now = datetime.now(UTC)
        access.confirm_totp(account.id, code_at(secret, now))
        code = code_at(secret, now + timedelta(seconds=STEP_SECONDS))
        clinician = access.authenticate(access.login("bench-clinician", PASSWORD, code).token)
        for n in range(clients):
            invitation = access.invite_client(clinician, f"bench-{n}")
            client = access.accept_invitation(invitation.code, f"client-{n}", PASSWORD)
            principal = access.authenticate(access.login(f"client-{n}", PASSWORD).token)
            assert client.case_id is not None  # an accepted invitation always has its case
            for kind in (ConsentKind.AI_SESSIONS, ConsentKind.ANALYSIS):
                access.grant_consent(principal, client.case_id, kind)
    finally:
        runtime.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _peak_rss_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else None


def _rss_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else None


async def _one_client(
    url: str,
    n: int,
    turns: int,
    think: tuple[float, float],
    rng: random.Random,
    latencies: list[float],
    errors: list[str],
    sign_ins: list[float],
    ready: asyncio.Barrier,
) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        await asyncio.sleep(rng.uniform(0, think[1]))  # clients arrive spread out
        await http.get("/login")
        csrf = http.cookies.get("reverie_csrf") or ""
        started = time.perf_counter()
        login = await http.post(
            "/login", data={"username": f"client-{n}", "password": PASSWORD, "csrf": csrf}
        )
        sign_ins.append((time.perf_counter() - started) * 1000)
        room = await http.get("/client/session")
        await ready.wait()  # every client signed in and holding a session before the timed turns
        if login.status_code != 303 or room.status_code != 200:
            errors.append(f"client-{n}: sign-in {login.status_code}, room {room.status_code}")
            return
        for turn in range(turns):
            await asyncio.sleep(rng.uniform(*think))
            text = MESSAGES[turn % len(MESSAGES)]
            started = time.perf_counter()
            reply = await http.post(
                "/client/session/message",
                data={"text": text},
                headers={"Accept": "application/json", "X-CSRF-Token": csrf},
            )
            elapsed = (time.perf_counter() - started) * 1000
            if reply.status_code != 200 or not reply.json().get("text"):
                errors.append(f"client-{n} turn {turn}: {reply.status_code}")
                continue
            latencies.append(elapsed)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_web_bench(
    *,
    clients: int = 50,
    turns: int = 10,
    think: tuple[float, float] = (1.0, 3.0),
    embedder: str = "hashing",
    seed_value: int = 7,
) -> dict[str, Any]:
    """Run the load benchmark; returns the figures (latencies in ms, memory in MB)."""
    from reverie.settings import Settings

    with tempfile.TemporaryDirectory(prefix="reverie-loadbench-") as folder:
        db = str(Path(folder) / "reverie.db")
        env = {**os.environ, "REVERIE_DATA_DIR": folder, "REVERIE_DB": db, "REVERIE_EMBEDDER": embedder}
        settings = Settings(data_dir=Path(folder), db=db, embedder=embedder)  # type: ignore[arg-type]
        seeded = time.perf_counter()
        seed(settings, clients)
        seed_s = time.perf_counter() - seeded
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "reverie.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, server)
            idle_rss = _rss_mb(server.pid)
            latencies: list[float] = []
            sign_ins: list[float] = []
            errors: list[str] = []
            rng = random.Random(seed_value)

            async def everyone() -> None:
                ready = asyncio.Barrier(clients)
                await asyncio.gather(
                    *(
                        _one_client(
                            url,
                            n,
                            turns,
                            think,
                            random.Random(rng.random()),
                            latencies,
                            errors,
                            sign_ins,
                            ready,
                        )
                        for n in range(clients)
                    )
                )

            began = time.perf_counter()
            asyncio.run(everyone())
            wall = time.perf_counter() - began
            peak = _peak_rss_mb(server.pid)
            rss = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=20)
    p95 = _percentile(latencies, 95)
    return {
        "clients": clients,
        "turns_per_client": turns,
        "think_seconds": list(think),
        "embedder": embedder,
        "turns_timed": len(latencies),
        "errors": errors[:10],
        "error_count": len(errors),
        "p50_ms": round(_percentile(latencies, 50), 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(_percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "sign_in_p50_ms": round(_percentile(sign_ins, 50), 1),
        "sign_in_p95_ms": round(_percentile(sign_ins, 95), 1),
        "wall_seconds": round(wall, 1),
        "seed_seconds": round(seed_s, 1),
        "server_rss_idle_mb": None if idle_rss is None else round(idle_rss, 1),
        "server_rss_end_mb": None if rss is None else round(rss, 1),
        "server_rss_peak_mb": None if peak is None else round(peak, 1),
        "targets": [
            {"name": "turn p95 <= 200 ms", "met": bool(latencies) and p95 <= 200 and not errors},
            {"name": "server resident memory <= 500 MB", "met": peak is not None and peak <= 500},
        ],
    }


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode() if server.stderr else ""
            raise RuntimeError(f"reverie serve exited early: {stderr[-2000:]}")
        try:
            httpx.get(f"{url}/crisis-help", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("reverie serve did not start within 60 s")


def render(result: dict[str, Any]) -> str:
    lines = [
        f"web load: {result['clients']} clients x {result['turns_per_client']} turns, think time "
        f"{result['think_seconds'][0]}-{result['think_seconds'][1]} s, embedder {result['embedder']}",
        f"  turn latency: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms "
        f"({result['turns_timed']} turns, {result['error_count']} errors)",
        f"  sign-in (Argon2id, at most 2 at once): p50 {result['sign_in_p50_ms']} ms, "
        f"p95 {result['sign_in_p95_ms']} ms",
        f"  server memory: idle {result['server_rss_idle_mb']} MB, peak {result['server_rss_peak_mb']} MB",
    ]
    lines += [f"  [{'met' if t['met'] else 'MISSED'}] {t['name']}" for t in result["targets"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reverie.web.loadbench", description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    parser.add_argument("--embedder", choices=["minilm", "hashing"], default="hashing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run_web_bench(
        clients=args.clients, turns=args.turns, think=tuple(args.think), embedder=args.embedder
    )
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0 if all(t["met"] for t in result["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())

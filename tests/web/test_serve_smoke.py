"""Smoke test of the real command: ``reverie serve`` as a subprocess, then Ctrl+C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command() -> list[str]:
    script = Path(sys.executable).parent / "reverie"  # the installed console script
    return [str(script)] if script.exists() else [sys.executable, "-m", "reverie.cli"]


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "REVERIE_DATA_DIR": str(tmp_path / "data"), "REVERIE_EMBEDDER": "hashing"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*_command(), "serve", "--port", str(port), "--db", str(tmp_path / "reverie.db"), *extra],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if server.poll() is not None:
            pytest.fail(f"reverie serve exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/crisis-help", timeout=2).status_code == 200:
                return server, url, log
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"reverie serve did not answer within 90 s: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def _stop(server: subprocess.Popen[bytes]) -> int:
    server.send_signal(signal.SIGINT)  # as Ctrl+C
    try:
        return server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        raise


def test_reverie_serve_answers_the_first_run_pages_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    server, url, log = _serve(tmp_path)
    try:
        root = httpx.get(f"{url}/", follow_redirects=False)
        assert root.status_code == 303 and root.headers["location"] == "/setup"  # no accounts yet
        setup = httpx.get(f"{url}/setup")
        assert setup.status_code == 200 and 'action="/setup"' in setup.text
        help_page = httpx.get(f"{url}/crisis-help")
        assert help_page.status_code == 200 and "988" in help_page.text
        assert help_page.headers["content-security-policy"].startswith("default-src 'self'")
        assert httpx.get(f"{url}/static/app.css").status_code == 200
    finally:
        code = _stop(server)
    assert code == 0, log.read_text()[-2000:]
    assert f"serving on http://127.0.0.1:{url.rsplit(':', 1)[1]}/" in log.read_text()
    assert (tmp_path / "reverie.db").exists()


def test_reverie_serve_demo_seeds_accounts_that_can_sign_in(tmp_path: Path) -> None:
    server, url, log = _serve(tmp_path, "--demo")
    try:
        text = log.read_text()
        assert "demo accounts (shown once)" in text
        client_password = next(
            line.split("/")[1].strip() for line in text.splitlines() if line.strip().startswith("client:")
        )
        root = httpx.get(f"{url}/", follow_redirects=False)
        assert root.status_code == 303 and root.headers["location"] == "/login"  # accounts exist
        setup = httpx.get(f"{url}/setup", follow_redirects=False)
        assert setup.status_code == 303 and setup.headers["location"] == "/login"  # first run is over
        assert httpx.get(f"{url}/crisis-help").status_code == 200
        with httpx.Client(base_url=url) as browser:
            browser.get("/login")
            signed_in = browser.post(
                "/login",
                data={
                    "username": "demo-client",
                    "password": client_password,
                    "csrf": browser.cookies["reverie_csrf"],
                },
            )
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/client/session"
            room = browser.get("/client/session")
            assert room.status_code == 200 and "minutes left" in room.text
    finally:
        code = _stop(server)
    assert code == 0, log.read_text()[-2000:]

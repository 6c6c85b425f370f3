"""A real Rasa 3.6 server for the tests that need one.

When `.venv-rasa` exists (`make rasa-venv`; CI builds it), the session trains the model for the
current nlu/ if needed (`rasa/rasa.sh train`, which reuses a cached model) and starts
`.venv-rasa/bin/rasa run --enable-api` on a free loopback port, stopping it at the end. Without
it, a server already running at RASA_URL (default http://127.0.0.1:5005, e.g. `make rasa`) is used.
Tests then `need` it: skipped on a laptop without Rasa, failed when CI=true.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nlu.rasa_server import RasaServer, rasa_environment
from tests.helpers import need

ROOT = Path(__file__).resolve().parents[3]
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
SCRIPT = ROOT / "rasa" / "rasa.sh"
LOGS = ROOT / "var" / "rasa-test-logs"


def rasa_installed() -> bool:
    return RASA_BIN.exists()


def _server_up(url: str) -> bool:
    try:
        return httpx.get(f"{url.rstrip('/')}/status", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def rasa_model() -> Path | None:
    """The trained model for the current nlu/ (trained now if no cached one fits), or None."""
    if not rasa_installed():
        return None
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / "train.log"
    with log.open("wb") as stream:
        done = subprocess.run(
            ["bash", str(SCRIPT), "train"],
            cwd=ROOT,
            stdout=stream,
            stderr=subprocess.STDOUT,
            env=rasa_environment(),
        )
    if done.returncode != 0:
        pytest.fail(f"rasa/rasa.sh train failed (exit {done.returncode}); see {log}")
    path = subprocess.run(
        ["bash", str(SCRIPT), "model"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    return ROOT / path


@pytest.fixture(scope="session")
def rasa_server_url(rasa_model: Path | None) -> Iterator[str | None]:
    """Base URL of a Rasa server serving the project's nlu/, or None when there is none."""
    if rasa_model is not None:
        server = RasaServer(RASA_BIN, rasa_model, log=LOGS / "server.log", workdir=LOGS)
        server.start(timeout=600)
        try:
            yield server.url
        finally:
            server.stop()
        return
    url = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
    yield url if _server_up(url) else None


@pytest.fixture
def rasa_url(rasa_server_url: str | None) -> str:
    need(rasa_server_url is not None, "a Rasa server (make rasa)")
    assert rasa_server_url is not None
    return rasa_server_url

"""The `supportbot` command as a subprocess, for the CLI tests: its command line, and fixtures for
the environment of a run (a SQLite file of its own, the model the test session trained, and
none of the caller's settings)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

# Variables of docs/reference.md section 2 (and the test suite's own) that must not leak into a run.
_OURS = ("DATABASE_URL", "SUPPORTBOT_", "NLU_", "RASA_", "SLACK_", "TELEGRAM_", "COLUMNS", "LINES")

CLI = [sys.executable, "-m", "bot.cli"]


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "var" / "supportbot.db"


@pytest.fixture
def environment(model_path: Path, db_file: Path) -> dict[str, str]:
    """The process environment of a run: ours replaced by a test database and model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
            "SUPPORTBOT_NLU_MODEL": str(model_path),
            "NLU_BACKEND": "embedded",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def stop(server: subprocess.Popen[bytes], log: IO[str]) -> tuple[int, str]:
    """Stop `serve` as a process manager does (SIGTERM, killed if it hangs); its exit code and log."""
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        code = server.wait()
    log.seek(0)
    output = log.read()
    log.close()
    return code, output

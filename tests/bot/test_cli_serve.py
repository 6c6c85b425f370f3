"""`supportbot serve` run as a user runs it: a subprocess answering health checks and the REST
channel until SIGTERM, polling a fake Telegram Bot API without ever logging the token, two
workers on PostgreSQL, and every log line one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.bot import cli_process
from tests.bot.cli_process import CLI
from tests.bot.telegram.fake_telegram import TOKEN as TELEGRAM_TOKEN
from tests.bot.telegram.fake_telegram import FakeBotApi, text_update
from tests.helpers import need

# Each run's database file and environment (fixtures; the model on disk is conftest.py's).
db_file = cli_process.db_file
environment = cli_process.environment


# -- serve ------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_checks_and_stops_cleanly(tmp_path: Path, environment: dict[str, str]) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    server = subprocess.Popen(
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health is not None, f"serve did not answer; exit {server.poll()}"
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        reply = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook",
            json={"sender": "cli", "message": "hi"},
            timeout=10,
        )
        assert reply.status_code == 200 and "Hello" in reply.json()[0]["text"]
    finally:
        code, output = cli_process.stop(server, log)
    # uvicorn shuts down gracefully, then re-raises the signal (exit by SIGTERM, as it should).
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


async def test_serve_talks_to_telegram_and_never_logs_the_token(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """`supportbot serve` with a token polls the Bot API, answers /start, and keeps the token secret."""
    async with FakeBotApi() as api:
        env = {**environment, "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_API_URL": api.url}
        log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
        server = await asyncio.create_subprocess_exec(
            *CLI, "serve", "--port", "0", env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            await api.wait_for("setMyCommands", timeout=90)
            api.push_update(text_update(4242, "/start"))
            await api.wait_for("sendMessage", timeout=20)
            assert "How can I help you today?" in api.last_message(4242)["text"]
        finally:
            server.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(server.wait(), 30) in (0, -signal.SIGTERM)
        log.seek(0)
        output = log.read()
    assert "telegram_started" in output
    assert TELEGRAM_TOKEN not in output and TELEGRAM_TOKEN.split(":")[1] not in output


@pytest.mark.postgres
def test_serve_with_two_workers_on_postgres(
    tmp_path: Path, environment: dict[str, str], pg_database: str | None
) -> None:
    need(pg_database is not None, "PostgreSQL at 127.0.0.1:5432")
    assert pg_database is not None
    port = _free_port()
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    env = {**environment, "DATABASE_URL": pg_database}
    server = subprocess.Popen(
        [*CLI, "serve", "--workers", "2", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 90
        answers = []
        while time.monotonic() < deadline and len(answers) < 4:
            try:
                reply = httpx.post(
                    f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                    json={"sender": f"worker-test-{len(answers)}", "message": "hi"},
                    timeout=10,
                )
                answers.append(reply.json()[0]["text"])
            except httpx.TransportError:
                time.sleep(0.3)
        assert len(answers) == 4 and all("Hello" in a for a in answers), answers
        # Whichever worker answers the scrape, it counts the messages of both.
        for _ in range(6):
            scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            counted = re.search(r'^supportbot_messages_total\{channel="webchat"\} (\S+)$', scrape, re.M)
            assert counted and float(counted.group(1)) == 4.0, scrape
    finally:
        _, output = cli_process.stop(server, log)
    # Each worker logs as configured (JSON lines, SUPPORTBOT_LOG_LEVEL), not with structlog's defaults.
    started = [json.loads(line) for line in output.splitlines() if '"supportbot_started"' in line]
    assert len(started) == 2 and {s["database"] for s in started} == {"postgresql"}, output
    # Without REDIS_URL the start says what several workers cannot share.
    assert any(
        json.loads(line).get("event") == "workers_without_redis"
        for line in output.splitlines()
        if '"workers_without_redis"' in line
    ), output
    assert "Traceback" not in output


def test_serve_writes_one_log_format_with_scheduler_runs_kept_quiet(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """uvicorn's and the libraries' records come out as the same JSON lines as the app's own, and
    APScheduler's two lines per job run stay out at INFO (the sweep runs every 0.2 s here)."""
    port = _free_port()
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    env = {**environment, "SUPPORTBOT_SWEEP_SECONDS": "0.2", "SUPPORTBOT_LOG_LEVEL": "INFO"}
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        answered = 0
        while time.monotonic() < deadline and answered < 3:
            try:
                reply = httpx.post(
                    f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                    json={"sender": f"log-test-{answered}", "message": "hi"},
                    timeout=10,
                )
                answered += reply.status_code == 200
            except httpx.TransportError:
                time.sleep(0.3)
        assert answered == 3
        # Long enough for several sweep runs (every 0.2 s) to have been logged, were they logged.
        runs_deadline = time.monotonic() + 2
        while time.monotonic() < runs_deadline:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        _, output = cli_process.stop(server, log)
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    loggers = {record.get("logger") for record in records}
    assert "uvicorn.error" in loggers, output
    assert any(record.get("event") == "supportbot_started" for record in records), output
    assert not any("Running job" in line or "executed successfully" in line for line in lines), output
    assert all("level" in record and "timestamp" in record for record in records), output

"""The `supportbot` command (docs/reference.md sections 1 and 2), run as a user runs it: a subprocess.

Each run gets its own SQLite file and the NLU model the test session trained (saved where
`SUPPORTBOT_NLU_MODEL` points, so nothing retrains). Errors must be one clear line on stderr,
exit status 2, and never a Python traceback.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from nlu.embedded import EmbeddedNlu
from tests.bot.telegram.fake_telegram import TOKEN as TELEGRAM_TOKEN
from tests.bot.telegram.fake_telegram import FakeBotApi, text_update
from tests.helpers import need

# Variables of docs/reference.md section 2 (and the test suite's own) that must not leak into a run.
_OURS = ("DATABASE_URL", "SUPPORTBOT_", "NLU_", "RASA_", "SLACK_", "TELEGRAM_", "COLUMNS", "LINES")

CLI = [sys.executable, "-m", "bot.cli"]
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def model_path(nlu: EmbeddedNlu, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's trained model on disk: `load_or_train` reuses it (same data, same code)."""
    path = tmp_path_factory.mktemp("model") / "nlu-model.joblib"
    nlu.save(path)
    return path


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


@pytest.fixture
def run(tmp_path: Path, environment: dict[str, str]) -> Run:
    """`supportbot ARGS...` to its end; `env` overrides single variables."""

    def run(*args: str, env: dict[str, str] | None = None, stdin: str = "", timeout: float = 180):
        return subprocess.run(
            [*CLI, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**environment, **(env or {})},
            cwd=tmp_path,  # no `.env` of the checkout, and relative paths stay in the test's folder
            timeout=timeout,
            check=False,
        )

    return run


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 2, no traceback, exactly one non-empty line on stderr; that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{result.stderr}"
    return lines[0]


# -- sla deadline -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "created", "due"),
    [
        # Friday 16:30: 1.5 h left on Friday, 2.5 h on Monday (the contract's example).
        ("high", "2026-11-27T16:30:00+07:00", "2026-11-30T10:30:00+07:00"),
        # The same moment given in UTC: the answer is in the policy's timezone.
        ("high", "2026-11-27T09:30:00+00:00", "2026-11-30T10:30:00+07:00"),
        # Critical runs 24x7: one hour later, on a Sunday too.
        ("critical", "2026-11-29T10:00:00+07:00", "2026-11-29T11:00:00+07:00"),
        ("critical", "2026-11-28T23:30:00+07:00", "2026-11-29T00:30:00+07:00"),
        # High on a Sunday starts at Monday's opening.
        ("high", "2026-11-29T10:00:00+07:00", "2026-11-30T12:00:00+07:00"),
    ],
)
def test_sla_deadline(run: Run, priority: str, created: str, due: str) -> None:
    result = run("sla", "deadline", "--priority", priority, "--created", created)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == due


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--priority", "urgent", "--created", "2026-11-27T16:30:00+07:00"], "--priority"),
        (["--priority", "High", "--created", "2026-11-27T16:30:00+07:00"], "--priority"),
        (["--priority", "high", "--created", "2026-11-27T16:30:00"], "offset"),
        (["--priority", "high", "--created", "yesterday"], "--created"),
        (["--priority", "high", "--created", "2026-13-45T99:00:00+07:00"], "--created"),
    ],
    ids=["unknown-priority", "capitalised-priority", "naive-time", "not-a-time", "impossible-date"],
)
def test_sla_deadline_refuses_bad_input_in_one_line(run: Run, args: list[str], mentions: str) -> None:
    line = one_error_line(run("sla", "deadline", *args))
    assert mentions in line


# -- db upgrade -------------------------------------------------------------------------------------------


def test_db_upgrade_creates_a_fresh_database_and_is_idempotent(run: Run, db_file: Path) -> None:
    assert not db_file.exists()
    first = run("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert db_file.exists()
    with sqlite3.connect(db_file) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        [(version,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert {"tickets", "ticket_events", "customers", "conversations"} <= tables
    assert version

    again = run("db", "upgrade")
    assert again.returncode == 0, again.stderr


# -- nlu --------------------------------------------------------------------------------------------------


def test_nlu_parse_prints_rasas_parse_json(run: Run) -> None:
    result = run("nlu", "parse", "my invoice is wrong")
    assert result.returncode == 0, result.stderr
    parse = json.loads(result.stdout)
    assert parse["text"] == "my invoice is wrong"
    assert parse["intent"]["name"] == "report_billing_issue"
    assert 0 < parse["intent"]["confidence"] <= 1
    assert isinstance(parse["entities"], list)
    assert parse["intent_ranking"][0]["name"] == "report_billing_issue"


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["text", "intent"])
        writer.writerows(rows)
    return path


TRAIN_ROWS = [
    *[
        (t, "greet")
        for t in (
            "hi",
            "hello",
            "good morning",
            "hey there",
            "hello team",
            "hi, anyone here?",
            "good afternoon",
        )
    ],
    *[
        (t, "goodbye")
        for t in ("bye", "goodbye", "see you later", "have a nice day, bye", "talk to you later", "cya")
    ],
    *[
        (t, "report_billing_issue")
        for t in (
            "my invoice is wrong",
            "I was charged twice",
            "the bill amount is incorrect",
            "refund my payment please",
            "wrong amount on the invoice",
            "my card was charged two times",
            "billing error on my account",
        )
    ],
    *[
        (t, "report_technical_issue")
        for t in (
            "the app crashes",
            "software error when I log in",
            "the program freezes",
            "I get an error message on start",
            "the system is very slow",
            "cannot open the application",
            "the ERP does not start",
        )
    ],
    *[
        (t, "working_hours")
        for t in (
            "what are your opening hours",
            "when are you open",
            "are you open on saturday",
            "what time do you close",
            "office hours please",
            "when does support work",
        )
    ],
]
TEST_ROWS = [
    ("hello there", "greet"),
    ("bye bye", "goodbye"),
    ("the invoice total is wrong", "report_billing_issue"),
    ("the application crashed again", "report_technical_issue"),
    ("when do you open", "working_hours"),
    ("good morning team", "greet"),
]
OOS_ROWS = [("what is the capital of peru", "oos"), ("recommend me a pizza recipe", "oos")]


@pytest.mark.parametrize("with_oos", [True, False], ids=["with-oos", "without-oos"])
def test_nlu_benchmark_prints_the_metrics(run: Run, tmp_path: Path, with_oos: bool) -> None:
    train = _write_csv(tmp_path / "train.csv", TRAIN_ROWS)
    test = _write_csv(tmp_path / "test.csv", TEST_ROWS + (OOS_ROWS if with_oos else []))
    result = run("nlu", "benchmark", "--train", str(train), "--test", str(test))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    keys = {"accuracy", "macro_f1", "oos_recall", "train_seconds", "parse_ms_p50", "parse_ms_p99"}
    assert keys <= set(report)
    assert 0 <= report["accuracy"] <= 1 and 0 <= report["macro_f1"] <= 1
    assert report["train_seconds"] >= 0
    assert 0 <= report["parse_ms_p50"] <= report["parse_ms_p99"]
    if with_oos:
        assert 0 <= report["oos_recall"] <= 1
    else:
        assert report["oos_recall"] is None


@pytest.mark.parametrize(
    "content",
    ["utterance,label\nhi,greet\n", "text,intent\n", "\xff\xfe\x00binary"],
    ids=["wrong-columns", "no-rows", "not-text"],
)
def test_nlu_benchmark_refuses_a_bad_csv_in_one_line(run: Run, tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="latin-1")
    test = _write_csv(tmp_path / "test.csv", TEST_ROWS)
    line = one_error_line(run("nlu", "benchmark", "--train", str(bad), "--test", str(test)))
    assert "bad.csv" in line


# -- settings ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "sqlite:///plain-driver.db"),
        ("SUPPORTBOT_SWEEP_SECONDS", "abc"),
        ("SUPPORTBOT_SWEEP_SECONDS", "0"),
        ("SUPPORTBOT_POLICY", "/missing.yml"),
        ("SUPPORTBOT_API_TOKEN", "changeme"),
        ("NLU_BACKEND", "spacy"),
        ("SUPPORTBOT_NLU_EMBEDDINGS", "maybe"),
        ("SUPPORTBOT_OUTBOX_HORIZON", "soon"),
        ("SUPPORTBOT_OUTBOX_LEASE", "0"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "0"],
        ["sla", "deadline", "--priority", "high", "--created", "2026-11-27T16:30:00+07:00"],
    ],
    ids=["serve", "sla-deadline"],
)
def test_a_malformed_setting_stops_with_one_line_naming_it(
    run: Run, variable: str, value: str, command: list[str]
) -> None:
    result = run(*command, env={variable: value}, timeout=60)
    line = one_error_line(result)
    assert variable in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": "abc"}, "TELEGRAM_WEBHOOK_URL"),
        (
            {"TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_URL": "https://x.example/telegram/webhook"},
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            {
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": "http://x.example/tg",
                "TELEGRAM_WEBHOOK_SECRET": "abc",
            },
            "TELEGRAM_WEBHOOK_URL",
        ),
        (
            {
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": "https://x.example/tg",
                "TELEGRAM_WEBHOOK_SECRET": "a b!",
            },
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        ({"TELEGRAM_MODE": "push"}, "TELEGRAM_MODE"),
    ],
    ids=["no-url", "no-secret", "plain-http", "bad-secret", "unknown-mode"],
)
def test_telegram_settings_are_checked_at_start(run: Run, env: dict[str, str], named: str) -> None:
    result = run("serve", "--port", "0", env={"TELEGRAM_BOT_TOKEN": "123456789:AAtest", **env}, timeout=60)
    assert named in one_error_line(result)


def test_several_workers_cannot_all_poll_telegram(run: Run) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123456789:AAtest", "DATABASE_URL": "postgresql+asyncpg://x@127.0.0.1/x"}
    result = run("serve", "--workers", "2", "--port", "0", env=env, timeout=60)
    assert "TELEGRAM_MODE=webhook" in one_error_line(result)


def test_a_policy_file_with_a_mistake_names_the_file_and_the_key(run: Run, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("timezone: Mars/Olympus\nworking_hours: nope\n", encoding="utf-8")
    result = run(
        "sla",
        "deadline",
        "--priority",
        "high",
        "--created",
        "2026-11-27T16:30:00+07:00",
        env={"SUPPORTBOT_POLICY": str(policy)},
    )
    line = one_error_line(result)
    assert str(policy) in line or "SUPPORTBOT_POLICY" in line
    assert "timezone" in line


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
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
        log.seek(0)
        output = log.read()
        log.close()
    # uvicorn shuts down gracefully, then re-raises the signal (exit by SIGTERM, as it should).
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


# -- chat -------------------------------------------------------------------------------------------------


def test_chat_greets_and_presses_buttons_by_number(run: Run) -> None:
    result = run("chat", "--sender", "cli-tester", stdin="hi\n1\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "Hello" in out and "How can I help you today?" in out.replace("\n", " ").replace("  ", " ")
    assert "[1] Report a problem" in out
    # "1" pressed the first button: the intake asks for the kind of problem.
    assert "Which kind of problem is it?" in out


def test_chat_is_a_new_customer_each_run_unless_told_who(run: Run, db_file: Path) -> None:
    for args in ((), (), ("--as", "cli-sokha"), ("--as", "cli-sokha")):
        result = run("chat", *args, stdin="hi\n")
        assert result.returncode == 0, result.stderr
    with sqlite3.connect(db_file) as db:
        senders = [row[0] for row in db.execute("SELECT sender FROM conversations WHERE channel = 'cli'")]
    assert len(senders) == 3 and senders.count("cli-sokha") == 1
    assert len(set(senders)) == 3  # the two runs without --as were two customers


def test_chat_ends_quietly_on_immediate_eof(run: Run) -> None:
    result = run("chat", stdin="")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_several_workers_need_postgres(run: Run) -> None:
    result = run("serve", "--workers", "2")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --workers above 1 needs PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)"
    ]


def test_an_unknown_log_level_is_refused_in_one_line(run: Run) -> None:
    result = run("serve", env={"SUPPORTBOT_LOG_LEVEL": "chatty"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: SUPPORTBOT_LOG_LEVEL: use DEBUG, INFO, WARNING, ERROR or CRITICAL"
    ]


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
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.seek(0)
        output = log.read()
        log.close()
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
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.seek(0)
        output = log.read()
        log.close()
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    loggers = {record.get("logger") for record in records}
    assert "uvicorn.error" in loggers, output
    assert any(record.get("event") == "supportbot_started" for record in records), output
    assert not any("Running job" in line or "executed successfully" in line for line in lines), output
    assert all("level" in record and "timestamp" in record for record in records), output

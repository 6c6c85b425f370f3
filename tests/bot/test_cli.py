"""The `supportbot` command (docs/reference.md sections 1 and 2), run as a user runs it: a subprocess.

Each run gets its own SQLite file and the NLU model the test session trained (saved where
`SUPPORTBOT_NLU_MODEL` points, so nothing retrains). Errors must be one clear line on stderr,
exit status 2, and never a Python traceback.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bot import cli_process
from tests.bot.cli_process import CLI

Run = Callable[..., subprocess.CompletedProcess[str]]

# Each run's database file and environment (fixtures; the model on disk is conftest.py's).
db_file = cli_process.db_file
environment = cli_process.environment


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

"""`supportbot nlu benchmark --engine rasa`: the same CSV files, a Rasa model with the shipped config."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from nlu.rasa_server import RasaServer
from tests.helpers import need
from tests.nlu.rasa.conftest import LOGS, RASA_BIN, rasa_installed

CLI = [sys.executable, "-m", "bot.cli", "nlu", "benchmark"]
INTENTS = {
    "greet": ["hello", "hi there", "good morning", "hey", "hello team", "hi, anyone there?"],
    "goodbye": ["bye", "see you later", "goodbye", "bye bye", "talk to you later", "have a nice day, bye"],
    "report_billing_issue": [
        "my invoice is wrong",
        "I was charged twice",
        "the bill amount is too high",
        "refund my payment",
        "wrong amount on the invoice",
        "billing error on my account",
    ],
    "working_hours": [
        "when are you open",
        "what are your opening hours",
        "are you open on saturday",
        "office hours?",
        "what time do you close",
        "until when can I call you",
    ],
}
TEST = [
    ("hello there", "greet"),
    ("bye for now", "goodbye"),
    ("I was billed twice this month", "report_billing_issue"),
    ("what are your hours on monday", "working_hours"),
    ("what is the capital of peru", "oos"),
]


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["text", "intent"])
        writer.writerows(rows)
    return path


def _files(tmp_path: Path) -> tuple[Path, Path]:
    train = _csv(tmp_path / "train.csv", [(t, i) for i, texts in INTENTS.items() for t in texts])
    return train, _csv(tmp_path / "test.csv", TEST)


def _run(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NLU_", "RASA_URL"))}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=timeout, check=False
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unknown_engine_is_one_error_line(tmp_path: Path) -> None:
    train, test = _files(tmp_path)
    line = _one_error_line(_run(tmp_path, "--train", str(train), "--test", str(test), "--engine", "spacy"))
    assert "--engine" in line


def test_without_rasa_the_rasa_engine_says_how_to_get_it(tmp_path: Path) -> None:
    train, test = _files(tmp_path)
    result = _run(
        tmp_path,
        "--train",
        str(train),
        "--test",
        str(test),
        "--engine",
        "rasa",
        "--rasa-bin",
        "/nonexistent/rasa",
    )
    assert "make rasa-venv" in _one_error_line(result)


def _check_report(report: dict[str, object]) -> None:
    keys = {"accuracy", "macro_f1", "oos_recall", "train_seconds", "parse_ms_p50", "parse_ms_p99"}
    assert keys <= set(report) and report["engine"] == "rasa"
    assert report["n_train"] == 24 and report["n_test"] == 5 and report["n_test_oos"] == 1
    for key in ("accuracy", "macro_f1", "oos_recall"):
        assert 0 <= float(report[key]) <= 1  # type: ignore[arg-type]
    assert 0 < float(report["parse_ms_p50"]) <= float(report["parse_ms_p99"])  # type: ignore[arg-type]
    assert float(report["accuracy"]) >= 0.75, report  # type: ignore[arg-type]
    assert 0 <= float(report["fallback_share"]) <= 1  # type: ignore[arg-type]


def test_the_rasa_engine_trains_serves_and_measures(tmp_path: Path) -> None:
    need(rasa_installed(), "Rasa 3.6 in .venv-rasa (make rasa-venv)")
    train, test = _files(tmp_path)
    result = _run(tmp_path, "--train", str(train), "--test", str(test), "--engine", "rasa", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    _check_report(report)
    assert report["rasa_url"] is None and float(report["rasa_rss_mb"]) > 100
    assert not list(tmp_path.glob("models")) and not list(tmp_path.glob(".rasa")), "nothing left in the cwd"


def test_the_rasa_engine_can_use_a_running_server(tmp_path: Path, rasa_model: Path | None) -> None:
    need(rasa_installed() and rasa_model is not None, "Rasa 3.6 in .venv-rasa (make rasa-venv)")
    assert rasa_model is not None
    train, test = _files(tmp_path)
    LOGS.mkdir(parents=True, exist_ok=True)
    with RasaServer(RASA_BIN, rasa_model, log=LOGS / "bench-server.log", workdir=tmp_path) as server:
        result = _run(
            tmp_path,
            "--train",
            str(train),
            "--test",
            str(test),
            "--engine",
            "rasa",
            "--rasa-url",
            server.url,
            timeout=900,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    _check_report(report)
    assert report["rasa_url"] == server.url

"""run_benchmark on small generated CSV files: the JSON keys the CLI prints and their meaning."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from nlu import sentence_embeddings
from nlu.benchmark import IN_SCOPE_BUDGET, TRADE_OFF_BUDGETS, read_csv, run_benchmark
from tests.helpers import need

TOPICS = {
    "card_lost": ["lost", "card", "missing", "stolen", "wallet"],
    "balance": ["balance", "money", "account", "how", "much"],
    "transfer": ["send", "transfer", "wire", "friend", "payment"],
}
OOS_WORDS = ["weather", "pizza", "football", "poem", "guitar", "sunset"]


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    """A `text,intent` CSV file."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["text", "intent"])
        writer.writerows(rows)
    return path


def _rows(rng: random.Random, per_intent: int, oos: int) -> list[tuple[str, str]]:
    """Utterances of three easy intents plus some out-of-scope ones."""
    rows = [
        (" ".join(rng.choices(words, k=4)), intent)
        for intent, words in TOPICS.items()
        for _ in range(per_intent)
    ]
    rows += [(" ".join(rng.choices(OOS_WORDS, k=3)), "oos") for _ in range(oos)]
    rng.shuffle(rows)
    return rows


def test_benchmark_reports_the_contract_keys(tmp_path: Path) -> None:
    rng = random.Random(7)
    train = _write(tmp_path / "train.csv", _rows(rng, 30, 10))
    val = _write(tmp_path / "val.csv", _rows(rng, 10, 10))
    test = _write(tmp_path / "test.csv", _rows(rng, 10, 10))
    result = run_benchmark(train, test, val)
    assert {"accuracy", "macro_f1", "oos_recall", "train_seconds", "parse_ms_p50", "parse_ms_p99"} <= set(
        result
    )
    assert result["accuracy"] >= 0.9
    assert result["oos_recall"] is not None and result["oos_recall"] >= 0.9
    assert 0 <= result["macro_f1"] <= 1
    assert result["n_train"] == 100 and result["n_test"] == 40 and result["n_test_oos"] == 10
    assert 0 <= result["parse_ms_p50"] <= result["parse_ms_p99"] < 100
    assert result["train_seconds"] >= 0
    assert 0 <= result["threshold"] < 1


def test_without_oos_rows_recall_is_none(tmp_path: Path) -> None:
    rng = random.Random(3)
    train = _write(tmp_path / "train.csv", _rows(rng, 20, 0))
    test = _write(tmp_path / "test.csv", _rows(rng, 5, 0))
    result = run_benchmark(train, test)
    assert result["oos_recall"] is None
    assert result["threshold"] == 0.0
    assert result["accuracy"] >= 0.9


@pytest.mark.parametrize(
    "content",
    [b"utterance,label\nhi,greet\n", b"text,intent\n", b"\xff\xfe\x00binary"],
    ids=["wrong-columns", "no-rows", "not-utf8"],
)
def test_a_bad_csv_is_refused_naming_the_file(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.csv"):
        read_csv(bad)


@pytest.mark.parametrize("embeddings", [False, True], ids=["tfidf", "embeddings"])
def test_benchmark_names_the_engine_and_the_oos_trade_off(tmp_path: Path, embeddings: bool) -> None:
    if embeddings:
        need(sentence_embeddings.available(), "the embeddings extra (pip install -e '.[embeddings]')")
    rng = random.Random(11)
    train = _write(tmp_path / "train.csv", _rows(rng, 30, 10))
    val = _write(tmp_path / "val.csv", _rows(rng, 10, 10))
    test = _write(tmp_path / "test.csv", _rows(rng, 10, 10))
    result = run_benchmark(train, test, val, embeddings=embeddings)
    assert result["engine"].startswith("tfidf+use-") if embeddings else result["engine"] == "tfidf"
    trade_off = result["oos_trade_off"]
    assert [point["budget"] for point in trade_off] == list(TRADE_OFF_BUDGETS)
    thresholds = [point["threshold"] for point in trade_off]
    assert thresholds == sorted(thresholds)  # a bigger budget never lowers the threshold
    assert result["threshold"] == next(p["threshold"] for p in trade_off if p["budget"] == IN_SCOPE_BUDGET)
    assert all(0 <= point["accuracy"] <= 1 and 0 <= point["oos_recall"] <= 1 for point in trade_off)

"""The embedded engine: Rasa's parse format, robustness on odd input, persistence and staleness."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlu import embedded
from nlu.embedded import EmbeddedNlu, load_or_train
from nlu.intents import OUT_OF_SCOPE
from nlu.normalize import normalize
from nlu.training_data import TrainingData


def _assert_rasa_format(result: dict[str, Any], text: str) -> None:
    """The keys and types Rasa's /model/parse answers with."""
    assert set(result) == {"text", "intent", "entities", "intent_ranking"}
    assert result["text"] == text
    assert isinstance(result["intent"]["name"], str)
    assert isinstance(result["intent"]["confidence"], float)
    assert 0.0 <= result["intent"]["confidence"] <= 1.0
    assert isinstance(result["entities"], list)
    ranking = result["intent_ranking"]
    assert 1 <= len(ranking) <= 10
    confidences = [item["confidence"] for item in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert all(isinstance(item["name"], str) and isinstance(item["confidence"], float) for item in ranking)


def test_parse_format(model: EmbeddedNlu) -> None:
    result = model.parse_sync("our ERP is down since 8am, call me on 012 345 678")
    _assert_rasa_format(result, "our ERP is down since 8am, call me on 012 345 678")
    assert result["intent"]["name"] == "report_technical_issue"
    assert result["intent_ranking"][0]["name"] == result["intent"]["name"]
    assert len(result["intent_ranking"]) == 10


async def test_async_parse_matches_sync(model: EmbeddedNlu) -> None:
    assert await model.parse("invoice wrong") == model.parse_sync("invoice wrong")


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x01"])
def test_empty_text_is_out_of_scope(model: EmbeddedNlu, text: str) -> None:
    result = model.parse_sync(text)
    _assert_rasa_format(result, text)
    assert result["intent"] == {"name": OUT_OF_SCOPE, "confidence": 1.0}
    assert result["entities"] == []


def test_huge_message_is_capped_and_fast(model: EmbeddedNlu) -> None:
    text = "my erp is broken and nothing works " * 300 + "call me on 012 345 678"
    assert len(text) > 10_000
    model.parse_sync(text)
    start = time.perf_counter()
    result = model.parse_sync(text)
    assert time.perf_counter() - start < 0.5
    _assert_rasa_format(result, text)
    assert result["intent"]["name"] == "report_technical_issue"
    assert all(entity["end"] <= 2000 for entity in result["entities"])


@pytest.mark.parametrize(
    "text", ["\x00\xff garbage", "\ufffd\ufffd\ufffd", "😡😡😡 ERP!!!", "ខ្ញុំមានបញ្ហា", "[]{}()<>"]
)
def test_odd_text_never_raises(model: EmbeddedNlu, text: str) -> None:
    _assert_rasa_format(model.parse_sync(text), text)


def test_not_a_string_is_treated_as_empty(model: EmbeddedNlu) -> None:
    result = model.parse_sync(None)  # type: ignore[arg-type]
    assert result["intent"]["name"] == OUT_OF_SCOPE


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_parses_into_the_rasa_format(model: EmbeddedNlu, text: str) -> None:
    result = model.parse_sync(text)
    _assert_rasa_format(result, text)
    for entity in result["entities"]:
        assert 0 <= entity["start"] < entity["end"] <= len(text)


def test_single_parse_takes_milliseconds(model: EmbeddedNlu) -> None:
    texts = ["erp down", "hello", "what are your working hours?", "my name is Dara Sok", "got hacked"] * 40
    start = time.perf_counter()
    for text in texts:
        model.parse_sync(text)
    assert (time.perf_counter() - start) / len(texts) < 0.02


def test_low_confidence_falls_back_to_out_of_scope(training_data: TrainingData) -> None:
    strict = EmbeddedNlu.train(training_data, oos_threshold=0.999)
    result = strict.parse_sync("maybe something about the thing")
    assert result["intent"]["name"] == OUT_OF_SCOPE
    assert (
        result["intent_ranking"][0]["name"] != OUT_OF_SCOPE
        or result["intent_ranking"][0]["confidence"] < 0.999
    )
    assert strict.fingerprint != EmbeddedNlu.train(training_data).fingerprint


def test_training_is_fast(training_data: TrainingData) -> None:
    start = time.perf_counter()
    EmbeddedNlu.train(training_data)
    assert time.perf_counter() - start < 10


def test_save_and_load_round_trip(model: EmbeddedNlu, tmp_path: Path) -> None:
    path = tmp_path / "models" / "nlu.pkl"
    model.save(path)
    loaded = EmbeddedNlu.load(path)
    assert loaded.fingerprint == model.fingerprint
    for text in ["erp down", "my name is Dara Sok, dara@example.com", "tell me a joke"]:
        assert loaded.parse_sync(text) == model.parse_sync(text)
    assert [p.name for p in path.parent.iterdir()] == ["nlu.pkl"]


def test_load_rejects_files_that_are_not_models(tmp_path: Path) -> None:
    path = tmp_path / "nlu.pkl"
    path.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=r"nlu\.pkl"):
        EmbeddedNlu.load(path)


def test_fingerprint_follows_the_data(training_data: TrainingData) -> None:
    changed = TrainingData([*training_data.examples, ("printer jammed again", "report_technical_issue")])
    assert (
        training_data.fingerprint()
        == TrainingData(
            list(training_data.examples),
            training_data.entity_examples,
            training_data.regexes,
            training_data.lookups,
            training_data.synonyms,
        ).fingerprint()
    )
    assert changed.fingerprint() != training_data.fingerprint()


def _copy_project(nlu_dir: Path, target: Path) -> Path:
    """A private copy of nlu/data that a test may edit."""
    data = target / "data"
    data.mkdir(parents=True)
    for path in (nlu_dir / "data").glob("*.yml"):
        (data / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return data


def test_load_or_train_reuses_a_fresh_model_and_retrains_a_stale_one(
    nlu_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = _copy_project(nlu_dir, tmp_path)
    model_path = tmp_path / "var" / "nlu.pkl"
    trainings: list[int] = []
    original = EmbeddedNlu.train.__func__  # type: ignore[attr-defined]

    def counting_train(cls: type[EmbeddedNlu], data: TrainingData, **kwargs: Any) -> EmbeddedNlu:
        trainings.append(len(data.examples))
        return original(cls, data, **kwargs)

    monkeypatch.setattr(EmbeddedNlu, "train", classmethod(counting_train))
    first = load_or_train(data_dir, model_path)
    assert model_path.exists() and len(trainings) == 1
    second = load_or_train(data_dir, model_path)
    assert len(trainings) == 1 and second.fingerprint == first.fingerprint

    extra = 'version: "3.1"\nnlu:\n- intent: report_technical_issue\n  examples: |\n    - the kiosk printer jammed\n'
    (data_dir / "extra.yml").write_text(extra, encoding="utf-8")
    third = load_or_train(data_dir, model_path)
    assert len(trainings) == 2 and third.fingerprint != first.fingerprint
    assert EmbeddedNlu.load(model_path).fingerprint == third.fingerprint


def test_load_or_train_recovers_from_a_corrupt_model(nlu_dir: Path, tmp_path: Path) -> None:
    data_dir = _copy_project(nlu_dir, tmp_path)
    model_path = tmp_path / "nlu.pkl"
    model_path.write_bytes(b"\x80\x04garbage")
    model = load_or_train(data_dir, model_path)
    assert model.parse_sync("erp down")["intent"]["name"] == "report_technical_issue"
    assert EmbeddedNlu.load(model_path).fingerprint == model.fingerprint


def test_code_changes_make_models_stale(training_data: TrainingData, monkeypatch: pytest.MonkeyPatch) -> None:
    before = embedded.expected_fingerprint(training_data)
    monkeypatch.setattr(embedded, "_code_version", lambda: "another engine")
    assert embedded.expected_fingerprint(training_data) != before


def test_from_texts_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        EmbeddedNlu.from_texts(["a", "b"], ["x"])
    with pytest.raises(ValueError):
        EmbeddedNlu.from_texts(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError):
        EmbeddedNlu.train(TrainingData([]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=80), min_size=1, max_size=4))
def test_fast_tfidf_equals_scikit_learn(model: EmbeddedNlu, texts: list[str]) -> None:
    normalized = [*(normalize(text) for text in texts), "erp down", "ប្រព័ន្ធ ERP ខូច", "zzqx"]
    for _, vectorizer in model.features.transformer_list:
        fast = embedded._tfidf(vectorizer, normalized)
        assert fast.shape == (len(normalized), len(vectorizer.vocabulary_))
        assert abs(fast - vectorizer.transform(normalized)).max() < 1e-12

